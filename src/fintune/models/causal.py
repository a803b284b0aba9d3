"""Causal LMs (Llama, Qwen2, Mistral, GPT-2; Baichuan2, ChatGLM, Qwen-1 with remote code) for instruction tuning."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

from fintune.config import AdapterConfig, ModelConfig
from fintune.errors import FintuneError
from fintune.models.loading import load_model_config
from fintune.models.precision import bf16_available


def quantization_config(adapter: AdapterConfig):
    """bitsandbytes settings for QLoRA (Dettmers et al., 2023): NF4 + double quantisation, bf16 compute (fp32 on a
    CPU without native bf16). bitsandbytes >= 0.45 ships a CPU library, so this also runs without a GPU, slowly."""
    if adapter.method != "qlora":
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise FintuneError("adapter.method 'qlora' needs bitsandbytes: pip install 'fintune[qlora]'") from None

    if adapter.qlora_bits == 8:
        return BitsAndBytesConfig(load_in_8bit=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16 if bf16_available(device) else torch.float32,
    )


def load_causal(cfg: ModelConfig, adapter: AdapterConfig):
    """(tokenizer, model) of a causal LM from a hub id or local directory; weights from safetensors only."""

    path, config = load_model_config(cfg)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    quant = quantization_config(adapter)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path,
            config=config,
            revision=cfg.revision,
            trust_remote_code=cfg.trust_remote_code,
            use_safetensors=True,
            quantization_config=quant,
            # this rank's GPU under torchrun (distributed.session sets it), GPU 0 otherwise; else the CPU
            device_map=None if quant is None else {"": torch.cuda.current_device() if device == "cuda" else "cpu"},
        )
    except OSError as e:
        raise FintuneError(f"cannot load weights of '{cfg.path}' (safetensors required): {e}") from None
    if quant is None:
        model.to(device)
    tokenizer = AutoTokenizer.from_pretrained(path, revision=cfg.revision, trust_remote_code=cfg.trust_remote_code)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token  # masked out everywhere; any id would do
    return tokenizer, model
