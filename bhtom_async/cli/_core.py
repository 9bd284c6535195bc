"""Shared CLI plumbing: global settings, exit codes, error → exit-code mapping, running coroutines.

Global options (``--json``, ``-o/--output``, ``--profile``, ``--token``, ``--base-url``,
``--upload-url``, ``-v``) are accepted before the command name and after it: every command is a
`BhtomCommand`, which adds them and merges what it was given into the `CliState`.
"""

from __future__ import annotations

import enum
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar, cast

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
    JournalError,
    NotFoundError,
    PermissionDeniedError,
    TargetNotFoundError,
    ValidationError,
)
from .output import FORMATS, OutputFormat, emit, json_line, printable
from .profiles import connection

__all__ = [
    "BhtomCommand",
    "BhtomGroup",
    "CliState",
    "ExitCode",
    "error_lines",
    "exit_code_for",
    "fail",
    "make_client",
    "merge_state",
    "pass_state",
    "run",
    "warn",
]

T = TypeVar("T")


class ExitCode(enum.IntEnum):
    """The `bhtom` exit codes (documented in docs/cli.md and `bhtom upload --help`)."""

    OK = 0
    SOME_FAILED = 1
    USAGE = 2
    FATAL = 3
    UNKNOWN_OUTCOME = 4
    INCOMPLETE = 5
    EMPTY = 6
    INTERRUPTED = 130
    TERMINATED = 143


@attrs.frozen
class CliState:
    """The global options, passed to every command through the click context."""

    base_url: str | None = None
    upload_url: str | None = None
    token: str | None = None
    output: OutputFormat = "table"
    verbose: bool = False
    profile: str | None = None

    @property
    def json(self) -> bool:
        """Machine-readable output was asked for (``--json`` or ``-o json|jsonl|csv``)."""
        return self.output != "table"

    def emit(self, value: object) -> None:
        """Print `value` in the machine format asked for (see `output.emit`)."""
        emit(value, self.output)


pass_state = click.make_pass_decorator(CliState, ensure=True)

_VISIBLE_FLAG_WARNING = (
    "--token on the command line is visible to other users (the process list) and is kept in "
    "your shell history; prefer BHTOM_TOKEN or `bhtom login`"
)


#: Click 8.2+ raises this (a UsageError) for a group run without a command; older ones exit.
_NO_ARGS_IS_HELP: tuple[type[click.ClickException], ...] = tuple(
    getattr(click.exceptions, name) for name in ("NoArgsIsHelpError",) if hasattr(click.exceptions, name)
)


class _Shared(click.Option):
    """Strictly private: a global option that a command also accepts after its own name."""


def _shared_options() -> list[click.Option]:
    return [
        _Shared(["--json", "json_"], is_flag=True, default=False, help="Same as -o json."),
        _Shared(
            ["-o", "--output"],
            type=click.Choice(FORMATS),
            default=None,
            help="table (default), json (one document), jsonl (one object per line) or csv.",
        ),
        _Shared(["--profile"], metavar="NAME", default=None, help="Use this saved profile (bhtom login)."),
        _Shared(["--token"], metavar="TOKEN", default=None, hidden=True),
        _Shared(["--base-url"], metavar="URL", default=None, hidden=True),
        _Shared(["--upload-url"], metavar="URL", default=None, hidden=True),
        _Shared(["-v", "--verbose"], is_flag=True, default=False, hidden=True),
    ]


def merge_state(state: CliState, given: dict[str, Any]) -> CliState:
    """`state` with the global options given to a command (or to the group) laid over it."""
    output = given.get("output") or ("json" if given.get("json_") else None)
    changes: dict[str, Any] = {
        name: given[name] for name in ("base_url", "upload_url", "token", "profile") if given.get(name)
    }
    if output:
        changes["output"] = output
    if given.get("verbose"):
        changes["verbose"] = True
    return attrs.evolve(state, **changes)


