"""Domain errors raised by services and mapped to API responses in one place.

Each error carries the one-sentence ``message`` that the API returns under
``{"message": ...}``, a stable snake_case ``code`` for logs and tests, and the
HTTP status the documented API uses for it.
"""


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


class InvalidInput(DomainError):
    """The request is malformed or breaks a rule (400)."""

    default_code = "invalid"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Forbidden(DomainError):
    """The caller may not do this (403)."""

    status_code = 403
    default_code = "not_authorized"


class Throttled(DomainError):
    """AWS throttled the request, so the caller should retry later (429)."""

    status_code = 429
    default_code = "throttled"


class UpstreamFailure(DomainError):
    """An AWS call that the response depends on failed (500), so nothing was changed."""

    status_code = 500
    default_code = "upstream_failure"
