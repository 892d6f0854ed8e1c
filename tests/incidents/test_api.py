"""Reporter API: one POST files a report with its claims; reporters see and change only their own."""

import hashlib
import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import User
from accounts.services import token_issue
from incidents import hooks
from incidents.models import Asset, Claim, Evidence, IncidentChain, Report
from tests.factories import ExchangeFactory, IncidentFactory, ReportFactory
from verification.models import CheckResult

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"
TX = "0x" + "ab" * 32
VICTIM = "0x" + "11" * 20
CSV = b"Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n2022-11-20 10:00:00,VIABTC,BUY,0.1,10,1,0\n"
SEED_PHRASE = "abandon ability able about above absent absorb abstract absurd abuse access accident"


class Caller:
    """One person talking to the API with their own token."""

    def __init__(self, email: str, role: str = "reporter"):
        self.client = Client(headers={"Authorization": f"Token {token_issue(email=email, role=role)}"})
        self.user = User.objects.get(email=email)

    def get(self, path):
        return self.client.get(path)

    def post(self, path, body):
        return self.client.post(path, json.dumps(body), content_type="application/json")

    def upload(self, path, *, kind="trade_export", data=CSV, name="history.csv"):
        return self.client.post(path, {"kind": kind, "file": SimpleUploadedFile(name, data)})

    def delete(self, path):
        return self.client.delete(path)


@pytest.fixture(autouse=True)
def fresh_throttle():
    # Throttle counts live in the cache, keyed by user id, and ids are reused between tests.
    cache.clear()


@pytest.fixture
def incident():
    incident = IncidentFactory(slug="api-key-leak-2022")
    IncidentChain.objects.create(incident=incident, caip2="eip155:1")
    IncidentChain.objects.create(incident=incident, caip2="bip122:000000000019d6689c085ae165831e93")
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="ETH", decimals=18)
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="USDT", decimals=6,
                         contract="0x" + "22" * 20)
    ExchangeFactory(incident=incident, name="Binance")
    return incident


@pytest.fixture
def reporter():
    return Caller("reporter@example.org")


@pytest.fixture
def other_reporter():
    return Caller("other@example.org")


def report_body(incident, **overrides) -> dict:
    body = {
        "incident": incident.slug, "exchange": "Binance", "claimed_loss_usd": "1500.00",
        "loss_date": "2022-11-20", "support_ticket_id": "12345678", "police_report": "PR-2022-77",
        "notes": "Withdrawn while I slept.", "consent_publish": "pseudonymous",
        "consent_law_enforcement": True,
        "claims": [{"chain": "eip155:1", "tx_hash": "0x" + TX[2:].upper(), "asset": "usdt",
                    "amount": "1500", "from_address": VICTIM}],
    }
    return {**body, **overrides}


def claim(**overrides) -> dict:
    return {"chain": "eip155:1", "tx_hash": TX, **overrides}


def file_report(caller, incident, **overrides) -> dict:
    response = caller.post(REPORTS, report_body(incident, **overrides))
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_reporter_files_a_report_with_its_claims_in_one_post(reporter, incident,
                                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = reporter.post(REPORTS, report_body(incident))

    assert response.status_code == 201
    report = Report.objects.get()
    assert (report.source, report.status, report.tier) == ("api", "submitted", "T0")
    assert report.reporter.email == "reporter@example.org"
    assert report.contact_email == "reporter@example.org"
    assert (report.exchange.name, report.claimed_loss_usd) == ("Binance", Decimal("1500.00"))
    stored = report.claims.get()
    # Stored in canonical form: lower-case hash and address, the incident's own asset symbol.
    assert (stored.tx_hash, stored.from_address, stored.asset) == (TX, VICTIM, "USDT")
    # Verification is queued for when the transaction commits (the hook verification takes on).
    assert [(job.func, job.keywords) for job in queued] == [(hooks.report_stored, {"report_id": report.pk})]
    body = response.json()
    assert body["id"] == report.pk
    assert body["claims"][0]["status"] == "unchecked"


def test_the_address_the_exchange_writes_to_is_stored_and_shown_back_to_its_owner_only(
        reporter, other_reporter, incident):
    report_id = file_report(reporter, incident, exchange_email=" Desk@Example.NET ")["id"]

    assert Report.objects.get(pk=report_id).exchange_email == "desk@example.net"
    assert reporter.get(f"{REPORTS}{report_id}/").json()["exchange_email"] == "desk@example.net"
    assert other_reporter.get(f"{REPORTS}{report_id}/").status_code == 404


def test_an_exchange_address_that_is_no_email_address_is_refused(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, exchange_email="my binance account"))

    assert response.status_code == 400
    assert "exchange_email" in response.json()
    assert not Report.objects.exists()


