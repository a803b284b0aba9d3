"""How a transformers causal LM is laid out in a GGUF file, per architecture: llama.cpp's names, shapes and metadata.

llama.cpp's own converter (convert_hf_to_gguf.py) defines the layout; transformers' GGUF reader is written to undo
it. What differs from a plain copy of the weights, and why:

- **llama / mistral**: the q and k projection rows are permuted per head (llama.cpp's rotary embedding takes the
  two halves of a head interleaved, transformers' takes them split). Mistral is written as `llama` (llama.cpp has
  no separate architecture for it) with "mistral" in `general.name`, which is how transformers' reader tells it
  apart again.
- **qwen2**: no permutation; the q/k/v biases are ordinary tensors.

Tensor names come from the gguf package's own `TensorNameMap`, never from a table of ours. Other architectures
(Gemma 3's norm offset and two rotary bases, GPT-2's fused attention, ChatGLM, Baichuan) are refused: each needs its
own transformation that this module does not claim to know.
"""

from __future__ import annotations

from dataclasses import dataclass

import gguf
import numpy as np

from fintune.errors import FintuneError


@dataclass(frozen=True)
class Architecture:
    arch: gguf.MODEL_ARCH
    permute_qk: bool
    """llama.cpp's rotary row order for attn_q / attn_k."""
    rope_dimension_key: bool
    """Write `<arch>.rope.dimension_count` (transformers' reader maps it to head_dim for llama/mistral)."""


ARCHITECTURES = {
    "llama": Architecture(gguf.MODEL_ARCH.LLAMA, permute_qk=True, rope_dimension_key=True),
    "mistral": Architecture(gguf.MODEL_ARCH.LLAMA, permute_qk=True, rope_dimension_key=True),
    "qwen2": Architecture(gguf.MODEL_ARCH.QWEN2, permute_qk=False, rope_dimension_key=False),
}

GGUF_TYPES = {
    "f32": (gguf.LlamaFileType.ALL_F32, gguf.GGMLQuantizationType.F32),
    "f16": (gguf.LlamaFileType.MOSTLY_F16, gguf.GGMLQuantizationType.F16),
    "q8_0": (gguf.LlamaFileType.MOSTLY_Q8_0, gguf.GGMLQuantizationType.Q8_0),
}
"""--gguf-type -> (the file type recorded in the header, the type of its weight matrices)."""


def architecture(config) -> Architecture:
    model_type = getattr(config, "model_type", None)
    if model_type not in ARCHITECTURES:
        raise FintuneError(
            f"GGUF export supports the {', '.join(sorted(ARCHITECTURES))} families; this run's model is "
            f"'{model_type}'. Use `fintune export` without --gguf for a transformers checkpoint"
        )
    rope = _rope_parameters(config)
    if rope.get("rope_type", "default") != "default":
        raise FintuneError(
            f"GGUF export writes plain rotary embeddings; this model uses rope scaling '{rope['rope_type']}'"
        )
    return ARCHITECTURES[model_type]


def _rope_parameters(config) -> dict:
    """transformers 5 keeps rope_theta inside rope_parameters; older configs have it at the top level."""
    rope = dict(getattr(config, "rope_parameters", None) or {})
    if "rope_theta" not in rope and getattr(config, "rope_theta", None) is not None:
        rope["rope_theta"] = config.rope_theta
    return rope


def head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def write_hyperparameters(writer: gguf.GGUFWriter, config, arch: Architecture, name: str) -> None:
    writer.add_name(f"{name} (mistral)" if config.model_type == "mistral" and "mistral" not in name else name)
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(float(_rope_parameters(config)["rope_theta"]))
    if arch.rope_dimension_key:
        writer.add_rope_dimension_count(head_dim(config))


def gguf_tensors(model, arch: Architecture) -> list[tuple[str, np.ndarray]]:
    """(GGUF name, fp32 array in llama.cpp's layout) for every weight of `model`; a tied LM head is written once."""
    config = model.config
    names = gguf.get_tensor_name_map(arch.arch, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    out = []
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when output.weight is absent; the reader then ties them again
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise FintuneError(f"GGUF export: the gguf package has no name for tensor '{hf_name}'")
        array = tensor.detach().float().cpu().numpy()
        if arch.permute_qk and name.endswith("attn_q.weight"):
            array = rotary_row_order(array, config.num_attention_heads)
        elif arch.permute_qk and name.endswith("attn_k.weight"):
            array = rotary_row_order(array, config.num_key_value_heads)
        out.append((name, np.ascontiguousarray(array, dtype=np.float32)))
    return out


def rotary_row_order(weight: np.ndarray, n_head: int) -> np.ndarray:
    """Per head, the rows of the two rotary halves interleaved (row j of half 0, row j of half 1, ...)."""
    rows = weight.shape[0]
    return weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def encode_tensor(name: str, array: np.ndarray, matrix_type: gguf.GGMLQuantizationType):
    """(data, raw_dtype) for GGUFWriter.add_tensor. Norms, biases and other vectors stay F32, as llama.cpp keeps
    them; a matrix whose rows do not split into whole Q8_0 blocks falls back to F16."""
    if array.ndim < 2 or matrix_type == gguf.GGMLQuantizationType.F32:
        return array, None
    if matrix_type == gguf.GGMLQuantizationType.F16:
        return array.astype(np.float16), None
    block, _ = gguf.GGML_QUANT_SIZES[matrix_type]
    if array.shape[-1] % block:
        return array.astype(np.float16), None
    return gguf.quants.quantize(array, matrix_type), matrix_type
