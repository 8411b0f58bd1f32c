import pytest
from django.test import Client

from tests.admin.rules import allow


@pytest.fixture
def admin_client(admin_user) -> Client:
    """A client signed in as a superuser, who is in the built-in admin role."""
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def curator(db):
    from tests.factories import make_user

    return make_user("curator", is_staff=True)


@pytest.fixture
def curator_client(curator) -> Client:
    """A staff user's client; each test grants the curator what it needs."""
    client = Client()
    client.force_login(curator)
    return client


@pytest.fixture
def read_only_curator_client(curator, curator_client) -> Client:
    """A curator who may read everything and execute, but not change workflows."""
    allow(curator, "api", ["GET", "PUT", "POST", "DELETE"])
    allow(curator, "database", ["GET"])
    allow(curator, "asset", ["GET", "POST"])
    allow(curator, "pipeline", ["GET", "POST"])
    allow(curator, "workflow", ["GET", "POST"])
    return curator_client
