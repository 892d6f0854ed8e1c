"""Real parts for the suite: an anvil node and a Celery worker on the configured broker."""

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app
from config.queues import queue_names
from devtools.chain import ANVIL_CHAIN_ID, anvil_start

# One queue per test session, so the suite never takes (or leaves) messages of a demo or of
# another run sharing the same broker.
TEST_QUEUE = f"lossproof-test-{uuid.uuid4().hex[:12]}"
# Where this session's files go when the suite runs on a bucket (FILE_STORAGE=s3, as in CI).
S3_SESSION_PREFIX = f"test-{uuid.uuid4().hex[:12]}"
ANVIL_CAIP2 = f"eip155:{ANVIL_CHAIN_ID}"


def pytest_configure(config):
    celery_app.conf.task_default_queue = TEST_QUEUE


@pytest.fixture(scope="session")
def anvil():
    """A real anvil node on a free port for the whole session, stopped at teardown."""
    node = anvil_start()
    yield node
    node.stop()


def _test_database_url() -> str:
    """Return a DATABASE_URL that points a child process at pytest-django's test database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{db['NAME']}"))


@pytest.fixture(scope="session")
def worker_evidence_root(tmp_path_factory) -> Path:
    """The evidence folder the session's worker reads; tests whose worker checks files store there."""
    return tmp_path_factory.mktemp("worker-evidence")


def on_bucket() -> bool:
    """Tell whether the suite runs with its files in an S3-compatible bucket (FILE_STORAGE=s3)."""
    return settings.FILE_STORAGE == "s3"


def session_bucket_storage(location: str):
    """Return the configured bucket's storage under this session's prefix and ``location``."""
    from storages.backends.s3 import S3Storage

    from tests.s3 import bucket_create

    options = settings.STORAGES["evidence"]["OPTIONS"]
    storage = S3Storage(**{**options, "location": f"{S3_SESSION_PREFIX}/{location}"})
    if not _bucket_connections:
        bucket_create(storage)
        _bucket_connections.append(storage._connections)
    storage._connections = _bucket_connections[0]  # one boto3 session for the whole run: much faster
    return storage


_bucket_connections: list = []


@pytest.fixture(scope="session")
def worker_evidence_storage(worker_evidence_root):
    """The storage the session's worker reads evidence from: its folder, or its place in the bucket."""
    from django.core.files.storage import FileSystemStorage

    if on_bucket():
        return session_bucket_storage("worker/evidence")
    return FileSystemStorage(location=worker_evidence_root)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """A real S3 protocol server on loopback: the configured one (CI), or a moto server of our own."""
    from tests.s3 import S3Server, free_port

    if on_bucket():
        yield settings.S3_ENDPOINT_URL
        return
    server = S3Server(port=free_port(), log_path=tmp_path_factory.mktemp("s3") / "moto.log").start()
    yield server.url
    server.stop()


def _wait_until_database_quiet(*, quiet_for: float = 0.3, timeout: float = 20.0) -> None:
    """Wait until no other session on the test database has run a statement for ``quiet_for`` s.

    PostgreSQL only: SQLite's flush waits for a writer's lock instead of deadlocking with it.
    """
    if connection.vendor != "postgresql":
        return
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                           "AND state IS DISTINCT FROM 'idle'")
            busy = cursor.fetchone()[0]
        now = time.monotonic()
        quiet_since = None if busy else (quiet_since or now)
        if quiet_since is not None and now - quiet_since >= quiet_for:
            return
        time.sleep(0.05)


_worker_running: list[bool] = []


@pytest.fixture(scope="session", autouse=True)
def flush_once_the_worker_is_quiet():
    """End each transactional test only once the session's worker has nothing running on its data.

    Once started, the session's worker consumes every task a later test sends (the dashboards'
    rebuild after a verdict, say), and may still run one after the test's last assertion. The
    flush that ends a transactional test must not meet it: on PostgreSQL its TRUNCATE and the
    task's transaction lock tables in opposite orders and deadlock (seen in CI).
    """
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def teardown(self):
        if _worker_running:
            _wait_until_database_quiet()
        original(self)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory, anvil, worker_evidence_root):
    """A real `celery -A config worker` process consuming this session's queue, reading anvil."""
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {"DATABASE_URL": database_url, "CHAIN_RPC_URLS": f"{ANVIL_CAIP2}={anvil.url}",
           "EVIDENCE_ROOT": str(worker_evidence_root), "S3_PREFIX": f"{S3_SESSION_PREFIX}/worker"}
    with worker_process(queue=TEST_QUEUE, env=env, log_path=log_path) as process:
        _worker_running.append(True)
        yield process
        _worker_running.clear()


@contextmanager
def worker_process(*, queue: str, env: dict[str, str], log_path: Path):
    """Run a Celery worker (prefork, two children) on ``queue`` until the block ends."""
    full_env = {**os.environ, "CELERY_TASK_DEFAULT_QUEUE": queue,
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, **env}
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
               "--concurrency=2", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "-Q", ",".join(queue_names(queue)), "-n", f"{queue}@%h"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=settings.BASE_DIR)
        try:
            _wait_until_ready(process, log_path)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_ready(process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited early:\n{log_path.read_text()[-3000:]}")
        if " ready." in log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    pytest.fail(f"the Celery worker was not ready within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy, and return that; fail on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout:.0f} s")


@pytest.fixture(autouse=True)
def private_evidence_storage(monkeypatch, tmp_path, settings):
    """Keep every test's evidence files to itself: under its tmp_path, or its own place in the bucket.

    Evidence.file resolves its storage when the model loads, so a STORAGES override alone
    would not reach it. Release files get a place of their own as well: in the bucket, or locally
    under tmp_path (settings.RELEASES_ROOT), never the checkout's var/releases a `make demo` fills.
    """
    from django.core.files.storage import FileSystemStorage, storages

    from incidents.models import DraftUpload, Evidence

    if on_bucket():
        place = uuid.uuid4().hex[:12]
        storage = session_bucket_storage(f"{place}/evidence")
        monkeypatch.setitem(storages._storages, "releases", session_bucket_storage(f"{place}/releases"))
    else:
        storage = FileSystemStorage(location=tmp_path / "evidence")
        settings.RELEASES_ROOT = tmp_path / "releases"
    for model, name in ((Evidence, "file"), (Evidence, "preview"), (DraftUpload, "file")):
        monkeypatch.setattr(model._meta.get_field(name), "storage", storage)
    return storage


def stored_names(storage, folder: str = "") -> list[str]:
    """Every file name in ``storage`` (a folder or a bucket), walked through the storage API."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return []  # a local folder nothing was ever written to
    found = [f"{folder}{name}" for name in files]
    for sub in folders:
        found += stored_names(storage, f"{folder}{sub}/")
    return sorted(found)


@pytest.fixture(autouse=True)
def fresh_queue_counts():
    """Start every test without the moderators' queue counts another test left in the cache."""
    from moderation.selectors import queue_changed

    queue_changed()


@pytest.fixture(autouse=True)
def english():
    """Start every test in the default language: a request in Spanish leaves its thread in Spanish."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
