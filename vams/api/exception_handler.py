"""Map every error, DRF's own included, onto the documented ``{"message": ...}`` body."""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from vams.api.envelope import envelope
from vams.exceptions import DomainError

logger = logging.getLogger(__name__)

NOT_AUTHORIZED = "Not Authorized"
INTERNAL_ERROR = "Internal Server Error"
INVALID_JSON = "Invalid JSON in request body."
BODY_TOO_LARGE = "Request body is larger than {limit} bytes; send a smaller body."
CREDENTIALS_MISSING = (
    "Authentication credentials were not provided; "
    "send 'Authorization: Bearer <token>'."
)
BEARER_TOKEN_INVALID = (
    "The bearer token is invalid or expired; obtain a new one at /auth/token/."
)
# simplejwt rejects a wrong password and an inactive account with the same error.
LOGIN_FAILED = "Invalid username or password, or the account is inactive."
REFRESH_TOKEN_INVALID = (
    "The refresh token is invalid or expired; log in again at POST /auth/token/."
)


def handle_api_exception(exc: Exception, context: dict) -> Response:
    """Return the enveloped response for ``exc``, so no error becomes a bare 500."""
    view = context.get("view")
    if isinstance(exc, DomainError):
        if exc.status_code >= 500:
            logger.error(
                "Request failed in %s code=%s message=%s",
                type(view).__name__,
                exc.code,
                exc.message,
            )
        return envelope(exc.message, status=exc.status_code)

    if isinstance(
        exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)
    ):
        response = envelope(_authentication_message(exc, view), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return envelope(NOT_AUTHORIZED, status=403)
    if isinstance(exc, drf_exceptions.ParseError):
        return envelope(INVALID_JSON, status=400)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return envelope(BODY_TOO_LARGE.format(limit=limit), status=413)
    if isinstance(exc, drf_exceptions.Throttled):
        return envelope("Too many requests; retry later.", status=429)
    if isinstance(exc, drf_exceptions.APIException):
        return envelope(_flatten_detail(exc.detail), status=exc.status_code)

    logger.exception("Unhandled error in %s", type(view).__name__)
    return envelope(INTERNAL_ERROR, status=500)


def _authentication_message(exc: drf_exceptions.APIException, view) -> str:
    """Return the 401 message for ``exc``, worded for the view that raised it.

    The token views read credentials from the body, not the Authorization
    header, so their failures get messages about the password or refresh token.
    """
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        return CREDENTIALS_MISSING
    if isinstance(view, TokenObtainPairView):
        return LOGIN_FAILED
    if isinstance(view, TokenRefreshView):
        return REFRESH_TOKEN_INVALID
    return BEARER_TOKEN_INVALID


def _flatten_detail(detail) -> str:
    """Return DRF error details as one sentence naming the fields."""
    if isinstance(detail, dict):
        parts = [
            f"{field}: {_flatten_detail(value)}" for field, value in detail.items()
        ]
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten_detail(item) for item in detail)
    return str(detail)
