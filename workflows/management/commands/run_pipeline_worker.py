"""Run the built-in pipelines from their SQS queues."""

import threading

from django.core.management.base import BaseCommand, CommandError

from vams.aws import sqs
from vams.aws.errors import AwsError
from workflows.builtin import worker
from workflows.builtin.pipelines import BUILTIN_PIPELINES, BuiltinPipeline


class Command(BaseCommand):
    help = (
        "Consume the built-in pipelines' queues, run each step and report its "
        "result to Step Functions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Process the messages waiting now on each queue, then exit.",
        )
        parser.add_argument(
            "--queues",
            nargs="+",
            metavar="PIPELINE_ID",
            help="Pipeline ids whose queues are consumed (default: all built-in).",
        )
        parser.add_argument(
            "--wait-seconds",
            type=int,
            default=10,
            help="SQS long-poll wait per receive, in seconds (0 to 20).",
        )

    def handle(self, *args, **options) -> None:
        pipelines = _selected_pipelines(options["queues"])
        wait_seconds = options["wait_seconds"]
        if not 0 <= wait_seconds <= 20:
            raise CommandError("--wait-seconds must be between 0 and 20.", returncode=2)
        if options["once"]:
            self._run_once(pipelines, min(wait_seconds, 1), options["verbosity"])
            return
        stop = threading.Event()
        try:
            threads = worker.start_worker_threads(
                pipelines, stop, wait_seconds=wait_seconds
            )
        except AwsError as error:
            raise CommandError(_queue_error(error)) from error
        names = ", ".join(pipeline.pipeline_id for pipeline in pipelines)
        self.stdout.write(f"Worker running for {names}; press Ctrl+C to stop.")
        try:
            while any(thread.is_alive() for thread in threads):
                stop.wait(1)
        except KeyboardInterrupt:
            self.stdout.write("Stopping the worker after the current messages.")
        finally:
            stop.set()
            for thread in threads:
                thread.join()

    def _run_once(
        self, pipelines: list[BuiltinPipeline], wait_seconds: int, verbosity: int
    ) -> None:
        total = 0
        for pipeline in pipelines:
            try:
                url = sqs.queue_url(pipeline.queue_name)
                handled = worker.poll_queue(pipeline, url, wait_seconds=wait_seconds)
            except AwsError as error:
                raise CommandError(_queue_error(error)) from error
            total += handled
            if verbosity >= 2:
                self.stdout.write(f"{pipeline.pipeline_id}: {handled} message(s)")
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"Processed {total} message(s)."))


def _selected_pipelines(pipeline_ids: list[str] | None) -> list[BuiltinPipeline]:
    if not pipeline_ids:
        return list(BUILTIN_PIPELINES)
    known = {pipeline.pipeline_id: pipeline for pipeline in BUILTIN_PIPELINES}
    unknown = [pipeline_id for pipeline_id in pipeline_ids if pipeline_id not in known]
    if unknown:
        raise CommandError(
            f"Unknown pipeline id(s): {', '.join(unknown)}. "
            f"Built-in pipelines are {', '.join(known)}.",
            returncode=2,
        )
    return [known[pipeline_id] for pipeline_id in pipeline_ids]


def _queue_error(error: AwsError) -> str:
    return (
        f"Reading a pipeline queue failed ({error.code}: {error.message}). "
        "Run 'manage.py register_builtin_pipelines' to create the queues."
    )
