"""Shared CLI plumbing: global settings, exit codes, error → exit-code mapping, running coroutines."""

from __future__ import annotations

import enum
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import anyio
import attrs
import click

from ..client import Client
from ..errors import (
    AuthenticationError,
    BhtomError,
    ClientStateError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TargetNotFoundError,
    ValidationError,
)

__all__ = [
    "BhtomGroup",
    "CliState",
    "ExitCode",
    "error_lines",
    "exit_code_for",
    "fail",
    "make_client",
    "pass_state",
    "run",
]

T = TypeVar("T")


class ExitCode(enum.IntEnum):
    """The `bhtom` exit codes (documented in docs/cli.md; scripts rely on them)."""

    OK = 0
    SOME_FAILED = 1
    USAGE = 2
    FATAL = 3
    UNKNOWN_OUTCOME = 4


@attrs.frozen
class CliState:
    """The global options, passed to every command through the click context."""

    base_url: str | None = None
    upload_url: str | None = None
    token: str | None = None
    json: bool = False
    verbose: bool = False


pass_state = click.make_pass_decorator(CliState, ensure=True)


def make_client(state: CliState, **options: Any) -> Client:
    """A library client built from the global options (env and config file fill the rest)."""
    return Client(state.token, base_url=state.base_url, upload_url=state.upload_url, **options)


def run(func: Callable[..., Awaitable[T]], *args: object) -> T:
    """Run one coroutine function to completion on a fresh event loop."""
    return anyio.run(func, *args)


def fail(message: str, hint: str | None = None, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print a short error (and what to do) on stderr and exit with `code`."""
    _print_error(message, hint)
    sys.exit(int(code))


def exit_code_for(exc: BhtomError) -> ExitCode:
    """Usage errors → 2; errors no retry can fix (token, target, camera, config) → 3; the rest → 1."""
    if isinstance(exc, InvalidInputError):
        return ExitCode.USAGE
    if isinstance(
        exc,
        (
            AuthenticationError,
            PermissionDeniedError,
            TargetNotFoundError,
            NotFoundError,
            ConfigurationError,
            ClientStateError,
            ValidationError,
        ),
    ):
        return ExitCode.FATAL
    return ExitCode.SOME_FAILED


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exception itself, or every leaf of a (nested) exception group."""
    nested = getattr(exc, "exceptions", None)
    if not isinstance(nested, tuple):
        return [exc]
    return [leaf for inner in nested for leaf in _leaves(inner)]


def _print_error(message: str, hint: str | None = None) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)


def error_lines(exc: BaseException) -> tuple[str, str | None]:
    """(what went wrong, what to do) for a library error, with the hint phrased for the shell."""
    if isinstance(exc, BhtomError):
        return exc.headline, exc.cli_hint or exc.hint
    return str(exc), None


class BhtomGroup(click.Group):
    """A click group that turns library errors into one or two lines and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _print_error(
                "interrupted",
                "run the same command again to carry on; with the same --journal, files already "
                "uploaded are skipped and unfinished ones are checked on the server first",
            )
            ctx.exit(130)
        except Exception as exc:
            # Concurrent commands raise exception groups; report their library errors the same way.
            if isinstance(exc, ModuleNotFoundError):
                _missing_module(ctx, exc)
            errors = _leaves(exc)
            if not errors or not all(isinstance(e, BhtomError) for e in errors):
                raise
            state = ctx.find_object(CliState)
            if state is not None and state.verbose:
                traceback.print_exc(file=sys.stderr)
            code = max(exit_code_for(e) for e in errors)  # type: ignore[arg-type]
            seen: set[str] = set()
            for error in errors:
                message, hint = error_lines(error)
                if message not in seen and len(seen) < 3:
                    seen.add(message)
                    _print_error(message, hint)
            if state is not None and state.json:
                # Scripts reading stdout get the error as JSON too (shape in docs/cli.md).
                message, hint = error_lines(errors[0])
                click.echo(
                    json.dumps(
                        {
                            "error": message,
                            "hint": hint,
                            "type": type(errors[0]).__name__,
                            "exit_code": int(code),
                        }
                    )
                )
            ctx.exit(int(code))


def _missing_module(ctx: click.Context, exc: ModuleNotFoundError) -> NoReturn:
    # Only the optional extras are imported lazily; name the one that is missing.
    state = ctx.find_object(CliState)
    if state is not None and state.verbose:
        traceback.print_exc(file=sys.stderr)
    extra = "emulator" if exc.name in ("uvicorn", "starlette", "multipart", "python_multipart") else "all"
    _print_error(
        f"the optional module {exc.name!r} is not installed",
        f"install the extra that provides it: pip install 'bhtom_async[{extra}]'",
    )
    ctx.exit(int(ExitCode.FATAL))


def apply_update(
    state: CliState,
    name: str,
    changes: dict[str, object],
    update: Callable[[Client, str, dict[str, object]], Awaitable[None]],
    *,
    example_option: str,
) -> None:
    """Shared body of the `... update NAME --field value` commands: send only the options given."""
    from .output import emit_json

    given = {key: value for key, value in changes.items() if value is not None}
    if not given:
        raise click.UsageError(f"nothing to change: give at least one option such as {example_option}")

    async def send() -> None:
        async with make_client(state) as bh:
            await update(bh, name, given)

    run(send)
    if state.json:
        emit_json({"updated": name, "changes": given})
    else:
        click.echo(f"Updated {name}: " + ", ".join(f"{k}={v}" for k, v in given.items()))
