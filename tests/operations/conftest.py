"""Storage on a real S3 protocol server, and Lossproof processes that play other hosts."""

import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import storages

from tests.registry.conftest import signing_key  # noqa: F401 (releases need a signing key)
from tests.s3 import bucket_env, bucket_storage

BUCKET = "lossproof-ops-test"


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """Evidence, drafts and releases in this test's own place in a bucket, encrypted at rest."""
    from incidents.models import DraftUpload, Evidence

    prefix = f"ops-{uuid.uuid4().hex[:12]}"
    storage = bucket_storage(endpoint=s3_endpoint, bucket=BUCKET, location=f"{prefix}/evidence",
                             encryption="AES256")
    for model in (Evidence, DraftUpload):
        monkeypatch.setattr(model._meta.get_field("file"), "storage", storage)
    releases = bucket_storage(endpoint=s3_endpoint, bucket=BUCKET, location=f"{prefix}/releases",
                              encryption="AES256")
    monkeypatch.setitem(storages._storages, "releases", releases)
    storage.prefix, storage.releases = prefix, releases
    return storage


def shared_broker_url() -> str:
    """The broker this test process uses, spelled so that a process with another var folder finds it."""
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        return f"filesystem://{Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in']).parent}"
    return url


def other_host_env(*, folder: Path, endpoint: str, prefix: str, database_url: str, rpc: str) -> dict:
    """The environment of a process on another host: its own var folder, the shared bucket and servers."""
    return {"LOSSPROOF_VAR_DIR": str(folder), "EVIDENCE_ROOT": str(folder / "evidence"),
            "RELEASES_ROOT": str(folder / "releases"), "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": shared_broker_url(), "CHAIN_RPC_URLS": rpc,
            **bucket_env(endpoint=endpoint, prefix=prefix, bucket=BUCKET)}
