"""Teacher on a local Hugging Face model (transformers `generate`), for small local teachers.

    from mathdistill.teachers.hf_backend import HFTeacher
    t = HFTeacher("/models/Qwen2.5-1.5B-Instruct", batch_size=8, temperature=0.7)
    rationales = t.generate(problems, "cot", n=4)

Config keys (besides those of backend.CompletionBackend): device ("cuda", "cpu"; default:
cuda when available), dtype ("auto", "bfloat16", "float32", ...), batch_size (prompts per
generate call), trust_remote_code. mode "auto" (default) uses the tokenizer's chat template
when it has one, else the plain few-shot text.

The model is loaded on the first request that is not cached, so a finished stage reruns
without loading weights. The cache key holds a fingerprint of a local model directory
(file names, sizes and the first MiB of each file), so retrained weights are not served
stale completions. Sampling is seeded per batch (from the batch's request keys):
reproducible for the same batches; greedy decoding is reproducible regardless.
"""

from __future__ import annotations

import hashlib
import logging

from mathdistill.teachers.backend import CompletionBackend, Request, TeacherError

logger = logging.getLogger(__name__)


class HFTeacher(CompletionBackend):
    name = "hf"
    supports_seed = True
    local_weights = True  # cache keys hold a fingerprint of a local model dir

    def __init__(self, model: str, *, device: str | None = None, dtype: str = "auto",
                 batch_size: int = 8, trust_remote_code: bool = False, mode: str = "auto",
                 **common):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        if mode == "auto":
            mode = "chat" if getattr(self.tokenizer, "chat_template", None) else "completions"
        super().__init__(model, mode=mode, **common)
        self.device, self.dtype, self.batch_size = device, dtype, int(batch_size)
        self.trust_remote_code = trust_remote_code
        self._model = None

    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

            cfg = AutoConfig.from_pretrained(self.model, trust_remote_code=self.trust_remote_code)
            cls = AutoModelForSeq2SeqLM if cfg.is_encoder_decoder else AutoModelForCausalLM
            self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            dtype = self.dtype if self.dtype == "auto" else getattr(torch, self.dtype)
            self._model = cls.from_pretrained(self.model, dtype=dtype,
                                              trust_remote_code=self.trust_remote_code)
            self._model.to(self.device).eval()
            self._seq2seq = bool(cfg.is_encoder_decoder)
            tok = self.tokenizer
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token or tok.unk_token
            tok.padding_side = "right" if self._seq2seq else "left"
            logger.info("hf teacher: loaded %s on %s", self.model, self.device)
        return self._model

    def _text(self, req: Request) -> str:
        if self.mode == "chat":
            return self.tokenizer.apply_chat_template(list(req.payload["messages"]), tokenize=False,
                                                      add_generation_prompt=True)
        return req.payload["prompt"]

    def _execute(self, requests: list[Request], deliver) -> None:
        model = self._load()
        order = sorted(requests, key=lambda r: len(self._text(r)))  # less padding
        for i in range(0, len(order), self.batch_size):
            batch = order[i: i + self.batch_size]
            try:
                results = self._generate(model, batch)
            except Exception as e:  # noqa: BLE001 - e.g. out of memory: retry one by one
                if len(batch) == 1:
                    deliver(batch[0], error=f"{type(e).__name__}: {e}")
                    continue
                logger.warning("hf teacher: batch of %d failed (%s); retrying one by one",
                               len(batch), e)
                for req in batch:
                    try:
                        deliver(req, result=self._generate(model, [req])[0])
                    except Exception as e1:  # noqa: BLE001
                        deliver(req, error=f"{type(e1).__name__}: {e1}")
                continue
            for req, result in zip(batch, results):
                deliver(req, result=result)

    def _generate(self, model, batch: list[Request]) -> list[dict]:
        import torch

        k = len(batch[0].samples)
        if any(len(r.samples) != k for r in batch):
            raise TeacherError("hf teacher: a batch mixes sample counts")
        p = batch[0].params
        tok = self.tokenizer
        # a chat template already holds BOS etc.; plain text gets the tokenizer's specials
        enc = tok([self._text(r) for r in batch], return_tensors="pt", padding=True,
                  add_special_tokens=self.mode != "chat").to(self.device)
        seed = int(hashlib.sha256("".join(r.key for r in batch).encode()).hexdigest()[:8], 16)
        torch.manual_seed(seed)
        sample = p["temperature"] > 0
        gen = {"max_new_tokens": p["max_tokens"], "do_sample": sample, "num_return_sequences": k,
               "pad_token_id": tok.pad_token_id}
        if sample:
            gen.update(temperature=p["temperature"], top_p=p["top_p"])
        if p.get("stop"):
            gen.update(stop_strings=list(p["stop"]), tokenizer=tok)
        with torch.no_grad():
            out = model.generate(**enc, **gen)
        new = out if self._seq2seq else out[:, enc["input_ids"].shape[1]:]
        results = []
        for j, req in enumerate(batch):
            choices, n_out = [], 0
            for s in range(k):
                ids = new[j * k + s]
                ids = ids[ids != tok.pad_token_id] if tok.pad_token_id is not None else ids
                n_out += int(ids.numel())
                ended = tok.eos_token_id is not None and bool((ids == tok.eos_token_id).any())
                full = int(ids.numel()) >= p["max_tokens"]
                choices.append({"text": tok.decode(ids, skip_special_tokens=True),
                                "finish_reason": "length" if full and not ended else "stop"})
            results.append({"choices": choices, "model": self.model_id,
                            "usage": {"prompt_tokens": int(enc["attention_mask"][j].sum()),
                                      "completion_tokens": n_out}})
        return results
