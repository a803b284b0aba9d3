"""Library noise is kept off the terminal and written into the finished run's library_warnings.log."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import warnings

from fintune import library_noise
from fintune.config import validate_config
from fintune.train.rundir import NOISE_LOG, RunDir


def test_noise_is_held_and_everything_else_still_shown(monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # restored after the test
    library_noise.forget_held()
    shown = io.StringIO()
    parent = logging.getLogger("fakelib")
    handler = logging.StreamHandler(shown)
    parent.addHandler(handler)
    try:
        library_noise.hold_library_noise(("fakelib",))
        child = logging.getLogger("fakelib.modeling")
        child.warning("`use_cache=True` is incompatible with gradient checkpointing. Setting `use_cache=False`.")
        child.warning("`use_cache=True` is incompatible with gradient checkpointing. Setting `use_cache=False`.")
        child.warning("the learning rate is very high")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("torch.distributed is disabled, unavailable or uninitialized", UserWarning, stacklevel=1)
    finally:
        parent.removeHandler(handler)
    assert shown.getvalue() == "the learning rate is very high\n"
    held = library_noise.held()
    assert len(held) == 2  # the repeated line once
    assert held[0].startswith("fakelib.modeling WARNING: `use_cache=True` is incompatible")
    assert held[1].startswith("UserWarning: torch.distributed is disabled")


def test_a_finished_run_keeps_what_was_held(tmp_path):
    library_noise.forget_held()
    cfg = validate_config({"task": "classify", "name": "quiet", "output_dir": str(tmp_path)})
    folder = RunDir(cfg)
    folder.open(resume=False)
    assert not (folder.finish() / NOISE_LOG).exists()  # nothing held: no file

    cfg = cfg.model_copy(update={"overwrite": True})
    folder = RunDir(cfg)
    folder.open(resume=False)
    library_noise._hold("transformers WARNING: something alarming")
    final = folder.finish()
    assert (final / NOISE_LOG).read_text() == "transformers WARNING: something alarming\n"
    assert library_noise.held() == []  # the next run starts empty


def test_the_command_lines_setup_holds_what_kernels_says_offline():
    """On AVX512-BF16 CPUs importing bitsandbytes asks `kernels` for a hub kernel, which (offline) logs a warning
    through the root logger: it was printed as `fintune: WARNING: ...` before every command's own output."""
    code = (
        "import logging\n"
        "from fintune import library_noise\n"
        "library_noise.quiet_libraries()\n"
        "logging.getLogger('kernels._internals.hf_hub').warning(\"Skipping publisher trust check for "
        "'kernels-community/quantization-bitsandbytes' because Hugging Face Hub is in offline mode.\")\n"
        "logging.getLogger('kernels._internals.hf_hub').warning('a real problem')\n"
        "print(library_noise.held())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "fintune: WARNING: a real problem\n"
    assert "kernels._internals.hf_hub WARNING: Skipping publisher trust check" in done.stdout


def test_in_a_log_plain_tqdm_bars_are_off():
    """transformers' GGUF conversion draws a tqdm bar: in a log file it was one line of thousands of characters."""
    code = (
        "from fintune import library_noise\n"
        "library_noise.quiet_libraries()\n"
        "from tqdm.auto import tqdm\n"
        "for _ in tqdm(range(3), desc='Converting'):\n"
        "    pass\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Converting" not in done.stderr, done.stderr
