"""Every error bhtom_async raises. Catch these; httpx errors never reach you.

The tree::

    BhtomError
    ├── ConfigurationError          bad or missing settings (token, URLs, insecure http)
    ├── ClientStateError            a client used before `async with` or after it closed
    ├── InvalidInputError           arguments refused before anything was sent (also ValueError)
    ├── MissingDependencyError      an optional extra (astropy, pandas, ...) is not installed
                                    (also ModuleNotFoundError)
    ├── APIError                    the server answered with an error status
    │   ├── AuthenticationError     401, or bad credentials at login
    │   ├── PermissionDeniedError   403, or the server's 302 to /accounts/login/ (admin-only calls)
    │   ├── NotFoundError           404 meaning "no such thing"
    │   │   └── TargetNotFoundError the named target does not exist (names are exact)
    │   ├── ValidationError         400, and the server's 404-for-validation answers
    │   │   ├── CameraNotFavouriteError  the camera (ONAME) is not in the caller's favourites
    │   │   └── ObserverUnknownError     an observer username does not exist
    │   ├── RateLimitError          429; `retry_after` in seconds
    │   └── ServerError             5xx; an HTML page is reduced to a short snippet
    ├── ResponseDecodeError         a 2xx answer that is not the JSON shape we expect
    │   └── ResponseTooLargeError   an answer larger than the client's `max_response_bytes`
    ├── TransportError              the request never got a complete answer
    │   ├── ConnectError            nothing reached the server (safe to retry anything)
    │   └── APITimeoutError         connect, read, write or pool timeout (also builtins.TimeoutError)
    ├── UploadOutcomeUnknown        an upload's body was sent but its answer was lost
    └── JournalError                the upload journal cannot be used (damaged, read-only, disk full)
        └── JournalBusyError        another job is using the journal

Every error's `str()` is one sentence that names the call and, where it is knowable, what to do
next: `headline` is that sentence without the advice, `hint` the advice for Python callers and
`cli_hint` the same advice in `bhtom` command terms (None where `hint` already fits both).
No error ever holds the API token.

The server's refusals are classified once, where its answer is parsed (`bhtom_async._status`);
callers branch with `isinstance`, never on message text.
"""

from __future__ import annotations

import builtins
import shlex
from collections.abc import Iterable, Mapping

__all__ = [
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BhtomError",
    "CameraNotFavouriteError",
    "ClientStateError",
    "ConfigurationError",
    "ConnectError",
    "InvalidInputError",
    "JournalBusyError",
    "JournalError",
    "MissingDependencyError",
    "NotFoundError",
    "ObserverUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "TargetNotFoundError",
    "TransportError",
    "UploadOutcomeUnknown",
    "ValidationError",
]


class BhtomError(Exception):
    """Base class of every error raised by bhtom_async.

    Attributes:
        headline: what went wrong, one sentence without the advice.
        hint: what to do next, for Python callers (None when unknown).
        cli_hint: the same advice in `bhtom` command terms, where it differs from `hint`.
    """

    hint: str | None = None
    cli_hint: str | None = None

    @property
    def headline(self) -> str:
        """What went wrong, without the advice (the CLI prints the hint on its own line)."""
        found = self.__dict__.get("_headline")
        if isinstance(found, str):
            return found
        return str(self.args[0]) if self.args else type(self).__name__

    def _set_text(self, headline: str, hint: str | None, cli_hint: str | None = None) -> None:
        """Store the headline and hints, and make `str()` the one-sentence form of both."""
        self._headline = headline.rstrip(". ") + "."
        self.hint = hint
        self.cli_hint = cli_hint
        Exception.__init__(self, _sentence(headline, hint))

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors cannot be replayed from `args`; rebuild from the attributes
        # so errors cross process boundaries (multiprocessing, concurrent.futures) intact.
        return (_rebuild, (type(self), self.__dict__, str(self)))


class ConfigurationError(BhtomError):
    """The client's settings cannot work (no token, malformed URL, token over plain http)."""

    def __init__(self, message: str, *, hint: str | None = None, cli_hint: str | None = None) -> None:
        self.message = message
        self._set_text(message, hint, cli_hint)


