"""The error types services raise: ApplicationError, mapped to a stable JSON shape by the API, and
Refused, for a limit or a check a caller may try again after (`retry_after` seconds)."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule said no; `code` is stable for clients, `message` is for people."""

    def __init__(self, message: str, code: str = "invalid", fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or {}


class Refused(Exception):
    """Not now or not this: `code` for programs, `message` for people, `retry_after` seconds (0: no
    point waiting). The chat widget's refusals and one-time codes' are these."""

    def __init__(self, code: str, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
