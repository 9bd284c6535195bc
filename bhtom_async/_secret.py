"""A wrapper that keeps the API token out of reprs, logs, tracebacks and pickles."""

from __future__ import annotations

from typing import NoReturn, final

__all__ = ["Secret"]


@final
class Secret:
    """Holds a secret string; `repr()` and `str()` show ``***``.

    Only the HTTP layer calls `reveal()`, to build the ``Authorization`` header.

    Example:
        >>> Secret("abc")
        Secret('***')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("a secret must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        """Return the secret itself. Call it only where the value must leave the process."""
        return self._value

    def masked(self) -> str:
        """A hint for humans: the last four characters, the rest hidden (``****…1a2b``)."""
        return "****…" + self._value[-4:] if len(self._value) > 8 else "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        # Pickling would write the token to disk or a queue; refuse rather than leak.
        raise TypeError("Secret cannot be pickled")
