"""The S3 gateway for asset and pipeline-output objects."""

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings

from vams.aws.clients import get_client
from vams.aws.errors import AWS_EXCEPTIONS, AwsError, translate

logger = logging.getLogger(__name__)

SERVICE = "s3"
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str = ""


def _call(operation: str, **kwargs):
    try:
        return getattr(get_client(SERVICE), operation)(**kwargs)
    except AWS_EXCEPTIONS as exc:
        error = translate(SERVICE, operation, exc)
        if error.code not in MISSING_CODES:
            logger.warning("S3 %s failed code=%s", operation, error.code)
        raise error from exc


def ensure_bucket(name: str) -> None:
    """Create the bucket unless it exists already."""
    try:
        _call("head_bucket", Bucket=name)
        return
    except AwsError as error:
        if error.code not in MISSING_CODES:
            raise
    kwargs = {"Bucket": name}
    if settings.VAMS_AWS_REGION != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {
            "LocationConstraint": settings.VAMS_AWS_REGION
        }
    _call("create_bucket", **kwargs)
    logger.info("Created bucket name=%s", name)


def head_object(*, bucket: str, key: str) -> ObjectInfo | None:
    """Return the object's size and type, or None when it does not exist."""
    try:
        response = _call("head_object", Bucket=bucket, Key=key)
    except AwsError as error:
        if error.code in MISSING_CODES:
            return None
        raise
    return ObjectInfo(
        key=key,
        size=response.get("ContentLength", 0),
        content_type=response.get("ContentType", ""),
    )


def put_object(*, bucket: str, key: str, body: bytes, content_type: str = "") -> None:
    kwargs = {"Bucket": bucket, "Key": key, "Body": body}
    if content_type:
        kwargs["ContentType"] = content_type
    _call("put_object", **kwargs)


def get_object_bytes(*, bucket: str, key: str) -> bytes:
    return _call("get_object", Bucket=bucket, Key=key)["Body"].read()


def download_file(*, bucket: str, key: str, path: str) -> None:
    try:
        get_client(SERVICE).download_file(bucket, key, path)
    except AWS_EXCEPTIONS as exc:
        raise translate(SERVICE, "download_file", exc) from exc


def upload_file(*, bucket: str, key: str, path: str, content_type: str = "") -> None:
    extra = {"ContentType": content_type} if content_type else None
    try:
        get_client(SERVICE).upload_file(path, bucket, key, ExtraArgs=extra)
    except AWS_EXCEPTIONS as exc:
        raise translate(SERVICE, "upload_file", exc) from exc


def copy_object(*, bucket: str, source_key: str, target_key: str) -> None:
    _call(
        "copy_object",
        Bucket=bucket,
        Key=target_key,
        CopySource={"Bucket": bucket, "Key": source_key},
    )


def delete_object(*, bucket: str, key: str) -> None:
    _call("delete_object", Bucket=bucket, Key=key)


def list_objects(*, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
    """Yield every object under ``prefix``, folder markers included."""
    token = None
    while True:
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        response = _call("list_objects_v2", **kwargs)
        for item in response.get("Contents", []):
            yield ObjectInfo(key=item["Key"], size=item.get("Size", 0))
        if not response.get("IsTruncated"):
            return
        token = response.get("NextContinuationToken")
