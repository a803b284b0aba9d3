"""Reading a checkpoint's config safely, and telling encoder classifiers from causal LMs."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoConfig

from fintune.config import ModelConfig
from fintune.errors import FintuneError
from fintune.models.availability import check_model_reachable
from fintune.models.registry import CAUSAL_FAMILIES, resolve_model_path

CAUSAL_ARCHITECTURE_SUFFIXES = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")


def load_model_config(cfg: ModelConfig):
    """(resolved path, transformers config); remote code only runs when the user allowed it."""

    check_model_reachable(cfg)
    path = resolve_model_path(cfg.path, cfg.gguf_file)
    try:
        config = AutoConfig.from_pretrained(path, revision=cfg.revision, trust_remote_code=cfg.trust_remote_code)
    except (OSError, ValueError) as e:
        if "trust_remote_code" in str(e):
            raise FintuneError(
                f"model '{cfg.path}' ships its own code; set model.trust_remote_code=true if you trust it"
            ) from None
        where = "a local directory" if Path(path).exists() else "a hub id (offline: download it first)"
        raise FintuneError(f"cannot load model '{cfg.path}' as {where}: {str(e).splitlines()[0]}") from None
    family = CAUSAL_FAMILIES.get(config.model_type)
    if family is not None and family.remote_code and not cfg.trust_remote_code:
        raise FintuneError(
            f"model '{cfg.path}' ({config.model_type}) ships its own code; set model.trust_remote_code=true "
            "if you trust it"
        )
    return path, config


def model_kind(cfg: ModelConfig, config) -> str:
    if cfg.kind != "auto":
        return cfg.kind
    architectures = getattr(config, "architectures", None) or []
    if config.model_type in CAUSAL_FAMILIES or any(a.endswith(CAUSAL_ARCHITECTURE_SUFFIXES) for a in architectures):
        return "causal"
    return "encoder"
