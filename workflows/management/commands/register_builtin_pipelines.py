"""Create the built-in pipelines' queues, event rule and GLOBAL rows."""

from django.core.management.base import BaseCommand, CommandError

from vams.aws.errors import AwsError
from workflows.builtin.pipelines import BUILTIN_PIPELINES, register_builtin_pipelines


class Command(BaseCommand):
    help = (
        "Create or update the built-in GLOBAL pipelines, their SQS queues and "
        "their EventBridge rule (safe to run again)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the pipelines and queues to register, without changing them.",
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        if options["dry_run"]:
            for pipeline in BUILTIN_PIPELINES:
                self.stdout.write(
                    f"Would register GLOBAL/{pipeline.pipeline_id} "
                    f"({pipeline.execution_type}) on queue {pipeline.queue_name}"
                )
            return
        try:
            registrations = register_builtin_pipelines()
        except AwsError as error:
            raise CommandError(
                f"Creating a pipeline queue or rule failed ({error.code}: {error.message})."
            ) from error
        created = sum(1 for registration in registrations if registration.created)
        if verbosity >= 2:
            for registration in registrations:
                self.stdout.write(
                    f"GLOBAL/{registration.pipeline.pipeline_id} -> {registration.queue_url}"
                )
        if verbosity >= 1:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Registered {len(registrations)} built-in pipelines "
                    f"({created} created, {len(registrations) - created} updated)."
                )
            )
