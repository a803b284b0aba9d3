"""Find a registered dataset's files: `$FINTUNE_DATA_DIR`, then the cache, then the public hub."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from huggingface_hub import constants, hf_hub_download

from fintune.errors import FintuneError


def data_dir() -> Path | None:
    value = os.environ.get("FINTUNE_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def fintune_home() -> Path:
    return Path(os.environ.get("FINTUNE_HOME", "~/.cache/fintune")).expanduser()


def locate(source: str, folder: str, filename: str, hub: HubFile | None = None) -> Path:
    """Path of `<folder>/<filename>` in the layout of the shared datasets folder."""
    root = data_dir()
    if root is not None and (root / folder / filename).is_file():
        return root / folder / filename
    cached = fintune_home() / "datasets" / folder / filename
    if cached.is_file():
        return cached
    where = (
        f"FINTUNE_DATA_DIR={root}"
        if root
        else f"FINTUNE_DATA_DIR is not set: export FINTUNE_DATA_DIR=/path/to/the/folder/holding/{folder}"
    )
    hint = f"dataset '{source}' needs {folder}/{filename} under FINTUNE_DATA_DIR ({where})"
    if hub is None:
        raise FintuneError(f"{hint}; it has no public download")
    try:
        hub.download_to(cached)
    except Exception as e:  # any network or hub failure ends up as the same actionable message
        reason = str(e) if isinstance(e, HubUnreachable) else type(e).__name__
        raise FintuneError(f"{hint}; download from the dataset hub failed ({reason})") from None
    return cached


class HubFile:
    """A file of a public dataset-hub repository and how to turn it into our layout's file."""

    def __init__(self, repo_id: str, filename: str, convert=None):
        self.repo_id, self.filename, self.convert = repo_id, filename, convert

    def download_to(self, target: Path) -> None:

        check_hub_reachable()
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # its retry chatter is not for users
        fetched = Path(
            hf_hub_download(self.repo_id, self.filename, repo_type="dataset", cache_dir=fintune_home() / "hub")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        if self.convert is None:
            tmp.write_bytes(fetched.read_bytes())
        else:
            self.convert(fetched, tmp)
        tmp.replace(target)


class HubUnreachable(OSError):
    pass


def check_hub_reachable(timeout_s: float = 3.0) -> None:
    """Fail in seconds, not after the hub client's minute of retries, when there is no network."""

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise HubUnreachable("HF_HUB_OFFLINE is set")
    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout_s).close()
    except OSError:
        raise HubUnreachable(f"cannot reach {url.hostname}") from None