class ClientStateError(BhtomError):
    """A `Client` was used after it was closed, or read before it was opened."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self._set_text(message, hint)


class InvalidInputError(BhtomError, ValueError):
    """Arguments the server would refuse, caught before anything was sent."""

    def __init__(self, message: str, *, hint: str | None = None, cli_hint: str | None = None) -> None:
        self.message = message
        self._set_text(message, hint, cli_hint)


class MissingDependencyError(BhtomError, ModuleNotFoundError):
    """A feature needs an optional package that is not installed; `hint` names the extra.

    Also a `ModuleNotFoundError`, so ``except ImportError`` keeps working. `name` is the missing
    module, `extra` the ``bhtom_async`` extra that installs it.
    """

    def __init__(self, feature: str, module: str, *, extra: str = "astro") -> None:
        self.feature = feature
        self.module = module
        self.extra = extra
        self.name = module
        self.path = None
        self._set_text(
            f"{feature} needs {module}, which is not installed",
            f"install it with `pip install 'bhtom_async[{extra}]'`",
        )


class APIError(BhtomError):
    """The server answered `method path` with an error `status`.

    Attributes:
        status: HTTP status code (302 for the server's redirect-to-login refusals).
        message: the server's error, cleaned into one short line.
        method, path: the call that failed (path without host).
        hint: what to do next, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        path: str,
        hint: str | None = None,
        cli_hint: str | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self._set_text(f"{method} {path} → {status}: {message}", hint, cli_hint)


class AuthenticationError(APIError):
    """The token (or the username and password) was refused."""


class PermissionDeniedError(APIError):
    """The account may not do this; most often the call needs a BHTOM admin (staff) account."""


class NotFoundError(APIError):
    """The thing asked for does not exist on the server."""


class TargetNotFoundError(NotFoundError):
    """No target has this exact name. Names are exact and aliases do not match.

    `suggestion` is an existing target whose name differs only in case, when one was found.
    The message leads with what happened; the call and its status (often the server's 500) are
    a detail at the end.
    """

    def __init__(
        self, target: str, *, method: str, path: str, status: int = 404, suggestion: str | None = None
    ) -> None:
        self.target = target
        self.suggestion = suggestion
        guess = f"; did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(
            f"no target named {target!r}: names are exact and case-sensitive{guess}",
            status=status,
            method=method,
            path=path,
        )
        self._set_text(
            f"{self.message} ({method} {path} answered {status})",
            "find it with `bh.targets.list(name=...)` or create it with `bh.targets.create(...)`",
            "find it with `bhtom targets list --name NAME` or create it with "
            "`bhtom targets create NAME --ra RA --dec DEC`",
        )


class ValidationError(APIError):
    """The server refused the request's content. `field_errors` maps field names to messages."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        path: str,
        hint: str | None = None,
        cli_hint: str | None = None,
        field_errors: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.field_errors: Mapping[str, tuple[str, ...]] = dict(field_errors or {})
        super().__init__(message, status=status, method=method, path=path, hint=hint, cli_hint=cli_hint)


class CameraNotFavouriteError(ValidationError):
    """The upload names a camera (ONAME) that is not among the caller's favourite cameras.

    `oname` is the camera, when the call that met the refusal knew it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        path: str,
        oname: str | None = None,
        field_errors: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.oname = oname
        shown = repr(oname) if oname else "'<ONAME>'"
        super().__init__(
            message,
            status=status,
            method=method,
            path=path,
            hint="add the camera to your favourites first: "
            f"`await bh.observatories.add_favourite(oname={shown})`",
            cli_hint="add the camera to your favourites first: "
            f"`bhtom observatories add-favourite {shlex.quote(oname) if oname else 'ONAME'}`",
            field_errors=field_errors,
        )

    def for_camera(self, oname: str) -> CameraNotFavouriteError:
        """The same refusal, naming the camera that was sent (so the hint can name it too)."""
        return CameraNotFavouriteError(
            self.message,
            status=self.status,
            method=self.method,
            path=self.path,
            oname=oname,
            field_errors=self.field_errors,
        )