def test_a_report_reads_back_with_claims_files_and_checks_but_no_internals(reporter, incident):
    report_id = file_report(reporter, incident)["id"]
    reporter.upload(f"{REPORTS}{report_id}/evidence/")
    report = Report.objects.get(pk=report_id)
    CheckResult.objects.create(report=report, claim=report.claims.get(), check_name="tx_exists",
                               outcome="pass", reasons=[], raw={"rpc": "secret-provider-answer"},
                               provider="http://node.internal:8545", started_at=report.submitted_at,
                               finished_at=report.submitted_at)

    body = reporter.get(f"{REPORTS}{report_id}/").json()

    check = body["checks"][0]
    assert {key: check[key] for key in ("check", "outcome", "reasons", "subject", "subject_id")} == {
        "check": "tx_exists", "outcome": "pass", "reasons": [], "subject": "claim",
        "subject_id": report.claims.get().pk}
    assert set(check) == {"check", "outcome", "reasons", "subject", "subject_id", "checked_at"}
    evidence = body["evidence"][0]
    assert evidence["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert evidence["download_url"].endswith(f"/evidence/{evidence['id']}/download/")
    text = json.dumps(body)
    assert "node.internal" not in text and "secret-provider-answer" not in text
    assert Evidence.objects.get().file.name not in text  # no storage path


def test_a_reporter_lists_only_their_own_reports_newest_first(reporter, other_reporter, incident):
    first = file_report(reporter, incident)["id"]
    file_report(other_reporter, incident)
    second = file_report(reporter, incident, claims=[])["id"]

    body = reporter.get(REPORTS).json()

    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [second, first]


def test_evidence_is_uploaded_by_multipart_and_listed(reporter, incident):
    report_id = file_report(reporter, incident)["id"]

    response = reporter.upload(f"{REPORTS}{report_id}/evidence/")

    assert response.status_code == 201
    assert response.json()["detected_type"] == "text/csv"
    stored = Evidence.objects.get()
    assert (stored.report_id, stored.kind, stored.file.read()) == (report_id, "trade_export", CSV)
    listed = reporter.get(f"{REPORTS}{report_id}/evidence/").json()
    assert [row["id"] for row in listed] == [stored.pk]


def test_a_file_of_a_refused_type_is_a_400_that_says_why(reporter, incident):
    report_id = file_report(reporter, incident)["id"]

    response = reporter.upload(f"{REPORTS}{report_id}/evidence/", kind="screenshot",
                               data=b"<html><script>alert(1)</script></html>", name="shot.png")

    assert response.status_code == 400
    assert "cannot be added as “Screenshot”" in response.json()["file"][0]
    assert not Evidence.objects.exists()


def test_a_file_over_the_size_limit_is_a_413_and_nothing_is_stored(reporter, incident, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    report_id = file_report(reporter, incident)["id"]

    response = reporter.upload(f"{REPORTS}{report_id}/evidence/", data=CSV * 40)

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert not Evidence.objects.exists()


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(reporter, incident, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    report_id = file_report(reporter, incident)["id"]

    response = reporter.upload(f"{REPORTS}{report_id}/evidence/", data=b"a," * 200_000)

    assert response.status_code == 413
    assert not Evidence.objects.exists()


def test_a_json_body_over_djangos_form_limit_is_refused_unread(reporter, incident, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096

    response = reporter.post(REPORTS, report_body(incident, notes="x" * 5000))

    assert response.status_code == 413
    assert not Report.objects.exists()


def test_another_reporters_report_is_not_found_for_every_method(reporter, other_reporter, incident):
    theirs = file_report(other_reporter, incident)["id"]
    url = f"{REPORTS}{theirs}/"

    answers = [reporter.get(url), reporter.delete(url), reporter.get(f"{url}evidence/"),
               reporter.upload(f"{url}evidence/")]

    assert [response.status_code for response in answers] == [404, 404, 404, 404]
    assert Report.objects.filter(pk=theirs).exists()
    assert not Evidence.objects.exists()


def test_withdrawing_erases_the_report_with_its_claims(reporter, incident):
    report_id = file_report(reporter, incident)["id"]

    assert reporter.delete(f"{REPORTS}{report_id}/").status_code == 204

    assert not Report.objects.filter(pk=report_id).exists()
    assert not Claim.objects.exists()
    assert reporter.get(f"{REPORTS}{report_id}/").status_code == 404


@pytest.mark.parametrize("field, value", [
    ("status", "verified"), ("tier", "T4"), ("flags", []), ("verified_loss_usd", "99999"),
    ("decided_at", "2022-12-01T00:00:00Z"), ("source", "import"), ("reporter", 1)])
def test_a_reporter_cannot_set_what_verification_or_moderators_set(reporter, incident, field, value):
    response = reporter.post(REPORTS, report_body(incident, **{field: value}))

    assert response.status_code == 400
    assert "set by verification/moderators" in response.json()[field][0]
    assert not Report.objects.exists()


@pytest.mark.parametrize("field, value", [("status", "verified"), ("usd_value", "1000000"), ("settled", True),
                                          ("block_number", 1)])
def test_a_reporter_cannot_set_a_claims_verified_values(reporter, incident, field, value):
    response = reporter.post(REPORTS, report_body(incident, claims=[claim(**{field: value})]))

    assert response.status_code == 400
    assert "set by verification/moderators" in response.json()["claims"]["0"][field][0]
    assert not Report.objects.exists()


def test_an_unknown_field_is_refused_rather_than_ignored(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, api_secret="x"))

    assert response.status_code == 400
    assert "Unknown field" in response.json()["api_secret"][0]
    assert not Report.objects.exists()


@pytest.mark.parametrize("bad_claim, field, message", [
    (claim(tx_hash="0x1234"), "tx_hash", "64 hexadecimal characters"),
    (claim(chain="bip122:000000000019d6689c085ae165831e93"), "tx_hash", "without 0x"),
    (claim(chain="eip155:56"), "chain", "Not a chain of this incident (known: bip122:"),
    (claim(asset="DOGE"), "asset", "known: ETH, USDT"),
    (claim(from_address="0x1234"), "from_address", "0x followed by 40 hexadecimal characters"),
    (claim(amount="0"), "amount", "more than 0"),
])
def test_a_claim_the_incident_cannot_hold_is_refused_with_a_clear_message(reporter, incident, bad_claim,
                                                                          field, message):
    good_claim = claim(tx_hash="0x" + "cd" * 32)

    response = reporter.post(REPORTS, report_body(incident, claims=[good_claim, bad_claim]))

    assert response.status_code == 400
    errors = response.json()["claims"]  # keyed by the index of each refused claim
    assert list(errors) == ["1"]
    assert message in errors["1"][field][0]
    assert not Report.objects.exists()


def test_the_same_transfer_twice_in_one_report_is_refused(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, claims=[claim(), claim(tx_hash=TX.upper()[2:])]))

    assert response.status_code == 400
    assert "already claimed above" in response.json()["claims"]["1"]["tx_hash"][0]
    assert not Report.objects.exists()


def test_more_claims_than_allowed_are_refused(reporter, incident):
    claims = [claim(tx_hash="0x" + f"{n:064x}") for n in range(51)]

    response = reporter.post(REPORTS, report_body(incident, claims=claims))

    assert response.status_code == 400
    assert not Report.objects.exists()


def test_an_unpublished_incident_cannot_be_reported_on(reporter):
    draft = IncidentFactory(published=False)

    response = reporter.post(REPORTS, report_body(draft, exchange="", claims=[]))

    assert response.status_code == 400
    assert response.json()["incident"] == ["No published incident has this slug."]
    assert not Report.objects.exists()


def test_an_exchange_the_incident_does_not_name_is_refused(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, exchange="Kraken"))

    assert response.status_code == 400
    assert "known: Binance" in response.json()["exchange"][0]


def test_a_named_publication_needs_a_name(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, consent_publish="named"))

    assert response.status_code == 400
    assert "reporter_name" in response.json()


