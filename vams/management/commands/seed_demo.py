"""Create the demo database, asset and workflow from matplotlib's sample data."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from vams.aws.errors import AwsError
from vams.exceptions import DomainError
from workflows.builtin.demo import seed_demo
from workflows.builtin.pipelines import register_builtin_pipelines


class Command(BaseCommand):
    help = (
        "Register the built-in pipelines, then create the demo database, an asset "
        "with a terrain mesh and a photograph, and the convert-and-preview workflow."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--username",
            default="admin",
            help="Superuser who owns the uploads and the workflow (default: admin).",
        )

    def handle(self, *args, **options) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                f"User {options['username']!r} does not exist. Create it with "
                "'manage.py createsuperuser' or pass --username.",
                returncode=2,
            )
        try:
            register_builtin_pipelines()
            catalog = seed_demo(user=user)
        except DomainError as error:
            raise CommandError(f"Seeding the demo failed: {error}") from error
        except AwsError as error:
            raise CommandError(
                f"Seeding the demo failed: {error.service} {error.operation} "
                f"returned {error.code}."
            ) from error
        if options["verbosity"] >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo ready: database {catalog.database.database_id}, asset "
                    f"{catalog.asset.asset_id} with {catalog.mesh_key} and "
                    f"{catalog.image_key}, workflow {catalog.workflow.workflow_id}."
                )
            )
