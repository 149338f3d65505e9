"""The one exception type for bad input: it names the request field and says what to do."""
from __future__ import annotations


class RequestError(ValueError):
    """Bad input from a person (or a page): `field` is the request field at fault, or None."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
