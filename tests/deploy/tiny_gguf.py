"""A tiny language model in the real GGUF format, written with the `gguf` package.

A llama-architecture model (2 blocks, 64-wide, 4 heads, a SentencePiece-style vocabulary of
byte tokens and a few words) with random weights: llama.cpp loads and runs it like any GGUF
file, so the SLM path is tested on the real format and the real runtime, only the words it
generates mean nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WORDS = ("▁the", "▁a", "▁board", "▁model", "▁tiny", "▁kit", "▁hello", "▁world", "▁is", "▁runs")


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """Tokens, scores and token types: <unk>, <s>, </s>, the 256 byte tokens, then words."""
    import gguf

    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{value:02X}>" for value in range(256)] + list(WORDS)
    scores = [0.0, 0.0, 0.0] + [-1000.0] * 256 + [-float(i) for i in range(len(WORDS))]
    types = ([int(gguf.TokenType.UNKNOWN), int(gguf.TokenType.CONTROL), int(gguf.TokenType.CONTROL)]
             + [int(gguf.TokenType.BYTE)] * 256 + [int(gguf.TokenType.NORMAL)] * len(WORDS))
    return tokens, scores, types


def write_tiny_llama(path: Path, *, embedding: int = 64, blocks: int = 2, heads: int = 4, feed_forward: int = 128,
                     context: int = 256, seed: int = 0) -> Path:
    """Write the model to `path` and return it."""
    import gguf

    rng = np.random.default_rng(seed)
    tokens, scores, types = vocabulary()

    def weight(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("kit-tiny-llama")
    writer.add_context_length(context)
    writer.add_embedding_length(embedding)
    writer.add_block_count(blocks)
    writer.add_feed_forward_length(feed_forward)
    writer.add_head_count(heads)
    writer.add_head_count_kv(heads)
    writer.add_rope_dimension_count(embedding // heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    # numpy shapes are ggml's dimensions reversed: token_embd is ne = [embedding, vocabulary]
    writer.add_tensor("token_embd.weight", weight(len(tokens), embedding))
    for block in range(blocks):
        prefix = f"blk.{block}"
        writer.add_tensor(f"{prefix}.attn_norm.weight", np.ones(embedding, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"{prefix}.{name}.weight", weight(embedding, embedding))
        writer.add_tensor(f"{prefix}.ffn_norm.weight", np.ones(embedding, np.float32))
        writer.add_tensor(f"{prefix}.ffn_gate.weight", weight(feed_forward, embedding))
        writer.add_tensor(f"{prefix}.ffn_up.weight", weight(feed_forward, embedding))
        writer.add_tensor(f"{prefix}.ffn_down.weight", weight(embedding, feed_forward))
    writer.add_tensor("output_norm.weight", np.ones(embedding, np.float32))
    writer.add_tensor("output.weight", weight(len(tokens), embedding))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
