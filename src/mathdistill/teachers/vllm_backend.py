"""Teacher on vLLM's offline engine (optional install: `pip install mathdistill[vllm]`).

    from mathdistill.teachers.vllm_backend import VLLMTeacher
    t = VLLMTeacher("meta-llama/Meta-Llama-3-70B-Instruct", tensor_parallel_size=4,
                    temperature=0.7, mode="chat")
    rationales = t.generate(problems, "pot", n=4)

Config keys (besides those of backend.CompletionBackend): tensor_parallel_size,
gpu_memory_utilization, max_model_len, dtype, chunk_size (requests per engine call; each
chunk is cached as soon as it finishes, so a killed run loses at most one chunk),
engine_kwargs (any other `vllm.LLM` argument). mode "chat" uses `LLM.chat` (the model's
chat template), "completions" `LLM.generate` on the few-shot text. Every request carries
its own `SamplingParams(seed=...)`, so samples do not depend on batching.

For a vLLM *server*, use the `openai` backend with its base_url instead.
"""

from __future__ import annotations

import logging

from mathdistill.teachers.backend import CompletionBackend, Request, TeacherError

logger = logging.getLogger(__name__)


class VLLMTeacher(CompletionBackend):
    name = "vllm"
    supports_seed = True
    local_weights = True  # cache keys hold a fingerprint of a local model dir

    def __init__(self, model: str, *, tensor_parallel_size: int = 1,
                 gpu_memory_utilization: float = 0.9, max_model_len: int | None = None,
                 dtype: str = "auto", chunk_size: int = 512, engine_kwargs: dict | None = None,
                 **common):
        super().__init__(model, **common)
        self.engine_kwargs = {"tensor_parallel_size": tensor_parallel_size,
                              "gpu_memory_utilization": gpu_memory_utilization, "dtype": dtype,
                              **({"max_model_len": max_model_len} if max_model_len else {}),
                              **(engine_kwargs or {})}
        self.chunk_size = int(chunk_size)
        self._llm = None

    def _engine(self):
        if self._llm is None:
            try:
                import vllm
            except ImportError as e:
                raise TeacherError("vllm teacher: vllm is not installed "
                                   "(pip install 'mathdistill[vllm]', needs a GPU)") from e
            self._vllm = vllm
            self._llm = vllm.LLM(model=self.model, seed=int(self.seed or 0), **self.engine_kwargs)
            logger.info("vllm teacher: engine ready for %s", self.model)
        return self._llm

    def _sampling(self, req: Request):
        p = req.params
        return self._vllm.SamplingParams(
            n=len(req.samples), temperature=p["temperature"], top_p=p["top_p"],
            max_tokens=p["max_tokens"], stop=list(p.get("stop") or []) or None, seed=p.get("seed"))

    def _execute(self, requests: list[Request], deliver) -> None:
        llm = self._engine()
        for i in range(0, len(requests), self.chunk_size):
            chunk = requests[i: i + self.chunk_size]
            params = [self._sampling(r) for r in chunk]
            if self.mode == "chat":
                outs = llm.chat([list(r.payload["messages"]) for r in chunk], params, use_tqdm=False)
            else:
                outs = llm.generate([r.payload["prompt"] for r in chunk], params, use_tqdm=False)
            if len(outs) != len(chunk):
                raise TeacherError(f"vllm returned {len(outs)} outputs for {len(chunk)} requests")
            for req, out in zip(chunk, outs):
                choices = [{"text": c.text, "finish_reason": c.finish_reason} for c in out.outputs]
                usage = {"prompt_tokens": len(out.prompt_token_ids or ()),
                         "completion_tokens": sum(len(c.token_ids) for c in out.outputs)}
                deliver(req, result={"choices": choices, "usage": usage, "model": self.model_id})
