"""manage.py add_asset_file: upload a local file into an asset."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vams.assets import asset_file_add
from vams.exceptions import DomainError
from vams.models import Asset


class Command(BaseCommand):
    help = (
        "Upload a local file into an asset and start the workflows that auto-trigger on "
        "its extension."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("database_id", help="Database id of the asset.")
        parser.add_argument("asset_id", help="Asset id.")
        parser.add_argument("path", help="Local file to upload.")
        parser.add_argument(
            "--as",
            dest="relative_path",
            default=None,
            help="Path of the file inside the asset, such as models/part.glb (default: the file name).",
        )
        parser.add_argument(
            "--user",
            default="admin",
            help="Username of the uploader. Auto-triggered executions run as this user.",
        )

    def handle(self, *args, **options) -> None:
        source = Path(options["path"])
        if not source.is_file():
            raise CommandError(f"{source} is not a readable file.", returncode=2)
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(
                f"User {options['user']!r} was not found; pass --user with an existing username.",
                returncode=2,
            )
        asset = Asset.objects.filter(
            database_id=options["database_id"], asset_id=options["asset_id"]
        ).first()
        if asset is None:
            raise CommandError(
                f"Asset {options['asset_id']!r} was not found in database {options['database_id']!r}."
            )
        relative_path = options["relative_path"] or source.name
        try:
            asset_file = asset_file_add(
                asset=asset, relative_path=relative_path, content=source.read_bytes(), user=user
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(f"Added {asset_file.key} ({asset_file.size} bytes)."))
