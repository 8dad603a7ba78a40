"""The one error type that services raise, mapped to a stable JSON shape by the API."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule said no; `code` is stable for clients, `message` is for people."""

    def __init__(self, message: str, code: str = "invalid", fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.fields = fields or {}
