"""The compose file runs what docs/scaling.md promises (no Docker engine here to start it)."""

import yaml
from django.conf import settings

COMPOSE = yaml.safe_load((settings.BASE_DIR / "docker" / "compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_workers_scale_because_they_share_no_volume_name_or_port():
    worker = SERVICES["worker"]

    assert "container_name" not in worker and "ports" not in worker and "volumes" not in worker
    assert worker["environment"]["WORKER_QUEUES"] == "${WORKER_QUEUES:-all}"


def test_files_live_in_the_s3_compatible_service_not_on_a_shared_volume():
    environment = SERVICES["web"]["environment"]

    assert environment["FILE_STORAGE"] == "s3"
    assert environment["S3_ENDPOINT_URL"] == "${S3_ENDPOINT_URL:-http://minio:9000}"
    assert {"minio", "minio-bucket"} <= set(SERVICES)
    assert "evidence" not in COMPOSE["volumes"]


def test_the_web_health_check_asks_readyz():
    assert "/readyz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
