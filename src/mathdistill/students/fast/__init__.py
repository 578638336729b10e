"""Fast student generation and training on one GPU (plain PyTorch + transformers, no vLLM).

    from mathdistill.students.fast import generate_ids
    out = generate_ids(model, prompt_ids, max_new_tokens=256, batch_size=256)  # out[i][k]

Generation: causal.py (slot KV cache, CUDA-graph decode, continuous refill, prefix sharing)
and seq2seq.py (T5 family, batch-synchronous graph decode); sampling.py and graphs.py are
shared. Training: packing.py (packed rows, no cross-sample attention), attention.py (varlen
attention for HF models), loss.py (chunked cross entropy), train_step.py (FastTrainStep),
flops.py (MFU). `python bench/gpu.py` compares these with plain Hugging Face.
"""

from .causal import generate_ids
from .flops import H100_BF16_PEAK, attn_seq_len, mfu, train_flops_per_token
from .loss import chunked_cross_entropy
from .packing import PackedBatch, pack
from .seq2seq import generate_ids_seq2seq
from .train_step import FastTrainStep

__all__ = [
    "H100_BF16_PEAK",
    "FastTrainStep",
    "PackedBatch",
    "attn_seq_len",
    "chunked_cross_entropy",
    "generate_ids",
    "generate_ids_seq2seq",
    "mfu",
    "pack",
    "train_flops_per_token",
]
