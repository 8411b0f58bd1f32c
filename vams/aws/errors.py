"""One error type for AWS failures, so callers never catch botocore types."""

from botocore.exceptions import BotoCoreError, ClientError

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)


class AwsError(Exception):
    """An AWS call failed: ``code`` is AWS's error code, or the botocore class name."""

    def __init__(self, service: str, operation: str, code: str, message: str, request_id: str = "") -> None:
        super().__init__(f"{service} {operation} failed: {code}: {message}")
        self.service = service
        self.operation = operation
        self.code = code
        self.message = message
        self.request_id = request_id

    @property
    def is_throttling(self) -> bool:
        return self.code in THROTTLING_CODES


def translate(service: str, operation: str, exc: Exception) -> AwsError:
    """Return the AwsError for a botocore exception raised by ``operation``."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        metadata = exc.response.get("ResponseMetadata", {})
        return AwsError(
            service,
            operation,
            error.get("Code", "Unknown"),
            error.get("Message", ""),
            metadata.get("RequestId", ""),
        )
    if isinstance(exc, BotoCoreError):
        return AwsError(service, operation, type(exc).__name__, str(exc))
    raise TypeError(f"not a botocore exception: {exc!r}")


AWS_EXCEPTIONS = (ClientError, BotoCoreError)
