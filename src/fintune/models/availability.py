"""Where a model.path comes from, known before loading it: offline, a hub id that is neither a local folder nor in
the hub cache would only fail after a minute of the hub client's retries (and `--dry-run` would not have said)."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import try_to_load_from_cache

from fintune.config import ModelConfig
from fintune.data.locate import HubUnreachable, check_hub_reachable
from fintune.errors import FintuneError
from fintune.models.gguf import is_gguf
from fintune.models.registry import BUNDLED

OFFLINE_CHOICE = "model.path=smollm2 (or gemma3-270m, minilm, a local folder) runs without the network"


def model_origin(cfg: ModelConfig) -> str:
    """'bundled', 'local', 'cached' (a hub id already downloaded) or 'hub' (a run would download it)."""
    if cfg.path in BUNDLED or (is_gguf(cfg.path, cfg.gguf_file) and not Path(cfg.path).exists()):
        return "bundled"
    if Path(cfg.path).expanduser().exists():
        return "local"
    try:
        cached = try_to_load_from_cache(cfg.path, "config.json", revision=cfg.revision)
    except ValueError:  # not even shaped like a hub id: loading will name it
        return "hub"
    return "cached" if isinstance(cached, str) else "hub"


def model_line(cfg: ModelConfig) -> str:
    """`--dry-run`'s word on the model: where it comes from, and whether a run could get it."""
    origin = model_origin(cfg)
    if origin != "hub":
        return f"model: {cfg.path} ({'in the hub cache' if origin == 'cached' else origin})"
    try:
        check_hub_reachable()
    except HubUnreachable as e:
        return f"model: {cfg.path} is NOT here (not a local folder, not in the hub cache; {e}): a run would fail; " + (
            OFFLINE_CHOICE
        )
    return f"model: {cfg.path} is not downloaded yet: a run downloads it from the hub first"


def check_model_reachable(cfg: ModelConfig) -> None:
    """Refuse, in seconds, a hub model that is not here while the hub cannot be reached."""
    if model_origin(cfg) != "hub":
        return
    try:
        check_hub_reachable()
    except HubUnreachable as e:
        raise FintuneError(
            f"model '{cfg.path}' is not a local folder nor in the hub cache, and the hub is unreachable ({e}); "
            + OFFLINE_CHOICE
        ) from None
