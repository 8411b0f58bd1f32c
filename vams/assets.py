"""Asset file services: upload a file into an asset and record it.

Asset files are S3 objects in the asset bucket under the asset's base key, and
an ``AssetFile`` row records each one. ``asset_file_add`` is the single upload path
for the admin, the ``add_asset_file`` command and other callers, and it starts
the auto-triggered workflows after the row is committed.
"""

import logging
import mimetypes
import posixpath

from django.conf import settings
from django.db import transaction

from authz.services import authz_check
from vams.aws import s3
from vams.aws.errors import AwsError
from vams.exceptions import Forbidden, InvalidInput, Throttled, UpstreamFailure
from vams.models import Asset, AssetFile

logger = logging.getLogger(__name__)

NOT_AUTHORIZED = "Not Authorized"
INVALID_RELATIVE_PATH = (
    "The file path {value!r} is invalid: use a relative path such as 'models/part.glb' "
    "without '..' segments, backslashes, NUL or a trailing '/'."
)
EXTENSION_NOT_ALLOWED = (
    "Files with extension {extension!r} cannot be added to database {database_id!r}; "
    "it accepts only {allowed}."
)
UPLOAD_FAILED = "Uploading {key!r} to S3 failed ({code}); the file was not added."
UPLOAD_THROTTLED = "S3 throttled the upload of {key!r}; retry later."

ASSET_TYPE_NONE = "none"
ASSET_TYPE_FOLDER = "folder"


def asset_authz_object(asset: Asset) -> dict:
    """Return the tier-2 authorization object that describes ``asset``."""
    return {
        "object__type": "asset",
        "databaseId": asset.database_id,
        "assetId": asset.asset_id,
        "assetName": asset.asset_name,
        "assetType": asset.asset_type,
        "tags": list(asset.tags or []),
    }


def file_extension(path: str) -> str:
    """Return the lower-case extension of the path's last segment without the dot, or ""."""
    name = path.rsplit("/", 1)[-1]
    if "." not in name:
        return ""
    return name.rsplit(".", 1)[-1].lower()


def allowed_extensions(asset: Asset) -> set[str]:
    """Return the database's allowed upload extensions without dots (empty allows all)."""
    raw = asset.database.restrict_file_uploads_to_extensions or ""
    return {piece.strip().lstrip(".").lower() for piece in raw.split(",") if piece.strip()}


def is_extension_allowed(asset: Asset, path: str) -> bool:
    allowed = allowed_extensions(asset)
    return not allowed or file_extension(path) in allowed


def _check_relative_path(relative_path: str) -> str:
    path = relative_path.lstrip("/") if isinstance(relative_path, str) else ""
    segments = path.split("/")
    if (
        not path
        or path.endswith("/")
        or "\\" in path
        or "\x00" in path
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise InvalidInput(INVALID_RELATIVE_PATH.format(value=relative_path))
    return path


def asset_refresh_type(asset: Asset) -> str:
    """Recompute ``asset_type`` from the asset's files and save it when it changed.

    One file gives its extension with a dot (".glb"), several give "folder" and
    none give "none".
    """
    keys = list(asset.files.values_list("key", flat=True)[:2])
    if not keys:
        asset_type = ASSET_TYPE_NONE
    elif len(keys) == 1:
        extension = file_extension(keys[0])
        asset_type = f".{extension}" if extension else ASSET_TYPE_NONE
    else:
        asset_type = ASSET_TYPE_FOLDER
    if asset.asset_type != asset_type:
        asset.asset_type = asset_type
        asset.save(update_fields=["asset_type"])
    return asset_type


def asset_file_record(
    *,
    asset: Asset,
    key: str,
    size: int,
    content_type: str,
    source: str = AssetFile.Source.UPLOAD,
    execution_id: str = "",
) -> AssetFile:
    """Create or update the ``AssetFile`` row for an object already stored at ``key``."""
    asset_file, _ = AssetFile.objects.update_or_create(
        asset=asset,
        key=key,
        defaults={
            "size": size,
            "content_type": content_type,
            "source": source,
            "execution_id": execution_id,
        },
    )
    return asset_file


def asset_file_add(*, asset: Asset, relative_path: str, content: bytes, user) -> AssetFile:
    """Upload ``content`` to ``<base key><relative_path>`` and record it on the asset.

    Requires tier-2 PUT on the asset (Forbidden otherwise) and an extension the
    asset's database accepts (InvalidInput). An existing file at that path is
    replaced. After the row commits, every workflow whose auto-trigger
    extensions match the file starts on it as ``user``.
    """
    from executions.autotrigger import asset_file_added

    path = _check_relative_path(relative_path)
    if not authz_check(user=user, obj=asset_authz_object(asset), action="PUT"):
        raise Forbidden(NOT_AUTHORIZED)
    if not is_extension_allowed(asset, path):
        raise InvalidInput(
            EXTENSION_NOT_ALLOWED.format(
                extension=file_extension(path) or "(none)",
                database_id=asset.database_id,
                allowed=", ".join(sorted(allowed_extensions(asset))),
            )
        )
    key = asset.base_key + path
    content_type = mimetypes.guess_type(posixpath.basename(path))[0] or ""
    with transaction.atomic():
        asset_file = asset_file_record(
            asset=asset, key=key, size=len(content), content_type=content_type
        )
        asset_refresh_type(asset)
        # The upload is the last step, so an S3 failure rolls the row back.
        _upload(key=key, content=content, content_type=content_type)
        transaction.on_commit(lambda: asset_file_added(asset_file, user=user))
    logger.info(
        "Added asset file database_id=%s asset_id=%s key=%s size=%d",
        asset.database_id,
        asset.asset_id,
        key,
        len(content),
    )
    return asset_file


def _upload(*, key: str, content: bytes, content_type: str) -> None:
    try:
        s3.put_object(
            bucket=settings.VAMS_ASSET_BUCKET,
            key=key,
            body=content,
            content_type=content_type,
        )
    except AwsError as error:
        if error.is_throttling:
            raise Throttled(UPLOAD_THROTTLED.format(key=key)) from error
        raise UpstreamFailure(UPLOAD_FAILED.format(key=key, code=error.code)) from error
