"""The backup and restore drill of docs/operations.md: a database dump and a copy of the bucket,
restored into a fresh database and a fresh place in the bucket, pass check_audit, check_files
and check_release there."""

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest
from django.conf import settings
from django.db import connection

from incidents.services import evidence_attach
from registry.services import release_publish
from tests.conftest import _test_database_url
from tests.factories import ClaimFactory, IncidentFactory, ReportFactory
from tests.operations.conftest import BUCKET
from tests.s3 import bucket_env

pytestmark = pytest.mark.django_db(transaction=True)
CSV = b"Date(UTC),Pair,Side\n2022-11-20,PUMPUSDT,BUY\n"


def s3(storage):
    return boto3.client("s3", endpoint_url=storage.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=storage.access_key, aws_secret_access_key=storage.secret_key)


def bucket_copy_out(client, prefix: str, folder: Path) -> None:
    """Copy every object under ``prefix`` into ``folder`` (what `aws s3 sync s3://… DIR` does)."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}/"):
        for item in page.get("Contents", []):
            target = folder / item["Key"][len(prefix) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read())


def bucket_copy_in(client, folder: Path, prefix: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            client.put_object(Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(folder).as_posix()}",
                              Body=path.read_bytes())


def database_dump(target: Path) -> None:
    if connection.vendor == "sqlite":
        with sqlite3.connect(connection.settings_dict["NAME"]) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
        return
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _test_database_url()],
                   check=True, timeout=120)


def database_restore(dump: Path) -> tuple[str, callable]:
    """Restore the dump into a new database; return its URL and how to drop it."""
    if connection.vendor == "sqlite":
        return f"sqlite:///{dump}", lambda: None
    name = f"restore_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(_test_database_url())
    url = urlunsplit(parts._replace(path=f"/{name}"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    subprocess.run(["psql", admin, "-qc", f'CREATE DATABASE "{name}"'], check=True, timeout=60)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", url, str(dump)], check=True,
                   timeout=120)
    return url, lambda: subprocess.run(["psql", admin, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'],
                                       check=False, timeout=60)


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_a_backup_restores_into_a_fresh_instance_that_passes_every_check(bucket, signing_key, tmp_path):
    incident = IncidentFactory(published=True)
    report = ReportFactory(incident=incident)
    ClaimFactory(report=report)
    evidence_attach(report=report, kind="trade_export", data=CSV)
    release = release_publish(incident=incident)
    client = s3(bucket)

    # Backup: the database first, then the bucket (a file stored in between is only an extra file).
    database_dump(dump := tmp_path / "lossproof.dump")
    bucket_copy_out(client, bucket.prefix, saved := tmp_path / "bucket")

    # Restore into a fresh instance: another database, another place in the bucket.
    restored_prefix = f"restored-{uuid.uuid4().hex[:10]}"
    url, drop = database_restore(dump)
    try:
        bucket_copy_in(client, saved, restored_prefix)
        env = {"DATABASE_URL": url, "EXPORT_SIGNING_KEY": settings.EXPORT_SIGNING_KEY,
               "REPORT_REF_KEY": settings.REPORT_REF_KEY,
               **bucket_env(endpoint=bucket.endpoint_url, prefix=restored_prefix, bucket=BUCKET)}
        audit = manage("check_audit", env=env)
        files = manage("check_files", "--grace", "0", env=env)
        bucket_copy_out(client, f"{restored_prefix}/releases/{release.folder}", copy := tmp_path / "release")
        signed = manage("check_release", str(copy), env=env)
    finally:
        drop()

    assert audit.returncode == 0 and "audit log intact" in audit.stdout, audit.stdout + audit.stderr
    assert files.returncode == 0 and "0 files without a row, 0 rows without a file" in files.stdout, (
        files.stdout + files.stderr)
    assert signed.returncode == 0 and "release OK" in signed.stdout, signed.stdout + signed.stderr
