import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent.parent


def _metadata_flag(extra_environment: dict) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"AWS_EC2_METADATA_DISABLED", "VAMS_AWS_INSTANCE_METADATA"}
    }
    environment.update(extra_environment)
    environment["DJANGO_SETTINGS_MODULE"] = "vams.settings"
    code = (
        "import django, os; django.setup(); "
        "print(os.environ.get('AWS_EC2_METADATA_DISABLED', 'unset'))"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPOSITORY,
        check=True,
    )
    return finished.stdout.strip()


def test_settings_disable_instance_metadata_by_default():
    assert _metadata_flag({}) == "true"


def test_settings_allow_instance_metadata_when_asked():
    assert _metadata_flag({"VAMS_AWS_INSTANCE_METADATA": "true"}) == "unset"
