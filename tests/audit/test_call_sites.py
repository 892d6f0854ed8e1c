"""Each audited action writes exactly one event: erasures, evidence reads, exports and tokens."""

import base64
import hashlib
import io
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.urls import reverse
from PIL import Image

from accounts.models import Role
from accounts.services import token_issue
from audit.models import AuditEvent
from audit.services import audit_verify
from incidents.services import evidence_attach
from registry.services import register_export, release_publish
from tests.factories import ClaimFactory, ReportFactory, UserFactory, login_with_second_factor
from tests.verification.dkim_fixtures import build_mail

pytestmark = pytest.mark.django_db

TRADE_EXPORT = b"Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n2022-11-20 10:00:00,PUMPBTC,BUY,1,1,1,0\n"


@pytest.fixture
def reporter():
    return UserFactory(role=Role.REPORTER, username="ada.victim", email="ada.victim@example.org",
                       first_name="Ada", last_name="Victim")


@pytest.fixture
def moderator():
    return UserFactory(role=Role.MODERATOR, is_staff=True)


@pytest.fixture
def report(reporter):
    report = ReportFactory(reporter=reporter, reporter_name="Ada Victim", contact_email=reporter.email)
    ClaimFactory(report=report)
    ClaimFactory(report=report)
    return report


@pytest.fixture
def signing(settings, tmp_path):
    """A fresh release signing key and releases folder for the test."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    settings.EXPORT_SIGNING_KEY = base64.b64encode(raw).decode()
    settings.RELEASES_ROOT = tmp_path / "releases"


def logged_in(user) -> Client:
    client = Client()
    login_with_second_factor(client, user)
    return client


def only_event_since(seq: int) -> AuditEvent:
    """Return the one event written after ``seq``; fail if there are none or several."""
    [event] = AuditEvent.objects.filter(seq__gt=seq)
    return event


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_withdrawing_on_the_web_writes_one_erasure_event_with_counts_only(report, reporter):
    evidence_attach(report=report, kind="trade_export", data=TRADE_EXPORT)
    client, before = logged_in(reporter), last_seq()

    client.post(reverse("incidents:report-withdraw", args=[report.pk]), {"confirm": "on"})

    event = only_event_since(before)
    assert (event.action, event.subject, event.actor) == ("report_erase", f"report:{report.pk}", reporter)
    assert event.data == {"claims": 2, "evidence": 1}
    stored = json.dumps([event.actor_label, event.subject, event.data])
    for personal in ("ada", "Ada", "Victim", "example.org"):
        assert personal not in stored
    assert audit_verify() == []


def test_a_withdrawal_not_confirmed_writes_nothing(report, reporter):
    before = last_seq()

    logged_in(reporter).post(reverse("incidents:report-withdraw", args=[report.pk]), {})

    assert last_seq() == before


def test_withdrawing_through_the_api_writes_one_erasure_event(reporter, report):
    client = Client(headers={"Authorization": f"Token {token_issue(email=reporter.email, role='reporter')}"})
    before = last_seq()

    assert client.delete(f"/api/v1/reports/{report.pk}/").status_code == 204

    event = only_event_since(before)
    assert (event.action, event.subject, event.actor) == ("report_erase", f"report:{report.pk}", reporter)
    assert event.data == {"claims": 2, "evidence": 0}


def test_a_download_writes_one_event_naming_who_downloaded_which_file(report, moderator):
    evidence = evidence_attach(report=report, kind="trade_export", data=TRADE_EXPORT)
    before = last_seq()

    response = logged_in(moderator).get(reverse("incidents:evidence-download", args=[evidence.pk]))

    assert response.status_code == 200
    event = only_event_since(before)
    assert (event.action, event.subject, event.actor) == ("evidence_download", f"evidence:{evidence.pk}",
                                                          moderator)
    assert event.actor_label == f"user {moderator.pk} (moderator, staff)"


def test_a_preview_writes_one_view_event(report, reporter):
    evidence = evidence_attach(report=report, kind="screenshot", data=jpeg())
    before = last_seq()

    response = logged_in(reporter).get(reverse("incidents:evidence-preview", args=[evidence.pk]))

    assert response.status_code == 200
    event = only_event_since(before)
    assert (event.action, event.subject, event.actor) == ("evidence_view", f"evidence:{evidence.pk}",
                                                          reporter)


def test_staff_reading_a_support_mail_writes_one_view_event_and_a_refused_reader_none(report, reporter,
                                                                                       moderator):
    evidence = evidence_attach(report=report, kind="support_email", data=build_mail())
    url = reverse("verification:evidence-mail", args=[evidence.pk])
    before = last_seq()

    assert logged_in(reporter).get(url).status_code == 404
    assert last_seq() == before
    assert logged_in(moderator).get(url).status_code == 200

    event = only_event_since(before)
    assert (event.action, event.subject, event.actor) == ("evidence_view", f"evidence:{evidence.pk}",
                                                          moderator)


def test_publishing_a_release_writes_one_event_with_its_manifest_digest(report, signing):
    before = last_seq()

    release = release_publish(incident=report.incident)

    event = only_event_since(before)
    assert (event.action, event.subject, event.actor_label) == (
        "export_publish", f"release:{report.incident.slug}/1", "command line")
    assert event.data == {"rows": 1, "claims": 2, "manifest_sha256": release.manifest_sha256}


def test_a_draft_export_writes_one_event_with_its_manifest_digest(report, signing, tmp_path):
    before = last_seq()

    register_export(incident=report.incident, folder=tmp_path / "draft")

    event = only_event_since(before)
    digest = hashlib.sha256((tmp_path / "draft" / "manifest.json").read_bytes()).hexdigest()
    assert (event.action, event.subject) == ("export_draft", f"release:{report.incident.slug}/draft")
    assert event.data == {"rows": 1, "claims": 2, "manifest_sha256": digest}


def test_issuing_a_token_writes_one_event_without_the_token():
    before = last_seq()

    token = token_issue(email="writer@example.org", role="journalist")

    event = only_event_since(before)
    assert (event.action, event.data) == ("token_issue", {"role": "journalist"})
    assert event.actor_label == "command line"
    assert event.subject.startswith("user:") and "writer" not in event.subject
    assert token not in json.dumps([event.subject, event.data, event.actor_label])
