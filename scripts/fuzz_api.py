"""Fuzz every API route for a long run and print the counts.

Starts the service on a loopback port against a throwaway test database and
the embedded AWS emulator, and seeds one database, asset, pipeline and
workflow. Then it sends schemathesis-generated requests (valid and invalid, as
an admin, as a user with no role and without a token) and random save, read,
run, stop and delete sequences until at least --requests were sent. Prints the
number of requests, 5xx responses and schema violations, the status histogram
and one reproducible curl line per distinct failure. Exits 1 when any failure
was found.

Usage: .venv/bin/python scripts/fuzz_api.py [--requests 10000] [--examples 50]
Set DATABASE_URL to run against PostgreSQL. The run uses its own test database.
"""

import argparse
import os
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=10_000,
        help="Minimum number of requests to send before stopping.",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=50,
        help="Generated cases per operation, user and path mode in one round.",
    )
    parser.add_argument(
        "--sequences",
        type=int,
        default=10,
        help="Random workflow lifecycle call sequences per user in one round.",
    )
    return parser.parse_args()


def main() -> int:
    arguments = parse_arguments()
    sys.path.insert(0, str(REPOSITORY))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vams.settings")

    import django

    django.setup()

    from django.db import connection
    from django.test.utils import setup_test_environment

    from vams.aws import emulator

    setup_test_environment()
    database = connection.settings_dict
    if database["ENGINE"] != "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = f"test_vams_fuzz_{os.getpid()}"
    original_name = connection.creation.create_test_db(verbosity=0, serialize=False)
    aws = emulator.start_emulator()
    try:
        emulator.provision_core_resources()
        return run(arguments)
    finally:
        aws.stop()
        connection.creation.destroy_test_db(original_name, verbosity=0)


def run(arguments: argparse.Namespace) -> int:
    from tests.api.fuzzing import (
        FuzzTally,
        fuzz_all,
        fuzz_lifecycle,
        fuzz_linked_sequences,
        load_fuzz_schema,
        seed_fuzz_data,
        seed_workflow,
    )

    users = seed_fuzz_data()
    server = start_server()
    base_url = f"http://{server.host}:{server.port}"
    schema = load_fuzz_schema(base_url)
    tally = FuzzTally()
    started = time.monotonic()
    try:
        rounds = 0
        while tally.requests < arguments.requests:
            rounds += 1
            seed_workflow()
            fuzz_all(schema, users, tally, max_examples=arguments.examples)
            for name in ("admin", "no-role"):
                fuzz_lifecycle(
                    schema, users[name], tally, max_examples=arguments.sequences
                )
                fuzz_linked_sequences(
                    schema, users[name], tally, max_examples=arguments.sequences
                )
            print(f"round {rounds}: requests={tally.requests}", flush=True)
    finally:
        server.terminate()
    elapsed = time.monotonic() - started
    rate = tally.requests / elapsed
    print(f"server {base_url}, {elapsed:.0f} s, {rate:.1f} requests/s")
    print(tally.report())
    return 1 if tally.failures else 0


def start_server():
    """Start Django's live-server thread on 127.0.0.1 with a free port."""
    from django.db import connections
    from django.test.testcases import LiveServerThread

    # An in-memory SQLite test database exists only on this connection, so
    # the server thread must share it, as LiveServerTestCase does.
    shared = {}
    for connection in connections.all():
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            connection.inc_thread_sharing()
            shared[connection.alias] = connection
    server = LiveServerThread(
        "127.0.0.1", lambda handler: handler, connections_override=shared, port=0
    )
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    return server


if __name__ == "__main__":
    sys.exit(main())
