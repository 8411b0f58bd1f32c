"""The pipeline payload as a built-in pipeline receives it from its queue.

Step Functions sends every pipeline ``{"body": {...}}`` with the execution's
input and output S3 paths, ``outputType``, ``inputParameters`` and, when the
step waits for a callback, ``TaskToken``. Through SQS the message body is that
document; through an EventBridge rule it is the event, with the document
under ``detail``.
"""

import json
from dataclasses import dataclass

from workflows.builtin.errors import InvalidPayload

S3_SCHEME = "s3://"
REQUIRED_PATH_KEYS = (
    "inputS3AssetFilePath",
    "outputS3AssetFilesPath",
    "outputS3AssetPreviewPath",
    "outputS3AssetMetadataPath",
)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @property
    def is_folder(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


@dataclass(frozen=True)
class PipelineRequest:
    input: S3Location
    files: S3Location
    previews: S3Location
    metadata: S3Location
    output_type: str
    input_parameters: dict
    asset_bucket: str
    input_asset_file_key: str
    input_asset_location_key: str
    execution_id: str

    @property
    def is_first_step(self) -> bool:
        """False for later steps, whose input is the shared files folder."""
        return self.input != self.files

    @property
    def original_input(self) -> S3Location:
        """The asset file (or folder) the execution was started on."""
        return S3Location(bucket=self.asset_bucket, key=self.input_asset_file_key)


def message_body(text: str) -> dict:
    """Return the payload's ``body`` from an SQS message or an EventBridge event."""
    document = _json_object(text, "The message")
    if "detail" in document and "detail-type" in document:
        document = document["detail"]
        if isinstance(document, str):
            document = _json_object(document, "The event's detail")
    body = document.get("body") if isinstance(document, dict) else None
    if isinstance(body, str):
        body = _json_object(body, "The payload's body")
    if not isinstance(body, dict):
        raise InvalidPayload(
            "The message has no 'body' object with the pipeline payload."
        )
    return body


def _json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise InvalidPayload(f"{what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidPayload(f"{what} is not a JSON object.")
    return value


def parse_request(body: dict) -> PipelineRequest:
    """Check the payload body and return its paths and options.

    Raises InvalidPayload naming the first missing or malformed key.
    """
    for key in REQUIRED_PATH_KEYS:
        if not isinstance(body.get(key), str) or not body[key]:
            raise InvalidPayload(f"The payload is missing {key}.")
    output_type = body.get("outputType")
    if not isinstance(output_type, str) or not output_type.startswith("."):
        raise InvalidPayload(
            f"The payload's outputType {output_type!r} is not an extension such as '.glb'."
        )
    files = parse_s3_url(body["outputS3AssetFilesPath"], "outputS3AssetFilesPath")
    return PipelineRequest(
        input=parse_s3_url(body["inputS3AssetFilePath"], "inputS3AssetFilePath"),
        files=files,
        previews=parse_s3_url(
            body["outputS3AssetPreviewPath"], "outputS3AssetPreviewPath"
        ),
        metadata=parse_s3_url(
            body["outputS3AssetMetadataPath"], "outputS3AssetMetadataPath"
        ),
        output_type=output_type.lower(),
        input_parameters=_input_parameters(body.get("inputParameters")),
        asset_bucket=str(body.get("bucketAsset") or files.bucket),
        input_asset_file_key=str(body.get("inputAssetFileKey") or ""),
        input_asset_location_key=str(body.get("inputAssetLocationKey") or ""),
        execution_id=_execution_id(files.key),
    )


def parse_s3_url(url: str, name: str) -> S3Location:
    """Split ``s3://bucket/key`` into bucket and key."""
    if not url.startswith(S3_SCHEME):
        raise InvalidPayload(f"{name} {url!r} is not an s3:// URL.")
    bucket, _, key = url[len(S3_SCHEME) :].partition("/")
    if not bucket:
        raise InvalidPayload(f"{name} {url!r} names no bucket.")
    return S3Location(bucket=bucket, key=key)


def _input_parameters(raw) -> dict:
    """Return ``inputParameters`` as a dict, or {} for blank or non-object text."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _execution_id(files_key: str) -> str:
    """Return the execution name from ``pipelines/<p>/<job>/output/<exec>/files/``."""
    parts = files_key.rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 and parts[-1] == "files" else ""
