"""boto3 clients built from settings when first used, never at import time.

This package is the only one that imports boto3 or botocore. The clients point
at ``VAMS_AWS_ENDPOINT_URL`` when it is set (the embedded emulator) and at real
AWS otherwise.
"""

import threading

import boto3
from botocore.config import Config
from django.conf import settings

_lock = threading.Lock()
_clients: dict[str, object] = {}

CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=70,
    retries={"max_attempts": 3, "mode": "standard"},
)


def get_client(service: str):
    """Return the shared boto3 client for ``service`` (boto3 clients are thread-safe)."""
    with _lock:
        client = _clients.get(service)
        if client is None:
            client = boto3.session.Session().client(
                service,
                region_name=settings.VAMS_AWS_REGION,
                endpoint_url=settings.VAMS_AWS_ENDPOINT_URL,
                config=CLIENT_CONFIG,
            )
            _clients[service] = client
        return client


def use_endpoint(endpoint_url: str | None) -> None:
    """Point every AWS client, django-storages included, at ``endpoint_url``.

    Used when the embedded emulator starts after settings were loaded.
    """
    from django.core.files.storage import storages

    settings.VAMS_AWS_ENDPOINT_URL = endpoint_url
    settings.AWS_S3_ENDPOINT_URL = endpoint_url
    reset_clients()
    # The storage handler caches backends that captured the old endpoint.
    storages._storages.clear()


def reset_clients() -> None:
    with _lock:
        _clients.clear()
