"""How the `fintune` command ends on bad input: one `fintune: error:` line and exit code 2, never a traceback
or Click's boxed usage text; Ctrl-C as one line and exit code 130."""

from __future__ import annotations

import functools
import sys

import typer

from fintune.errors import FintuneError
from fintune.interrupts import remembered_interrupts

RESUMABLE = {"run", "train"}
"""Commands whose interrupted work `--resume` continues: their Ctrl-C line says so."""


def user_errors(fn):
    """Turn FintuneError into `fintune: error: ...` and exit code 2, Ctrl-C into one line and exit code 130."""
    interrupted = "fintune: interrupted"
    if fn.__name__ in RESUMABLE:
        interrupted += f"; `fintune {fn.__name__} CONFIG [overrides] --resume` continues from the last checkpoint"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with remembered_interrupts() as pressed:
            try:
                return fn(*args, **kwargs)
            except FintuneError as e:
                print(f"fintune: error: {e}", file=sys.stderr)
                raise typer.Exit(2) from None
            except KeyboardInterrupt:
                print(interrupted, file=sys.stderr)
                raise typer.Exit(130) from None
            except (typer.Exit, SystemExit):
                raise
            except BaseException:
                if not pressed:
                    raise
                # Ctrl-C inside a checkpoint write arrives as torch's CheckpointException: still an interruption
                print(interrupted, file=sys.stderr)
                raise typer.Exit(130) from None

    return wrapper


def run_app(app: typer.Typer) -> None:
    """Run the app; Click's usage errors (a missing argument, an unknown option) end like any other bad input."""
    try:
        code = app(standalone_mode=False)  # typer.Exit(n) from a command comes back as n
    except typer.TyperException as e:  # Typer's (vendored) Click errors all derive from it
        if type(e).__name__ == "NoArgsIsHelpError":  # `fintune` or `fintune data` alone: Typer printed the help
            code = 2
        else:
            context = getattr(e, "ctx", None)  # usage errors know their command
            hint = f" (see '{context.command_path} --help')" if context is not None else ""
            print(f"fintune: error: {e.format_message()}{hint}", file=sys.stderr)
            code = 2 if context is not None else e.exit_code
    except typer.Abort:
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
