import os

import pytest
from django.conf import settings

from vams.aws import emulator as emulator_module


def pytest_configure(config) -> None:
    # Separate PostgreSQL test databases per pytest process, so concurrent runs
    # on one machine do not drop each other's database.
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        name = os.environ.get("VAMS_TEST_DB_NAME") or f"test_vams_{os.getpid()}"
        database.setdefault("TEST", {})["NAME"] = name


def pytest_collection_modifyitems(config, items) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def aws_emulator():
    """Start the embedded AWS emulator once per test session."""
    emulator = emulator_module.start_emulator()
    emulator_module.provision_core_resources()
    yield emulator
    emulator.stop()


@pytest.fixture
def admin_user(db):
    from tests.factories import make_user

    return make_user("admin", is_superuser=True)


@pytest.fixture
def api_client(admin_user):
    """An API client that sends an admin's bearer token."""
    from tests.factories import client_for

    return client_for(admin_user)


@pytest.fixture
def anonymous_client():
    from rest_framework.test import APIClient

    return APIClient()
