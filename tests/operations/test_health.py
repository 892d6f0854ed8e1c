"""/healthz and /readyz: 503 naming the part that is down, 200 again once it is back, no restart."""

import shutil
import subprocess
import time

import pytest
from django.test import Client

from tests.config.test_database_outage import database_unreachable
from tests.s3 import S3Server, bucket_create, bucket_storage, free_port

pytestmark = pytest.mark.django_db(transaction=True)


def readyz() -> tuple[int, dict]:
    response = Client(raise_request_exception=False).get("/readyz")
    return response.status_code, response.json()


def test_healthz_answers_while_the_process_runs():
    response = Client().get("/healthz")

    assert response.status_code == 200 and response.json() == {"status": "alive"}


def test_readyz_is_ready_when_every_part_answers():
    status, body = readyz()

    assert status == 200 and body["failed"] == []
    assert set(body["checks"]) == {"database", "broker", "storage"}


def test_readyz_names_the_database_while_it_is_down_and_recovers():
    with database_unreachable():
        status, body = readyz()
    assert (status, body["failed"]) == (503, ["database"])
    assert readyz()[0] == 200


@pytest.fixture
def redis_broker(settings, tmp_path):
    """A Redis server of the test's own, used as the broker; stop() and start() keep its port."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(tmp_path)]

    class Server:
        process = None

        def start(self):
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            time.sleep(0.5)

        def stop(self):
            self.process.terminate()
            self.process.wait(timeout=10)

    server = Server()
    server.start()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    yield server
    server.stop()


def test_readyz_names_the_broker_while_it_is_down_and_recovers(redis_broker):
    assert readyz()[0] == 200
    redis_broker.stop()

    status, body = readyz()

    assert (status, body["failed"]) == (503, ["broker"])
    assert body["checks"]["broker"]["error"] == "ConnectionError"
    redis_broker.start()
    assert readyz()[0] == 200


def test_readyz_names_the_storage_while_the_bucket_server_is_down_and_recovers(monkeypatch, tmp_path):
    from incidents.models import Evidence

    server = S3Server(port=free_port(), log_path=tmp_path / "moto.log").start()
    try:
        storage = bucket_storage(endpoint=server.url, bucket="ready", location="evidence")
        monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", storage)
        assert readyz()[0] == 200
        server.stop()

        status, body = readyz()

        assert (status, body["failed"]) == (503, ["storage"])
        server.start()
        bucket_create(storage)  # a new moto server starts empty; a real one keeps its bucket
        assert readyz()[0] == 200
    finally:
        server.stop()
