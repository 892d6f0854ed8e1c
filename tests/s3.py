"""A real S3 protocol server on loopback (moto's server mode) and storages that use it."""

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from django.conf import settings
from storages.backends.s3 import S3Storage

from config.storage import s3_options

# moto accepts any key pair; boto3 only needs one to sign its requests.
ACCESS_KEY, SECRET_KEY = "lossproof-test", "lossproof-test-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class S3Server:
    """A moto server process; stop() and start() again keep its port (and lose its objects)."""

    port: int
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3Server":
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_for_port(self.port, self.process, self.log_path)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_for_port(port: int, process: subprocess.Popen, log_path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited early:\n{log_path.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not listen on {port} within {timeout:.0f} s")


def bucket_env(*, endpoint: str, prefix: str, bucket: str = "lossproof-test") -> dict[str, str]:
    """Return the environment that points a Lossproof process at ``bucket`` on ``endpoint``."""
    return {"FILE_STORAGE": "s3", "S3_ENDPOINT_URL": endpoint, "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": ACCESS_KEY, "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_PREFIX": prefix,
            "S3_ADDRESSING_STYLE": "path", "S3_REGION": "us-east-1"}


def bucket_storage(*, endpoint: str, bucket: str, location: str, encryption: str = "",
                   access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> S3Storage:
    """Return an S3Storage like the settings build, on ``location`` in ``bucket`` (created if missing)."""
    options = s3_options(bucket=bucket, endpoint=endpoint, region="us-east-1", access_key=access_key,
                         secret_key=secret_key, prefix=location, encryption=encryption, kms_key_id="",
                         addressing="path", timeout=settings.S3_TIMEOUT)
    bucket_create(storage := S3Storage(**options))
    return storage


def bucket_create(storage: S3Storage) -> None:
    client = storage.connection.meta.client
    if storage.bucket_name not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=storage.bucket_name)


def bucket_keys(storage: S3Storage) -> list[str]:
    """Every key under the storage's location, read with a plain client (not through the storage)."""
    client = boto3.client("s3", endpoint_url=storage.endpoint_url, region_name="us-east-1",
                          aws_access_key_id=storage.access_key, aws_secret_access_key=storage.secret_key)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=storage.bucket_name,
                                                             Prefix=f"{storage.location}/")
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))
