"""The one exception type for bad input: it names the request field and says what to do."""
from __future__ import annotations


ERROR_SCHEMA = 3  # request.SCHEMA, written here so every module can answer an error without a cycle


def error_result(message: str, field: str | None = None, too_long: dict | None = None) -> dict:
    """The one shape of an error answer: {schema, ok: false, error: {field, message}}; text past a
    model's limit adds error.too_long: {tokens, limit}, so a page can offer the first `limit`."""
    error = {"field": field, "message": message}
    if too_long is not None:
        error["too_long"] = too_long
    return {"schema": ERROR_SCHEMA, "ok": False, "error": error}


class RequestError(ValueError):
    """Bad input from a person (or a page): `field` is the request field at fault, or None."""

    def __init__(self, message: str, field: str | None = None, too_long: dict | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.too_long = too_long  # {tokens, limit} for text past a model's limit


class ModelFileError(Exception):
    """A weight, vocabulary or manifest file that is missing, damaged or of a kind we do not read.
    Reported to the reader as a `model` error that names the file."""

    def __init__(self, file: str, message: str) -> None:
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


def read_model_file(path: str) -> tuple[bytes, str]:
    """(the bytes of a model file, its name for messages); ModelFileError naming it if unreadable."""
    file = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    try:
        with open(path, "rb") as f:
            return f.read(), file
    except OSError as e:
        raise ModelFileError(file, f"cannot be read ({e.strerror or e})") from None
