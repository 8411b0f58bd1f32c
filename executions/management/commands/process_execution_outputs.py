"""manage.py process_execution_outputs: consume the output-processing queue."""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from executions.outputs import consume_output_messages
from vams.aws.errors import AwsError

logger = logging.getLogger(__name__)

# SQS long polling waits at most 20 seconds per receive.
MAX_WAIT_SECONDS = 20
RETRY_PAUSE_SECONDS = 5


class Command(BaseCommand):
    help = (
        "Receive the output messages of finished workflow executions, register their "
        "outputs on the assets and let the executions finish; runs until interrupted."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Receive one batch of up to 10 messages, process it and exit.",
        )
        parser.add_argument(
            "--wait-seconds",
            type=int,
            default=MAX_WAIT_SECONDS,
            help="Seconds each receive waits for a message (SQS long polling, 0 to 20).",
        )

    def handle(self, *args, **options) -> None:
        wait_seconds = options["wait_seconds"]
        if not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
            raise CommandError(
                f"--wait-seconds must be between 0 and {MAX_WAIT_SECONDS}, not {wait_seconds}.",
                returncode=2,
            )
        if options["once"]:
            try:
                handled = consume_output_messages(max_messages=10, wait_seconds=wait_seconds)
            except AwsError as error:
                raise CommandError(f"Receiving output messages failed: {error}") from error
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.SUCCESS(f"Processed {handled} output message(s)."))
            return
        total = 0
        self.stdout.write("Waiting for output messages; press Ctrl-C to stop.")
        try:
            while True:
                try:
                    total += consume_output_messages(max_messages=10, wait_seconds=wait_seconds)
                except AwsError:
                    logger.exception(
                        "Receiving output messages failed, retrying in %d s",
                        RETRY_PAUSE_SECONDS,
                    )
                    time.sleep(RETRY_PAUSE_SECONDS)
                finally:
                    # A long-running loop must not keep a connection the server closed.
                    close_old_connections()
        except KeyboardInterrupt:
            self.stdout.write(self.style.SUCCESS(f"Stopped after {total} output message(s)."))
