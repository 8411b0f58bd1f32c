"""The main job, run the way a newcomer runs it: one command, real files."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

REPOSITORY = Path(__file__).resolve().parent.parent
SCRIPT = REPOSITORY / "scripts" / "run_main_job.py"
SAMPLE_FOLDERS = (REPOSITORY.parent / "shared" / "samples",)


def _samples_folder() -> Path | None:
    return next((folder for folder in SAMPLE_FOLDERS if folder.is_dir()), None)


@pytest.fixture
def database_url():
    """A fresh database for the script: PostgreSQL when the suite runs on it, else SQLite."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("postgresql"):
        yield None
        return
    import psycopg

    name = f"test_vams_main_job_{uuid.uuid4().hex[:8]}"
    admin = dict(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    yield f"postgres://{database['USER']}{password}@{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(**admin) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.e2e
def test_main_job_runs_demo_and_samples(tmp_path, database_url):
    report = tmp_path / "report.json"
    command = [sys.executable, str(SCRIPT), "--json", str(report), "--timeout", "240"]
    samples = _samples_folder()
    if samples is not None:
        command += ["--samples", str(samples)]
    if database_url:
        command += ["--database-url", database_url]
    environment = {
        key: value for key, value in os.environ.items() if key != "VAMS_SAMPLES_DIR"
    }

    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
        cwd=REPOSITORY,
    )

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    results = json.loads(report.read_text())
    demo = {item["file"]: item for item in results["demo"]}
    assert demo["terrain/jacksboro_fault_dem.obj"]["status"] == "SUCCEEDED"
    assert demo["terrain/jacksboro_fault_dem.obj"]["problems"] == []
    assert demo["photos/grace_hopper.jpg"]["status"] == "SUCCEEDED"
    assert demo["photos/grace_hopper.jpg"]["problems"] == []
    assert "Main job passed." in finished.stdout
    if samples is None:
        return
    sample_runs = {item["file"]: item for item in results["samples"]}
    for name in (
        "gltf/Box.glb",
        "obj/cow/cow.obj",
        "ply/Wuson.ply",
        "images/rocket.jpg",
        "pointcloud/simple.las",
        "pointcloud/autzen_trim.laz",
        "pointcloud/A4.e57",
    ):
        assert sample_runs[name]["status"] == "SUCCEEDED", sample_runs[name]
        assert sample_runs[name]["problems"] == []
    # A material library alone is not a model: the run fails with a reason.
    assert sample_runs["obj/cow/cow.mtl"]["status"] == "FAILED"
    assert sample_runs["obj/cow/cow.mtl"]["error"] == "UnsupportedFormat"
