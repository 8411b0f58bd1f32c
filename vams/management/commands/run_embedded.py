"""Run the whole service locally on its embedded default."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import RefreshToken

from vams.aws import emulator

logger = logging.getLogger(__name__)

LOCAL_ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Migrate the database, start the embedded AWS emulator, provision it and "
        "serve the API and admin on a loopback address."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="Host and port to serve on."
        )
        parser.add_argument(
            "--emulator-port",
            type=int,
            default=0,
            help="Port for the AWS emulator (default 0, which picks a free port).",
        )
        parser.add_argument(
            "--admin-password",
            default="admin",
            help="Password given to the local 'admin' superuser when it is created.",
        )

    def handle(self, *args, **options) -> None:
        if settings.VAMS_AWS_ENDPOINT_URL:
            raise CommandError(
                "VAMS_AWS_ENDPOINT_URL is set, but run_embedded starts its own emulator. "
                "Unset it, or use 'manage.py runserver' against that endpoint."
            )
        call_command("migrate", interactive=False, verbosity=0)
        aws = emulator.start_emulator(port=options["emulator_port"] or None)
        emulator.provision_core_resources()
        # The admin exists before the steps, so the demo step can own its files.
        admin = self._ensure_local_admin(options["admin_password"])
        for step in startup_steps():
            step(self.stdout)
        self._print_banner(options["addr"], aws.endpoint_url, admin, options["admin_password"])
        try:
            # The embedded default runs with DEBUG off, and runserver then serves
            # static files (admin CSS, Swagger UI) only with insecure_serving.
            call_command(
                "runserver", options["addr"], use_reloader=False, insecure_serving=True
            )
        finally:
            aws.stop()

    def _ensure_local_admin(self, password: str):
        user_model = get_user_model()
        admin, created = user_model.objects.get_or_create(
            username=LOCAL_ADMIN_USERNAME,
            defaults={"is_staff": True, "is_superuser": True},
        )
        if created:
            admin.set_password(password)
            admin.save()
        return admin

    def _print_banner(self, addr: str, endpoint_url: str, admin, password: str) -> None:
        token = RefreshToken.for_user(admin).access_token
        base = f"http://{addr}"
        self.stdout.write(self.style.SUCCESS(f"vams-workflows listening on {base}"))
        self.stdout.write(f"  AWS emulator:  {endpoint_url}")
        self.stdout.write(f"  Admin:         {base}/admin/  (user 'admin', password '{password}')")
        self.stdout.write(f"  Access token:  {token}")
        self.stdout.write(
            f"  New token:     curl -s -X POST {base}/auth/token/ "
            "-H 'Content-Type: application/json' "
            f"-d '{{\"username\": \"admin\", \"password\": \"{password}\"}}'"
        )
        self.stdout.write(
            f"  Try:           curl -s {base}/workflows -H 'Authorization: Bearer {token}'"
        )
        from workflows.builtin.demo import demo_execute_command

        demo = demo_execute_command(base, str(token))
        if demo:
            self.stdout.write(f"  Run the demo:  {demo}")


def startup_steps() -> list:
    """Return the steps that prepare the emulator after it starts, in order.

    Each step takes the command's stdout. Apps register theirs here.
    """
    from executions.startup import start_execution_sync, start_output_consumer
    from workflows.builtin.startup import (
        register_builtin_pipelines_step,
        seed_demo_step,
        start_pipeline_worker_step,
    )

    return [
        reconcile_state_machines,
        register_builtin_pipelines_step,
        seed_demo_step,
        start_pipeline_worker_step,
        start_output_consumer,
        start_execution_sync,
    ]


def reconcile_state_machines(stdout) -> None:
    """Create the state machines of the stored workflows, because the emulator starts empty."""
    call_command("reconcile_state_machines", stdout=stdout)
