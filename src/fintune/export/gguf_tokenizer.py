"""The tokenizer of an exported GGUF file: its vocabulary, merges, special tokens and chat template as metadata.

Two sources, the faithful one first:

- The run's base model came from a GGUF file (model.path: smollm2, gemma3-270m, x.gguf): its `tokenizer.*` fields
  are copied unchanged. They are what llama.cpp itself wrote (token types, scores, the pre-tokenizer name it
  recognises), which a rebuild from the transformers tokenizer could only approximate.
- Any other base: a byte-level BPE tokenizer (GPT-2 / Llama-3 / Qwen2 / SmolLM2 style) is written from its
  `tokenizer.json` (tokens by id, merges, control tokens). SentencePiece and other models are refused with one line.

Either way the export checks afterwards that the file's tokenizer encodes the run's prompts to the same ids
(export/gguf_check.py), so a vocabulary that does not match the weights cannot pass unnoticed.
"""

from __future__ import annotations

import json
from pathlib import Path

import gguf

from fintune.errors import FintuneError


def write_tokenizer(writer: gguf.GGUFWriter, tokenizer, source_gguf: Path | None, vocab_rows: int) -> str:
    """Add the tokenizer metadata; returns where it came from (for gguf_export.json)."""
    if source_gguf is not None:
        count = copy_tokenizer_fields(writer, source_gguf)
        origin = f"copied from {source_gguf.name}"
    else:
        count = _write_byte_level_bpe(writer, tokenizer)
        origin = "written from the run's tokenizer.json (byte-level BPE)"
    if count != vocab_rows:
        raise FintuneError(
            f"GGUF export: the tokenizer has {count} tokens but the model's embedding has {vocab_rows} rows"
        )
    return origin


def copy_tokenizer_fields(writer: gguf.GGUFWriter, source: Path) -> int:
    """Copy every `tokenizer.*` field of `source` into `writer`; returns the number of tokens."""
    reader = gguf.GGUFReader(source)
    for key, field in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        kind = field.types[0]
        sub_type = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), kind, sub_type=sub_type)
    tokens = reader.fields.get(gguf.Keys.Tokenizer.LIST)
    return len(tokens.data) if tokens is not None else 0


def _write_byte_level_bpe(writer: gguf.GGUFWriter, tokenizer) -> int:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = json.loads(backend.to_str()) if backend is not None else {}
    model = spec.get("model") or {}
    if model.get("type") != "BPE" or "ByteLevel" not in json.dumps(spec.get("pre_tokenizer")):
        raise FintuneError(
            "GGUF export writes byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2, SmolLM2 style) unless the base "
            "model came from a GGUF file; this run's tokenizer is another kind"
        )
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    if [i for _, i in vocab] != list(range(len(vocab))):
        raise FintuneError("GGUF export: the tokenizer's ids are not contiguous from 0")
    tokens = [token for token, _ in vocab]
    control = set(tokenizer.all_special_tokens)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if t in control else gguf.TokenType.NORMAL for t in tokens])
    writer.add_token_merges(merges)
    for token_id, add in (
        (tokenizer.bos_token_id, writer.add_bos_token_id),
        (tokenizer.eos_token_id, writer.add_eos_token_id),
        (tokenizer.pad_token_id, writer.add_pad_token_id),
        (tokenizer.unk_token_id, writer.add_unk_token_id),
    ):
        if token_id is not None:
            add(token_id)
    # does the tokenizer put BOS in front of a plain prompt? llama.cpp must do the same
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    writer.add_add_bos_token(bool(ids) and tokenizer.bos_token_id is not None and ids[0] == tokenizer.bos_token_id)
    if getattr(tokenizer, "chat_template", None):
        writer.add_chat_template(tokenizer.chat_template)
    return len(tokens)
