"""Domain errors: plain exceptions, free of HTTP and WebSocket frameworks.

Services and selectors raise them; the one DRF exception handler
(`marketpulse.api.errors`) and the WebSocket consumers each map them to their envelope.
"""

from typing import Any


class MarketPulseError(Exception):
    """A code, a message for people, optional details, and the HTTP status it means."""

    def __init__(
        self,
        *,
        code: str,
        message: str,
        status: int = 400,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class InvalidInput(MarketPulseError):
    """One field's value cannot be used: a 400 `validation_error` naming the field."""

    def __init__(self, *, field: str, message: str) -> None:
        super().__init__(
            code="validation_error",
            message="The request has invalid fields; see details.",
            details={field: [message]},
        )


class NotFound(MarketPulseError):
    def __init__(self, message: str) -> None:
        super().__init__(code="not_found", message=message, status=404)
