"""Public release pages, downloads and the register API: published incidents only."""

import hashlib

import pytest
from django.core.files.base import ContentFile

from registry.models import Release, ReleaseRow, release_storage
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(settings, tmp_path):
    settings.RELEASES_ROOT = tmp_path
    incident = IncidentFactory(slug="leak")
    body = b"report_ref,tier\nabc,T2\n"
    for name, data in [("reports.csv", body), ("manifest.json", b"{}\n"), ("secret.txt", b"not listed")]:
        release_storage().save(f"leak/1/{name}", ContentFile(data))
    release = Release.objects.create(
        incident=incident, number=1, folder="leak/1", manifest_sha256=hashlib.sha256(b"{}\n").hexdigest(),
        manifest={"files": {"reports.csv": {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}}},
        signature_b64="c2ln", public_key_b64="a2V5", report_count=3, claim_count=0)
    rows = [("a1", "T2", "needs_review", "Binance"), ("b2", "T1", "verified", "Kraken"),
            ("c3", "T2", "verified", "Binance")]
    for ref, tier, status, exchange in rows:
        data = {"report_ref": ref, "tier": tier, "status": status, "exchange": exchange}
        ReleaseRow.objects.create(release=release, report_ref=ref, tier=tier, status=status,
                                  exchange=exchange, data=data)
    return release


def test_a_release_file_downloads_as_an_attachment_with_its_hash_as_etag(client, release):
    response = client.get("/incidents/leak/releases/1/reports.csv")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="leak-release-1-reports.csv"')
    assert response["ETag"] == f'"{release.manifest["files"]["reports.csv"]["sha256"]}"'
    assert client.get("/incidents/leak/releases/1/reports.csv",
                      headers={"If-None-Match": response["ETag"]}).status_code == 304


@pytest.mark.parametrize("name", ["secret.txt", "..%2F..%2Fsettings.py", "missing.csv"])
def test_only_files_the_release_lists_are_served(client, release, name):
    assert client.get(f"/incidents/leak/releases/1/{name}").status_code == 404


def test_an_unpublished_incident_has_no_public_releases(client, release):
    release.incident.published = False
    release.incident.save()

    assert client.get("/incidents/leak/releases/").status_code == 404
    assert client.get("/incidents/leak/releases/1/reports.csv").status_code == 404
    assert client.get("/api/v1/incidents/leak/releases/").status_code == 404
    assert client.get("/api/v1/incidents/leak/register/").status_code == 404


def test_the_release_list_shows_hashes_and_the_public_key(client, release):
    page = client.get("/incidents/leak/releases/").content.decode()
    listed = client.get("/api/v1/incidents/leak/releases/").json()

    assert release.manifest_sha256 in page and "a2V5" in page
    assert listed[0]["number"] == 1 and listed[0]["files"]["reports.csv"]["size"] == 23


def test_the_register_api_pages_and_filters_the_latest_release(client, release):
    everything = client.get("/api/v1/incidents/leak/register/").json()
    binance_t2 = client.get("/api/v1/incidents/leak/register/", {"tier": "T2", "exchange": "Binance"}).json()
    paged = client.get("/api/v1/incidents/leak/register/", {"page_size": 2, "page": 2}).json()

    assert everything["count"] == 3
    assert [row["report_ref"] for row in binance_t2["results"]] == ["a1", "c3"]
    assert [row["report_ref"] for row in paged["results"]] == ["c3"]