class BhtomCommand(click.Command):
    """A command that also takes the global options after its name (``bhtom results 5 --json``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        taken = {opt for param in self.params for opt in param.opts}
        self.params.extend(o for o in _shared_options() if not set(o.opts) & taken)

    def invoke(self, ctx: click.Context) -> Any:
        given = {
            p.name: ctx.params.pop(p.name)
            for p in self.params
            if isinstance(p, _Shared) and p.name is not None and p.name in ctx.params
        }
        root = ctx.find_root()
        base = root.obj if isinstance(root.obj, CliState) else CliState()
        state = merge_state(base, given)
        # The command reads the merged state; error handling up the chain reads the root's.
        ctx.obj = root.obj = state
        if state.token and not root.meta.get("bhtom.token_warned"):
            root.meta["bhtom.token_warned"] = True
            warn(_VISIBLE_FLAG_WARNING)
        return super().invoke(ctx)


def make_client(state: CliState, **options: Any) -> Client:
    """A library client for the chosen profile and the global options (env and config fill the rest).

    The pool is left to the library, which grows it to fit the uploads asked for.
    """
    chosen = connection(
        profile=state.profile, base_url=state.base_url, upload_url=state.upload_url, token=state.token
    )
    return Client(
        chosen.token,
        base_url=chosen.base_url,
        upload_url=chosen.upload_url,
        config_path=chosen.config_path,
        **options,
    )


def run(func: Callable[..., Awaitable[T]], *args: object) -> T:
    """Run one coroutine function to completion on a fresh event loop."""
    return anyio.run(func, *args)


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    click.secho(f"warning: {printable(message)}", fg="yellow", err=True)


def fail(message: str, hint: str | None = None, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print a short error (and what to do) on stderr and exit with `code`."""
    _print_error(message, hint)
    sys.exit(int(code))


def exit_code_for(exc: BhtomError) -> ExitCode:
    """Usage errors → 2; errors no retry can fix (token, target, camera, config, journal) → 3; else 1."""
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
            JournalError,
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
    click.secho(f"error: {printable(message)}", fg="red", err=True)
    if hint:
        click.echo(f"hint: {printable(hint)}", err=True)


def error_lines(exc: BaseException) -> tuple[str, str | None]:
    """(what went wrong, what to do) for a library error, with the hint phrased for the shell."""
    if isinstance(exc, BhtomError):
        return exc.headline, exc.cli_hint or exc.hint
    return str(exc), None


class BhtomGroup(click.Group):
    """A click group that turns library errors into one or two lines and an exit code.

    Usage errors are one line too (``error: ... (see `bhtom upload --help`)``), exit 2.
    """

    command_class = BhtomCommand
    group_class = type  # sub-groups are BhtomGroups as well

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            value = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:
            exc.show()  # a group run without a command: its help, as click prints it
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "bhtom"
            click.secho(f"error: {exc.format_message()} (see `{where} --help`)", fg="red", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        if not standalone_mode:
            return value
        sys.exit(value if isinstance(value, int) else 0)

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
            state = _root_state(ctx)
            if state is not None and state.verbose:
                traceback.print_exc(file=sys.stderr)
            code = max(exit_code_for(cast(BhtomError, e)) for e in errors)
            seen: set[str] = set()
            for error in errors:
                message, hint = error_lines(error)
                if message not in seen and len(seen) < 3:
                    seen.add(message)
                    _print_error(message, hint)
            if state is not None and state.output in ("json", "jsonl"):
                # Scripts reading stdout get the error as JSON too (shape in docs/cli.md).
                message, hint = error_lines(errors[0])
                shape = {"error": message, "hint": hint, "type": type(errors[0]).__name__}
                click.echo(json_line({**shape, "exit_code": int(code)}))
            ctx.exit(int(code))


def _root_state(ctx: click.Context) -> CliState | None:
    found = ctx.find_root().obj
    return found if isinstance(found, CliState) else None


def _missing_module(ctx: click.Context, exc: ModuleNotFoundError) -> NoReturn:
    # Only the optional extras are imported lazily; name the one that is missing.
    state = _root_state(ctx)
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
    given = {key: value for key, value in changes.items() if value is not None}
    if not given:
        raise click.UsageError(f"nothing to change: give at least one option such as {example_option}")

    async def send() -> None:
        async with make_client(state) as bh:
            await update(bh, name, given)

    run(send)
    if state.json:
        state.emit({"updated": name, "changes": given})
    else:
        click.echo(f"Updated {name}: " + ", ".join(f"{k}={v}" for k, v in given.items()))
