"""The catalog: databases, the assets in them, and the files of each asset.

Asset files are plain S3 objects in the asset bucket under the asset's base key.
``AssetFile`` rows record which objects belong to the asset and where each came
from (an upload or a workflow execution).
"""

from django.conf import settings
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models

ID_PATTERN = r"^[-_a-zA-Z0-9]{3,63}$"
# 2 to 255 characters, none of them <>:"/\|?*. All but the last are letters,
# digits, "_", whitespace, ".", ",", "'" or "-". The last may be any character
# except "." and whitespace.
ASSET_ID_PATTERN = r"^(?!.*[<>:\"\/\\|?*])(?!.*[.\s]$)[\w\s.,'-]{1,254}[^.\s]$"
GLOBAL = "GLOBAL"


class Database(models.Model):
    database_id = models.CharField(
        primary_key=True,
        max_length=63,
        validators=[RegexValidator(ID_PATTERN)],
        help_text="3 to 63 letters, digits, '-' or '_'. GLOBAL is reserved.",
    )
    description = models.CharField(
        max_length=256, validators=[MinLengthValidator(4)]
    )
    restrict_file_uploads_to_extensions = models.CharField(
        max_length=512,
        blank=True,
        default="",
        help_text="Comma-separated extensions allowed for uploads; blank allows all.",
    )
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["database_id"]

    def __str__(self) -> str:
        return self.database_id

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.database_id.strip().lower() == GLOBAL.lower():
            raise ValidationError(
                {"database_id": "GLOBAL is reserved and cannot name a database."}
            )


class Asset(models.Model):
    database = models.ForeignKey(
        Database, on_delete=models.PROTECT, related_name="assets"
    )
    asset_id = models.CharField(
        max_length=255, validators=[RegexValidator(ASSET_ID_PATTERN)]
    )
    asset_name = models.CharField(max_length=256)
    description = models.CharField(max_length=256, blank=True, default="")
    is_distributable = models.BooleanField(default=False)
    tags = models.JSONField(default=list, blank=True)
    asset_type = models.CharField(max_length=32, blank=True, default="none")
    base_key = models.CharField(
        max_length=1024,
        blank=True,
        help_text="S3 key prefix of the asset's files; defaults to '<asset id>/'.",
    )
    preview_key = models.CharField(max_length=1024, blank=True, default="")
    date_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["database_id", "asset_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["database", "asset_id"], name="asset_unique_per_database"
            )
        ]

    def __str__(self) -> str:
        return f"{self.database_id}/{self.asset_id}"

    def save(self, *args, **kwargs) -> None:
        if not self.base_key:
            self.base_key = f"{self.asset_id}/"
        elif not self.base_key.endswith("/"):
            self.base_key += "/"
        self.base_key = self.base_key.lstrip("/")
        super().save(*args, **kwargs)

    @property
    def bucket_name(self) -> str:
        return settings.VAMS_ASSET_BUCKET


class AssetFile(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload"
        PIPELINE = "pipeline", "Pipeline output"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="files")
    key = models.CharField(
        max_length=1024, help_text="Full S3 key in the asset bucket."
    )
    size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=128, blank=True, default="")
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.UPLOAD
    )
    execution_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The execution that produced this file, for pipeline outputs.",
    )
    date_created = models.DateTimeField(auto_now_add=True)
    date_modified = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "key"], name="asset_file_unique_key"
            )
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def relative_path(self) -> str:
        """Return the key below the asset's base key, with a leading '/'."""
        return "/" + self.key[len(self.asset.base_key) :]
