"""Make a loaded model trainable the way `adapter.method` says."""

from __future__ import annotations

import logging

import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

from fintune.config import ADAPTER_METHODS, AdapterConfig
from fintune.errors import FintuneError
from fintune.models.registry import default_targets, layer_index, num_layers

log = logging.getLogger(__name__)

# Parameters of the task head that must train with every method (names in BERT-style models).
HEAD_NAMES = ("classifier", "pooler", "score")


def lora_config(cfg: AdapterConfig, model_type: str, task_type: str = "SEQ_CLS", head: list[str] | None = None):
    """A peft.LoraConfig for the LoRA family; the variants differ in one or two flags only."""

    extra = {}
    if cfg.method == "rslora":
        extra["use_rslora"] = True  # scale alpha / sqrt(r): stable at high ranks (Kalajdzievski, 2023)
    elif cfg.method == "dora":
        extra["use_dora"] = True
    elif cfg.method == "pissa":
        extra["init_lora_weights"] = "pissa_niter_4"  # fast randomized SVD init
    return LoraConfig(
        task_type=task_type,
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=0.0 if cfg.method == "pissa" else cfg.dropout,
        target_modules=cfg.target_modules or default_targets(model_type),
        modules_to_save=head,
        **extra,
    )


def head_modules(model) -> list[str]:
    """Task-head modules with weights in `model`; they train fully under every adapter method.

    A [CLS] pooler belongs to the head: a checkpoint may ship it untrained (all-MiniLM-L6-v2's is
    all zeros), and behind a frozen one the classifier would only ever see tanh(0) = 0.
    """
    names = {name.rsplit(".", 1)[-1] for name, m in model.named_modules() if any(True for _ in m.parameters())}
    return [name for name in HEAD_NAMES if name in names]


def check_method_supported(cfg: AdapterConfig, causal: bool = False) -> None:
    if cfg.method == "qlora":
        if not causal:
            raise FintuneError("adapter.method 'qlora' applies to causal LMs; use lora for an encoder classifier")
        if not torch.cuda.is_available():
            log.warning(
                "adapter.method qlora on a CPU: bitsandbytes' 4-bit kernels run here, slower than lora and far "
                "slower without AVX512-BF16 (benchmarks/RESULTS.md); QLoRA is for saving memory"
            )
    if cfg.method == "none" and not causal:
        raise FintuneError(
            "adapter.method 'none' trains nothing, which leaves a classifier head random; "
            "use 'freeze' (freeze_trainable_layers=0) to train only the head"
        )


def apply_method(model, cfg: AdapterConfig, causal: bool = False):
    """Return the model ready to train (a PeftModel for adapter methods; untouched for `none`)."""
    check_method_supported(cfg, causal)
    if cfg.method == "none":  # zero-shot evaluation of the base model
        for p in model.parameters():
            p.requires_grad = False
        return model
    if cfg.method in ADAPTER_METHODS:
        if cfg.method == "qlora":
            model = prepare_model_for_kbit_training(model)
        task_type, head = ("CAUSAL_LM", None) if causal else ("SEQ_CLS", head_modules(model))
        try:
            return get_peft_model(model, lora_config(cfg, model.config.model_type, task_type, head))
        except ValueError as e:
            raise FintuneError(f"adapter.target_modules: {str(e).splitlines()[0]}") from None
    if cfg.method == "full":
        for p in model.parameters():
            p.requires_grad = True
        return model
    # freeze: train the head and the top `freeze_trainable_layers` blocks only
    first_trained = num_layers(model) - cfg.freeze_trainable_layers
    for name, p in model.named_parameters():
        block = layer_index(name)
        p.requires_grad = any(part in name for part in HEAD_NAMES) if block is None else block >= first_trained
    if not any(p.requires_grad for p in model.parameters()):  # a causal LM has no classifier head to train
        raise FintuneError("adapter.method 'freeze' trains nothing here: set adapter.freeze_trainable_layers >= 1")
    return model


def trainable_counts(model) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
