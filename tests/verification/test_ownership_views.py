"""Reporters prove ownership through the API and the page; nobody else can touch their report."""

import hashlib

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from incidents.models import LeakedKeyHash
from tests.factories import ReportFactory, UserFactory
from verification.models import CheckResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    return ReportFactory()


def test_a_reporter_gets_a_challenge_signs_it_and_the_proof_is_stored(client, report):
    wallet = Account.create()
    client.force_login(report.reporter)
    base = f"/api/v1/reports/{report.pk}/ownership"

    challenge = client.get(f"{base}/challenge/", {"address": wallet.address}).json()["challenge"]
    signature = "0x" + wallet.sign_message(encode_defunct(text=challenge)).signature.hex().removeprefix("0x")
    response = client.post(f"{base}/proof/", {"address": wallet.address, "signature": signature},
                           content_type="application/json")

    assert response.status_code == 201
    assert response.json()["outcome"] == "pass"


def test_a_leaked_key_hash_is_accepted_by_hash_only(client, report):
    key_hash = hashlib.sha256(b"public-key-id").hexdigest()
    LeakedKeyHash.objects.create(incident=report.incident, sha256=key_hash)
    client.force_login(report.reporter)

    response = client.post(f"/api/v1/reports/{report.pk}/ownership/leaked-key/", {"key_hash": key_hash},
                           content_type="application/json")
    refused = client.post(f"/api/v1/reports/{report.pk}/ownership/leaked-key/", {"key_hash": "public-key-id"},
                          content_type="application/json")

    assert response.json()["outcome"] == "pass"
    assert refused.status_code == 400


def test_another_reporter_gets_404_everywhere(client, report):
    client.force_login(UserFactory())
    base = f"/api/v1/reports/{report.pk}/ownership"

    assert client.get(f"{base}/challenge/", {"address": "0x" + "11" * 20}).status_code == 404
    refused = client.post(f"{base}/leaked-key/", {"key_hash": "a" * 64}, content_type="application/json")
    assert refused.status_code == 404
    assert client.get(f"/reports/{report.pk}/ownership/").status_code == 404
    assert not CheckResult.objects.exists()


def test_the_page_shows_the_challenge_and_never_names_the_key_id_field(client, report):
    client.force_login(report.reporter)
    address = "0x" + "ab" * 20

    page = client.get(f"/reports/{report.pk}/ownership/", {"address": address}).content.decode()

    assert f"Address: {address}" in page
    assert 'id="key-id" autocomplete' in page and 'name="key_id"' not in page
    assert "js/keyhash.js" in page


def test_the_page_records_a_wrong_signature_as_not_accepted(client, report):
    client.force_login(report.reporter)

    response = client.post(f"/reports/{report.pk}/ownership/",
                           {"proof": "signature", "address": "0x" + "ab" * 20, "signature": "0x" + "00" * 65},
                           follow=True)

    assert "Proof not accepted" in response.content.decode()
    assert CheckResult.objects.get().outcome == "fail"