def test_a_loss_date_in_the_future_is_refused(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, loss_date="2999-01-01"))

    assert response.status_code == 400
    assert response.json()["loss_date"] == ["The loss date cannot be in the future."]


def test_a_seed_phrase_in_the_notes_is_refused_and_never_echoed(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, notes=f"my words: {SEED_PHRASE}"))

    assert response.status_code == 400
    assert "seed phrase" in response.json()["notes"][0]
    assert "abandon" not in response.content.decode()
    assert not Report.objects.exists()


def test_a_private_key_in_the_police_reference_is_refused(reporter, incident):
    response = reporter.post(REPORTS, report_body(incident, police_report="key " + "9f" * 32))

    assert response.status_code == 400
    assert "private key" in response.json()["police_report"][0]
    assert not Report.objects.exists()


def test_only_reporters_may_file_reports(incident):
    journalist = Caller("journalist@example.org", role="journalist")

    response = journalist.post(REPORTS, report_body(incident))

    assert response.status_code == 403
    assert journalist.get(REPORTS).json()["count"] == 0
    assert not Report.objects.exists()


def test_a_report_filed_elsewhere_is_read_but_another_users_is_hidden(reporter, incident):
    mine = ReportFactory(incident=incident, reporter=reporter.user)
    ReportFactory(incident=incident)

    body = reporter.get(REPORTS).json()

    assert [row["id"] for row in body["results"]] == [mine.pk]
    assert body["results"][0]["source"] == "web"


