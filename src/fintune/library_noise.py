"""Third-party messages that look alarming and ask nothing of the user: kept off the terminal, not lost.

The command line installs `hold_library_noise()` once; each finished run writes what was held while it ran to
its `library_warnings.log` (train/rundir.py), so a message that turns out to matter can still be read.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

LOGGED_NOISE = (
    "incompatible with gradient checkpointing",  # transformers then trains without the cache, as it should
    "`past_key_values`/`cache_params` are deprecated",  # an internal rename inside transformers' own calls
    "Failed to load CPU gemm_4bit_forward",  # bitsandbytes' optional CPU kernel; its 4-bit path works without it
    # bitsandbytes (on AVX512-BF16 CPUs) asks the `kernels` package for that kernel on import; offline, `kernels`
    # says it skipped a check of a download that never happens
    "Skipping publisher trust check",
)
"""Substrings of library log records (transformers, bitsandbytes, kernels) held back."""
WARNED_NOISE = ("torch.distributed is disabled",)
"""Substrings of Python warnings held back: every single-process checkpoint write says it found no process group,
which is the normal case here."""

_held: list[str] = []


def held() -> list[str]:
    """The held messages since the last `forget_held()`, oldest first."""
    return list(_held)


def forget_held() -> None:
    _held.clear()


def _hold_record(record: logging.LogRecord) -> bool:
    """A logging filter: False (drop) for noise, which is held instead."""
    message = record.getMessage()
    if any(noise in message for noise in LOGGED_NOISE):
        _hold(f"{record.name} {record.levelname}: {message}")
        return False
    return True


def _hold(line: str) -> None:
    if line not in _held:  # the same line from every step says nothing more
        _held.append(line)


def hold_library_noise(loggers: tuple[str, ...] = ("transformers", "")) -> None:
    """Filter the noise out of these loggers and their handlers ("" is the root, whose handler gets the records of
    libraries without their own, such as bitsandbytes) and out of Python's warnings; call after the libraries set
    up their handlers."""
    for name in loggers:
        logger = logging.getLogger(name)
        if _hold_record not in logger.filters:
            logger.addFilter(_hold_record)  # records of this logger itself
        for handler in logger.handlers:
            if _hold_record not in handler.filters:
                handler.addFilter(_hold_record)  # records of its children that reach its handlers
    shown = warnings.showwarning
    if getattr(shown, "holds_noise", False):
        return

    def show_unless_noise(message, category, filename, lineno, file=None, line=None):
        if any(noise in str(message) for noise in WARNED_NOISE):
            _hold(f"{category.__name__}: {message}")
            return
        shown(message, category, filename, lineno, file, line)

    show_unless_noise.holds_noise = True
    warnings.showwarning = show_unless_noise


def quiet_libraries() -> None:
    """The command line's library setup: fintune's log format, the noise held, no carriage-return bars in logs."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not sys.stderr.isatty():
        # plain tqdm bars (transformers' GGUF conversion) redraw with carriage returns: in a log, one line of
        # thousands of characters. tqdm reads this when imported, so before transformers is
        os.environ.setdefault("TQDM_DISABLE", "1")
    logging.basicConfig(level=logging.WARNING, format="fintune: %(levelname)s: %(message)s")
    warnings.filterwarnings("ignore", category=FutureWarning)
    from transformers.utils import logging as hf_logging  # deferred: importing transformers takes seconds

    hf_logging.get_logger("transformers")  # sets up transformers' own handler, which its records go to
    if not sys.stderr.isatty():  # "Loading weights" bars are unreadable in a log; fintune says what it loads
        hf_logging.disable_progress_bar()
    # the root logger's handler too: bitsandbytes (imported by peft) logs through it, on every import
    hold_library_noise(("transformers", ""))
