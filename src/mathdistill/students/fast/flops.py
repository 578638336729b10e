"""Training FLOPs per token and MFU for the students (decoder LMs and T5).

    from mathdistill.students.fast.flops import H100_BF16_PEAK, mfu, train_flops_per_token
    fpt = train_flops_per_token(model.config, seq_len=attn_seq_len(lengths))
    print(f"MFU {mfu(tokens_per_s, fpt):.1%}")

Decoder LM, per trained token (forward + backward = 3x forward, no recomputation counted):
    6 * N_matmul + 6 * layers * d_attn * seq_len
- N_matmul = weights that take part in a matmul per token: per layer q/k/v/o projections
  (d * (H + 2 * H_kv) * head_dim + H * head_dim * d) and the MLP (3 * d * d_ff for gated MLPs,
  2 * d * d_ff otherwise), plus the lm_head d * vocab, counted once even when it is tied to the
  embedding. The embedding lookup, norms, biases and softmax are not counted.
- attention: QK^T and AV are 2 * 2 * seq_len * d_attn FLOPs per token forward for full
  attention (d_attn = H * head_dim); causal halves it, x3 for training:
  12 * layers * d_attn * seq_len / 2.
- seq_len for packed rows is the attention length each token actually sees on average, i.e.
  sum(len_i ** 2) / sum(len_i) over the samples (`attn_seq_len`), not the row length.
T5 (`t5_train_flops_per_example`): 6 * (encoder matmuls * src_len + decoder matmuls * tgt_len)
plus bidirectional encoder self-attention, causal decoder self-attention and cross-attention.
"""

from __future__ import annotations

from collections.abc import Iterable

H100_BF16_PEAK = 989e12  # dense bf16 tensor-core FLOP/s, H100 SXM
H200_BF16_PEAK = 989e12  # same compute as H100 SXM


def _head_dim(cfg) -> int:
    return getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads


def _gated(cfg) -> bool:
    act = str(getattr(cfg, "hidden_act", "") or getattr(cfg, "feed_forward_proj", ""))
    return cfg.model_type in {"llama", "qwen2", "gemma", "mistral", "qwen3"} or "gated" in act


def decoder_matmul_params(cfg) -> int:
    """N_matmul of a decoder-only LM (see the module docstring)."""
    d, hd = cfg.hidden_size, _head_dim(cfg)
    h = cfg.num_attention_heads
    kv = getattr(cfg, "num_key_value_heads", None) or h
    attn = d * (h + 2 * kv) * hd + h * hd * d
    mlp = (3 if _gated(cfg) else 2) * d * cfg.intermediate_size
    return cfg.num_hidden_layers * (attn + mlp) + d * cfg.vocab_size


def train_flops_per_token(config, seq_len: float) -> float:
    """Training FLOPs per token of a decoder-only LM at attention length `seq_len` (causal)."""
    d_attn = config.num_attention_heads * _head_dim(config)
    return 6.0 * decoder_matmul_params(config) + 6.0 * config.num_hidden_layers * d_attn * seq_len


def attn_seq_len(lengths: Iterable[int]) -> float:
    """Effective attention length of packed samples: sum(l^2) / sum(l)."""
    lengths = list(lengths)
    total = sum(lengths)
    return sum(n * n for n in lengths) / total if total else 0.0


def t5_train_flops_per_example(config, src_len: int, tgt_len: int) -> float:
    """Training FLOPs of one T5 example (encoder src_len tokens, decoder tgt_len tokens)."""
    d, h, dkv, ff = config.d_model, config.num_heads, config.d_kv, config.d_ff
    inner = h * dkv
    mlp = (3 if "gated" in str(config.feed_forward_proj) else 2) * d * ff
    n_dec = getattr(config, "num_decoder_layers", None) or config.num_layers
    enc = config.num_layers * (4 * d * inner + mlp)
    dec = n_dec * (8 * d * inner + mlp) + d * config.vocab_size  # self + cross attn, lm_head
    matmul = 6.0 * (enc * src_len + dec * tgt_len)
    attention = (
        6.0
        * inner
        * (
            config.num_layers * 2 * src_len * src_len  # bidirectional encoder
            + n_dec * tgt_len * tgt_len  # causal decoder self-attention (halved)
            + n_dec * 2 * tgt_len * src_len  # cross-attention
        )
    )
    return matmul + attention


def mfu(tokens_per_s: float, flops_per_token: float, peak: float = H100_BF16_PEAK) -> float:
    """Model FLOPs utilisation: achieved training FLOP/s over the peak."""
    return tokens_per_s * flops_per_token / peak
