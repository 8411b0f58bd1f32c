"""Fixtures that drive Debian's Chromium through Playwright against a live server.

The tests need ``/usr/bin/chromium``; CI installs it (``.ci/run``).
"""

import os
from pathlib import Path

import pytest

CHROMIUM_PATH = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
ADMIN_PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium shared by one module's browser tests."""
    if not CHROMIUM_PATH.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM_PATH}; "
            "install it with: apt-get install chromium"
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, so Django
    # rejects ORM calls here unless DJANGO_ALLOW_ASYNC_UNSAFE is set. The
    # fixture is module-scoped so that the variable is set only while browser
    # tests run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM_PATH), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, request):
    """A fresh browser page; a screenshot named after the test is saved at teardown."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOT_DIR / f"{request.node.name}-final.png"), full_page=True
    )
    context.close()


def save_screenshot(page, name: str) -> None:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)


def log_in(page, live_server, username: str, password: str = ADMIN_PASSWORD) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#content-main")


@pytest.fixture(autouse=True)
def content_types(transactional_db):
    """Recreate content types that an earlier transactional test's flush removed.

    A flush after a test marked serialized_rollback skips post_migrate, which
    leaves django_content_type empty, and the admin's LogEntry rows point at
    it. The cache is cleared because it may hold ids from before the flush.
    """
    from django.apps import apps
    from django.contrib.contenttypes.management import create_contenttypes
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    for app_config in apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0)