class ObserverUnknownError(ValidationError):
    """An observer username is not a BHTOM account (usernames are case-sensitive)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        path: str,
        usernames: Iterable[str] = (),
        field_errors: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.usernames = tuple(usernames)
        super().__init__(
            message,
            status=status,
            method=method,
            path=path,
            hint="observers are BHTOM usernames (case-sensitive); admins can list them with "
            "`bh.users.list(username=...)`",
            cli_hint="observers are BHTOM usernames (case-sensitive); admins can list them with "
            "`bhtom users --username NAME`",
            field_errors=field_errors,
        )


class RateLimitError(APIError):
    """429 Too Many Requests. `retry_after` is the server's requested pause in seconds, if any."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 429,
        method: str,
        path: str,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, method=method, path=path, hint=hint)


class ServerError(APIError):
    """A 5xx answer. For an HTML error page, `message` holds a short snippet of its text."""


class ResponseDecodeError(BhtomError):
    """A successful status whose body is not the JSON shape this call expects."""

    def __init__(self, message: str, *, method: str, path: str, status: int, snippet: str) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.snippet = snippet
        self._set_text(
            f"{method} {path} → {status}: {message} (body starts: {snippet!r})",
            "the server may have changed, or base_url points at something that is not BHTOM",
        )


class ResponseTooLargeError(ResponseDecodeError):
    """An answer longer than the client's `max_response_bytes`; reading stopped at the limit."""

    def __init__(self, *, method: str, path: str, status: int, limit: int) -> None:
        self.message = f"the answer is larger than {limit} bytes"
        self.method = method
        self.path = path
        self.status = status
        self.snippet = ""
        self.limit = limit
        self._set_text(
            f"{method} {path} → {status}: {self.message}, so it was not read",
            "narrow the request (filters, fewer ids), or raise Client(max_response_bytes=...)",
            "narrow the request (filters, fewer ids)",
        )


class TransportError(BhtomError):
    """The request did not get a complete answer (connection refused or reset, timeout, TLS).

    `request_sent` is False only when nothing can have reached the server.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        request_sent: bool,
        hint: str | None = None,
        cli_hint: str | None = None,
    ) -> None:
        self.message = message
        self.method = method
        self.path = path
        self.request_sent = request_sent
        self._set_text(f"{method} {path}: {message}", hint, cli_hint)


class ConnectError(TransportError):
    """No connection could be made; nothing was sent."""


class APITimeoutError(TransportError, builtins.TimeoutError):
    """A connect, read, write or pool timeout expired (also a `builtins.TimeoutError`)."""


class UploadOutcomeUnknown(BhtomError):
    """An upload's body was (or may have been) sent, but the answer was lost.

    The server has no idempotency key and does not de-duplicate, so re-sending blindly could
    store the file twice. The bulk uploader looks the file up on the server before deciding.
    """

    def __init__(self, filename: str, *, cause: BhtomError) -> None:
        self.filename = filename
        self.cause = cause
        self._set_text(
            f"upload of {filename!r} may or may not be stored ({cause.headline.rstrip('.')})",
            "check `bh.dataproducts.list(target=...)` before re-sending, or re-run the bulk "
            "uploader with the same journal: it reconciles before retrying",
            "re-run `bhtom upload` with the same --journal: it looks the file up before re-sending",
        )


class JournalError(BhtomError):
    """The upload journal cannot be used: not a journal, unreadable, read-only, or the disk is full.

    Files already journaled stay recorded; the job stops without losing them.
    """

    def __init__(self, path: str, problem: str, hint: str) -> None:
        self.path = path
        self.problem = problem
        self._set_text(f"upload journal {path}: {problem}", hint)


class JournalBusyError(JournalError):
    """Another job is using the upload journal (two jobs on one journal could send a file twice)."""

    def __init__(self, path: str, *, holder: str) -> None:
        self.path = path
        self.holder = holder
        self.problem = f"in use by {holder}"
        self._set_text(
            f"upload journal {path} is in use by {holder}",
            "let that job finish, wait for it with JobOptions(journal_wait=...), or use another journal",
            "let that job finish, wait for it with --journal-wait SECONDS, or use another --journal",
        )


def _sentence(message: str, hint: str | None) -> str:
    message = message.rstrip(". ")
    return f"{message}. Hint: {hint}" if hint else f"{message}."


def _rebuild(cls: type[BhtomError], state: dict[str, object], text: str) -> BhtomError:
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    Exception.__init__(obj, text)
    return obj
