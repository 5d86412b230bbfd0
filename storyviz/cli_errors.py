"""How the command line fails: one line on stderr and a non-zero exit, whatever went wrong.

Errors come from three places: click (inside typer) rejects the command line itself (an option
value of the wrong type, a missing argument, an unknown option or command) and would print a
usage block; commands raise StoryvizError; pydantic's ValidationError describes a bad request.
`OneLineErrors`, the group class every command runs under, turns all of them into
``storyviz: error: ...`` once, so no command handles them itself and typer's CliRunner sees
exactly what a user sees. Anything else is a bug and keeps its traceback.

It also refuses, before any command runs, arguments and STORYVIZ_* variables that are not UTF-8
text: Python keeps such bytes as lone surrogates, which cannot be written to a JSON file, so they
would fail a run half-way instead of at the start.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from storyviz.errors import InputError, StoryvizError
from storyviz.terminal_text import clean, echo
from storyviz.text_checks import is_utf8

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# click's exception classes, from wherever this typer takes click (older typer uses click
# itself, newer a copy of it inside typer).
_click: Any = importlib.import_module(typer.BadParameter.__module__)


def print_error(message: str) -> None:
    """The one line a failure prints."""
    echo(f"storyviz: error: {clean(message, multiline=False)}", err=True)


def _exit(message: str, code: int) -> NoReturn:
    print_error(message)
    sys.exit(code)


def describe_usage_error(exc: Any) -> str:
    """click's complaint about the command line, the value it refused, and where help is."""
    message = clean(exc.format_message(), multiline=False).strip().rstrip(".")
    value = _refused_value(exc)
    if value is not None and repr(value) not in message:
        message += f", got {value!r}"
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see {ctx.command_path} --help)"
    return message


def _refused_value(exc: Any) -> str | None:
    """The text a type conversion refused, where the conversion says (typer's pydantic one)."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return None
    try:
        found = errors()[0].get("input")
    except Exception:  # not pydantic's errors() after all: say nothing rather than fail
        return None
    return found if isinstance(found, str) else None


def check_utf8(args: Sequence[str], environ: Mapping[str, str]) -> None:
    """Refuse arguments and STORYVIZ_* variables holding bytes that are not UTF-8."""
    for n, arg in enumerate(args, start=1):
        if not is_utf8(arg):
            raise InputError(f"argument {n} ({clean(arg)!r}) is not UTF-8 text")
    for key, value in environ.items():
        if key.startswith("STORYVIZ_") and not (is_utf8(key) and is_utf8(value)):
            raise InputError(f"the environment variable {clean(key)} is not UTF-8 text")


class OneLineErrors(TyperGroup):
    """The app's group: runs a command and reports any failure as one line (module docstring)."""

    def main(  # type: ignore[override]  # same call, keyword arguments passed on
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:  # the caller handles errors itself
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            check_utf8(argv, os.environ)
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except getattr(_click, "NoArgsIsHelpError", ()) as exc:  # bare `storyviz`: the help
            exc.show()
            sys.exit(exc.exit_code)
        except _click.UsageError as exc:
            _exit(describe_usage_error(exc), exc.exit_code)
        except _click.ClickException as exc:
            _exit(exc.format_message(), exc.exit_code)
        except typer.Abort:
            _exit("aborted", 1)
        except StoryvizError as exc:
            _exit(str(exc), exc.exit_code)
        except Exception as exc:
            # pydantic is imported only by commands that validate input, never for --help
            pydantic = sys.modules.get("pydantic")
            if pydantic is not None and isinstance(exc, pydantic.ValidationError):
                from storyviz.validation_errors import describe_validation_error

                _exit(describe_validation_error(exc), EXIT_USAGE)
            raise
        sys.exit(code if isinstance(code, int) else 0)
