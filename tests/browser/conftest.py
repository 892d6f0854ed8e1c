"""Browser journeys: Debian's chromium driven by Playwright against Django's live server.

Screenshots of every step land in var/test-artifacts/browser/ (README, "Tests"), one folder
per test, so a failed journey can be looked at step by step.
"""

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS_DIR")
                 or settings.BASE_DIR / "var" / "test-artifacts" / "browser")
# Chromium's own background traffic has nowhere to go on a closed network; keep it quiet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are plain synchronous calls and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _require_browser() -> None:
    if Path(CHROMIUM).is_file():
        return
    reason = f"no chromium at {CHROMIUM} (make test installs Debian's chromium when run as root)"
    if os.environ.get("LOSSPROOF_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    """Numbered full-page screenshots of one test's steps."""

    def __init__(self, page, folder: Path):
        self.page, self.folder, self.count = page, folder, 0
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    def __call__(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        from playwright.sync_api import Error

        for attempt in range(3):
            try:
                # Generous: on a loaded CI machine chromium can take a while to paint a long page.
                self.page.screenshot(path=path, full_page=True, timeout=60_000, animations="disabled",
                                     caret="hide")
                return path
            except Error as error:  # an artifact, not an assertion: note it rather than fail the test
                failure = error
                self.page.wait_for_timeout(500 * (attempt + 1))
        path.with_suffix(".failed.txt").write_text(f"screenshot failed: {failure}\n")
        return path


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context (no cookies) on a phone-sized screen, with a screenshot helper."""
    context = browser.new_context(viewport={"width": 412, "height": 915}, base_url=live_server.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.shot = Shots(page, ARTIFACTS / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-"))
    yield page
    context.close()


@pytest.fixture(autouse=True)
def private_evidence_storage(monkeypatch, worker_evidence_storage):
    """Keep evidence where the session's worker reads it (the worker is another process)."""
    from django.core.files.storage import storages

    from incidents.models import DraftUpload, Evidence
    from tests.conftest import on_bucket, session_bucket_storage

    storage = worker_evidence_storage
    for model, name in ((Evidence, "file"), (Evidence, "preview"), (DraftUpload, "file")):
        monkeypatch.setattr(model._meta.get_field(name), "storage", storage)
    if on_bucket():  # each test's releases to itself: the bucket outlives the test's database
        place = f"browser-{uuid.uuid4().hex[:12]}/releases"
        monkeypatch.setitem(storages._storages, "releases", session_bucket_storage(place))
    return storage
