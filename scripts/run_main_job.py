#!/usr/bin/env python
"""Run the main job end to end in one process and check its outputs.

    .venv/bin/python scripts/run_main_job.py [--samples DIR] [--json FILE]

Starts the service on its embedded default (AWS emulator, API on a loopback
port, pipeline worker, output consumer) with a fresh SQLite database in a
temporary folder. Seeds the demo, a terrain mesh and a photograph from
matplotlib's sample data. Runs ``convert-and-preview`` on both through the
API and checks that the GLB loads with trimesh, the PNG opens with Pillow and
both are registered on the asset. It also runs the workflow on every file of a
samples folder and prints a table: file, workflow, status, seconds. The folder
is ``--samples DIR``, else VAMS_SAMPLES_DIR, else ``../shared/samples`` beside
the repository when that exists; ``--no-samples`` skips it.

Exit status: 0 when the demo runs succeed and every succeeded run has valid
outputs, 1 otherwise, 2 for bad arguments.
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = REPOSITORY.parent / "shared" / "samples"
SAMPLES_ASSET_ID = "main-job-samples"


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples",
        type=Path,
        default=os.environ.get("VAMS_SAMPLES_DIR") or None,
        help="Folder of sample files to run the workflow on as well.",
    )
    parser.add_argument(
        "--no-samples",
        action="store_true",
        help="Run only the demo files, even when a samples folder exists.",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="Seconds to wait for each batch of executions to stop (default 300).",
    )
    parser.add_argument(
        "--json", type=Path, help="Also write the results to this JSON file."
    )
    parser.add_argument(
        "--database-url",
        help="Use this database instead of a fresh SQLite file. It is migrated and written to.",
    )
    arguments = parser.parse_args()
    if arguments.no_samples:
        arguments.samples = None
    elif arguments.samples is None and SHARED_SAMPLES.is_dir():
        arguments.samples = SHARED_SAMPLES
    return arguments


def configure_environment(arguments: argparse.Namespace, work_folder: Path) -> None:
    """Point Django at a private database and at the emulator this script starts."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "vams.settings"
    os.environ["VAMS_VAR_DIR"] = str(work_folder)
    os.environ.pop("VAMS_AWS_ENDPOINT_URL", None)
    # Warnings and errors only, so the tables stay readable.
    os.environ.setdefault("VAMS_LOG_LEVEL", "WARNING")
    if arguments.database_url:
        os.environ["DATABASE_URL"] = arguments.database_url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{work_folder / 'db.sqlite3'}"
    sys.path.insert(0, str(REPOSITORY))


def start_service(stdout):
    """Migrate, then start the emulator and the background workers.

    Returns their handles.
    """
    from django.core.management import call_command

    from executions.startup import start_output_consumer
    from vams.aws import emulator
    from workflows.builtin import mainjob
    from workflows.builtin.startup import (
        register_builtin_pipelines_step,
        seed_demo_step,
        start_pipeline_worker_step,
    )

    call_command("migrate", interactive=False, verbosity=0)
    aws = emulator.start_emulator()
    emulator.provision_core_resources()
    user = mainjob.job_user()
    register_builtin_pipelines_step(stdout)
    seed_demo_step(stdout)
    start_pipeline_worker_step(stdout)
    start_output_consumer(stdout)
    server = mainjob.start_api_server()
    stdout.write(f"  API: {server.base_url}\n")
    return aws, server, user


def run(arguments: argparse.Namespace) -> int:
    from workflows.builtin import demo, mainjob

    stdout = _LineWriter()
    aws, server, user = start_service(stdout)
    try:
        api = mainjob.ApiClient(server.base_url, user)
        demo_asset = mainjob.ensure_asset(
            demo.DEMO_DATABASE_ID, demo.DEMO_ASSET_ID, "demo"
        )
        print("\nDemo: convert-and-preview on the terrain mesh and the photograph")
        results = mainjob.run_workflow_on_files(
            api,
            demo_asset,
            [demo.DEMO_MESH_PATH, demo.DEMO_IMAGE_PATH],
            workflow_id=demo.DEMO_WORKFLOW_ID,
            workflow_database_id=demo.DEMO_DATABASE_ID,
            timeout_seconds=arguments.timeout,
        )
        print(mainjob.format_table(results))
        demo_ok = all(result.outputs_ok for result in results)

        sample_results = []
        if arguments.samples:
            sample_results = run_samples(
                api, user, arguments.samples, arguments.timeout
            )
            print(f"\nSamples from {arguments.samples}:")
            print(mainjob.format_table(sample_results))
            succeeded = sum(
                1 for result in sample_results if result.status == "SUCCEEDED"
            )
            print(f"{succeeded} of {len(sample_results)} sample runs succeeded.")
        outputs_ok = all(
            not result.problems
            for result in sample_results
            if result.status == "SUCCEEDED"
        )
        if arguments.json:
            arguments.json.write_text(
                json.dumps(
                    {
                        "demo": [asdict(result) for result in results],
                        "samples": [asdict(result) for result in sample_results],
                    },
                    indent=2,
                )
            )
    finally:
        server.stop()
        aws.stop()
    if demo_ok and outputs_ok:
        print("\nMain job passed.")
        return 0
    print("\nMain job FAILED: see the notes column above.")
    return 1


def run_samples(api, user, folder: Path, timeout: float) -> list:
    """Add every sample file to one asset and run the demo workflow on each."""
    from workflows.builtin import demo, mainjob

    if not folder.is_dir():
        raise SystemExit(f"--samples {folder} is not a folder.")
    files = mainjob.sample_files(folder)
    asset = mainjob.ensure_asset(
        demo.DEMO_DATABASE_ID, SAMPLES_ASSET_ID, "Sample files"
    )
    mainjob.add_files(
        asset, {name: path.read_bytes() for name, path in files.items()}, user
    )
    return mainjob.run_workflow_on_files(
        api,
        asset,
        list(files),
        workflow_id=demo.DEMO_WORKFLOW_ID,
        workflow_database_id=demo.DEMO_DATABASE_ID,
        timeout_seconds=timeout,
    )


class _LineWriter:
    """Stream for the startup steps' output that prints one line per write."""

    def write(self, text: str) -> None:
        print(text.rstrip("\n"))


def main() -> int:
    arguments = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="vams-main-job-") as work_folder:
        configure_environment(arguments, Path(work_folder))
        import django

        django.setup()
        # moto logs every failed state at ERROR, and the table already reports failures.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        started = time.monotonic()
        status = run(arguments)
        print(f"Total time: {time.monotonic() - started:.1f} s")
        return status


if __name__ == "__main__":
    sys.exit(main())