def test_writes_are_throttled_per_user(reporter, other_reporter, incident, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"reports": "2/hour"}}
    for _ in range(2):
        file_report(reporter, incident, claims=[])

    refused = reporter.post(REPORTS, report_body(incident, claims=[]))

    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert reporter.get(REPORTS).status_code == 200  # reading is not throttled
    assert other_reporter.post(REPORTS, report_body(incident, claims=[])).status_code == 201
    assert Report.objects.count() == 3


# Twelve short BIP39 words: fits every field's length limit, so each field's own check meets it.
SHORT_SEED = "act add age aim air all also any arm art ask bag"


@pytest.mark.parametrize("where", ["tx_hash", "from_address", "incident", "consent_publish", "exchange",
                                   "chain"])
def test_a_secret_pasted_into_any_field_never_comes_back_in_the_error(reporter, incident, where):
    if where in {"incident", "consent_publish", "exchange"}:
        body = {**report_body(incident), where: SHORT_SEED}
    else:
        body = report_body(incident, claims=[claim(**{where: SHORT_SEED})])

    response = reporter.post(REPORTS, body)

    assert response.status_code == 400
    assert "aim air all" not in response.content.decode()
    if where in {"tx_hash", "from_address"}:
        assert "seed phrase" in response.content.decode()
    assert not Report.objects.exists()


def test_a_ticket_id_in_another_format_than_the_exchanges_is_refused(reporter, incident):
    incident.exchanges.update(ticket_id_regex=r"Ticket #(\d{8})")

    refused = reporter.post(REPORTS, report_body(incident, support_ticket_id="hello"))
    accepted = reporter.post(REPORTS, report_body(incident, support_ticket_id="Ticket #12345678"))

    assert refused.status_code == 400 and "8 digits" in refused.json()["support_ticket_id"][0]
    assert accepted.status_code == 201 and accepted.json()["support_ticket_id"] == "12345678"


def test_a_reporter_downloads_their_file_with_the_token_and_nobody_else_can(reporter, other_reporter,
                                                                             incident):
    report = file_report(reporter, incident)
    uploaded = reporter.upload(f"{REPORTS}{report['id']}/evidence/").json()

    mine = reporter.get(uploaded["download_url"])
    theirs = other_reporter.get(uploaded["download_url"])

    assert mine.status_code == 200 and b"".join(mine.streaming_content) == CSV
    assert mine["Content-Disposition"].startswith("attachment")
    assert mine["Content-Type"] == "application/octet-stream"
    assert theirs.status_code == 404
