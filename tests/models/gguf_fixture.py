"""A tiny random Llama with a byte-level BPE tokenizer, saved as safetensors and written again as a GGUF file.

The GGUF file is laid out as llama.cpp's converter writes one (F32 tensors, its tensor names, q/k rows permuted for
its rotary embedding, the tokenizer as metadata), so loading it exercises transformers' GGUF reader as a real file
would, and the safetensors folder is the reference the converted model must reproduce.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.conftest import TINY_CSV

LABELS = ["negative", "neutral", "positive"]
SPECIAL = ["<s>", "</s>", "<pad>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)
HIDDEN, LAYERS, HEADS, KV_HEADS, FFN = 64, 2, 2, 1, 128
ROPE_THETA, RMS_EPS, CONTEXT = 50000.0, 1e-5, 256
"""Not LlamaConfig's defaults (10000, 1e-6), so a metadata key the reader dropped would show in the logits."""


def corpus() -> list[str]:
    from fintune.data.prompts import PromptTemplate

    lines = TINY_CSV.read_text(encoding="utf-8").splitlines()[1:]
    texts = [line.rsplit(",", 1)[0] for line in lines]
    return [PromptTemplate().render(text, LABELS) for text in texts] + [" ".join(LABELS), "user assistant system"]


def train_tokenizer(folder: Path):
    """Byte-level BPE (GPT-2 style: no prefix space, no BOS added) trained offline; saved as a fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    return tokenizer


def build_source(folder: Path, tie: bool) -> Path:
    """The reference checkpoint: tokenizer + a seeded random LlamaForCausalLM, weights as safetensors."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=FFN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=CONTEXT,
        rms_norm_eps=RMS_EPS,
        rope_theta=ROPE_THETA,
        initializer_range=0.2,  # larger than a real init, so every misplaced weight moves the logits visibly
        tie_word_embeddings=tie,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(1 if tie else 0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # norms are initialised to ones: make them differ so their mapping matters too
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.add_(0.3 * torch.randn_like(param))
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def _merges(tokenizer) -> list[str]:
    """The BPE merges as GGUF stores them ("a b"); tokenizers serialises them as pairs or as such strings."""
    merges = json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    return [m if isinstance(m, str) else " ".join(m) for m in merges]


def write_gguf(source: Path, path: Path) -> Path:
    """Write the checkpoint in `source` as an F32 GGUF file at `path`, the way llama.cpp's converter lays it out."""
    import gguf
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoTokenizer

    # fintune's exporter's row order; transformers' reader (`_reverse_permute_weights`) must undo it exactly
    from fintune.export.gguf_layout import rotary_row_order

    config = AutoConfig.from_pretrained(source)
    tokenizer = AutoTokenizer.from_pretrained(source)
    weights = load_file(str(source / "model.safetensors"))

    writer = gguf.GGUFWriter(path, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name("tiny-llama")
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(ROPE_THETA)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)

    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    assert [i for _, i in vocab] == list(range(len(vocab))), "token ids must be contiguous"
    tokens = [token for token, _ in vocab]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if token in SPECIAL else gguf.TokenType.NORMAL for token in tokens])
    writer.add_token_merges(_merges(tokenizer))
    writer.add_bos_token_id(tokenizer.bos_token_id)
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_pad_token_id(tokenizer.pad_token_id)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    for hf_name, tensor in weights.items():
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert name is not None, f"no GGUF name for {hf_name}"
        if name.endswith("attn_q.weight"):
            tensor = rotary_row_order(tensor, config.num_attention_heads)
        elif name.endswith("attn_k.weight"):
            tensor = rotary_row_order(tensor, config.num_key_value_heads)
        writer.add_tensor(name, np.ascontiguousarray(tensor, dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
