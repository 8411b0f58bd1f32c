"""A throwaway database for benchmark scripts, on the configured engine."""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database():
    """Create an empty, migrated test database; yield the engine name; drop it.

    SQLite gets a file in a temporary folder and PostgreSQL a database named
    after this process, so concurrent runs do not collide. Call django.setup()
    first.
    """
    from django.db import connection

    engine = connection.settings_dict["ENGINE"].rsplit(".", 1)[-1]
    with tempfile.TemporaryDirectory() as folder:
        if engine == "sqlite3":
            test_name = str(Path(folder) / "bench.sqlite3")
        else:
            test_name = f"bench_vams_{os.getpid()}"
        connection.settings_dict.setdefault("TEST", {})["NAME"] = test_name
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            yield engine
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
