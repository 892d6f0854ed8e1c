"""Readiness of the parts a request or a task needs: the database, the broker and file storage.

Each probe runs fresh on every call (no cached state), so /readyz turns ready again as soon as
the part is back, without a restart.
"""

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import connection

from incidents.models import Evidence

PROBE_TIMEOUT = 2.0  # seconds, per part: an orchestrator's probe must answer quickly


def database_probe() -> None:
    """Run one query on the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def broker_probe() -> None:
    """Reach the broker: PING Redis, open an AMQP connection, or find the broker folder."""
    url = settings.CELERY_BROKER_URL
    scheme = urlsplit(url).scheme
    if scheme == "filesystem":
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        if not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise OSError(f"broker folder {folder.name} is missing or read-only")
        return
    if scheme in {"redis", "rediss"}:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT)
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=PROBE_TIMEOUT) as amqp:
        amqp.connect()


def storage_probe() -> None:
    """Ask the evidence bucket for its head (one timed request), or check the local folder."""
    storage = Evidence._meta.get_field("file").storage
    if isinstance(storage, FileSystemStorage):
        folder = Path(storage.location)
        if folder.exists() and not (folder.is_dir() and os.access(folder, os.W_OK)):
            raise OSError("evidence folder is not a writable folder")
        return  # created on the first upload
    _bucket_client(storage).head_bucket(Bucket=storage.bucket_name)


def _bucket_client(storage):
    """Return a new client for the storage's bucket with short timeouts and no retries."""
    from botocore.config import Config

    # A fresh client per probe, so a request never waits behind a stale pooled connection.
    config = Config(connect_timeout=settings.S3_TIMEOUT, read_timeout=settings.S3_TIMEOUT,
                    retries={"max_attempts": 1, "mode": "standard"})
    return storage._create_session().client(
        "s3", region_name=storage.region_name, endpoint_url=storage.endpoint_url, use_ssl=storage.use_ssl,
        verify=storage.verify, config=storage.client_config.merge(config))


PROBES = {"database": database_probe, "broker": broker_probe, "storage": storage_probe}


def readiness() -> dict[str, dict]:
    """Run every probe; return part -> {"ok", "ms", and "error" (the error's type) when it failed}."""
    return {name: _timed(probe) for name, probe in PROBES.items()}


def _timed(probe) -> dict:
    started = time.monotonic()
    try:
        probe()
    except Exception as exc:  # any failure means not ready; the type names it without internals
        return {"ok": False, "ms": _ms(started), "error": type(exc).__name__}
    return {"ok": True, "ms": _ms(started)}


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
