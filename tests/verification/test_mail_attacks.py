"""Forging support mails, from the attacker's side: real dkimpy signatures, the real worker where it counts.

Each attack starts from a genuine mail signed by the exchange's key and changes what a fraudster
can change without the key: unsigned headers, line endings, extra signatures of their own, the
addresses they declare. None of it may lift a report to T3 or bind a transfer to them.
"""

import csv
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.services import token_issue
from incidents.models import DkimKey, DraftUpload, Evidence, Report, ReportDraft
from tests.conftest import wait_for
from tests.factories import login_with_second_factor
from tests.verification.dkim_fixtures import FakeDns, binance_with_archived_key, build_mail, rsa_key, sign
from verification.checks.mail import ArchivedKey, mail_check
from verification.models import CheckResult
from verification.services import ticket_outcome

PATTERN = r"Ticket #(\d{8})"
BINANCE_KEY = "s2022._domainkey.binance.com"
EVM_TX = "0x" + "AB" * 32
BTC_TXID = "CD" * 32
PLAIN = "Your account is under review.\r\n"
PLAIN_SUBJECT = "Your account"
TICKET_SUBJECT = "Re: [Ticket #99999999] Unauthorised withdrawal"


def genuine(*, subject: str = PLAIN_SUBJECT, body: str = PLAIN, to: str = "victim@example.org",
            headers: list[bytes] | None = None, date: str | None = None) -> bytes:
    """Return a mail binance.com really sent, signed by dkimpy with its key."""
    mail = build_mail(subject=subject, body=body, to=to, **({"date": date} if date else {}))
    options = {"headers": headers} if headers else {}
    return sign(mail, key=rsa_key("binance"), **options)


def check(raw: bytes, *, dns: FakeDns | None = None, archive: list[ArchivedKey] = (),
          claimed: str = "99999999", contact: str = "victim@example.org", **kwargs):
    """Run the mail check as the exchange Binance of a test incident runs it."""
    options = {"support_domains": ["binance.com"], "ticket_pattern": PATTERN, "claimed_ticket": claimed,
               "contact_email": contact, "archived_keys": list(archive),
               "dns_lookup": dns if dns is not None else FakeDns({BINANCE_KEY: rsa_key("binance").txt()})}
    return mail_check(raw=raw, **{**options, **kwargs})


def dkim_raw(findings) -> dict:
    return next(o for o in findings.outcomes if o.name == "dkim_signature").raw


def insert_header(signed: bytes, line: bytes, *, on_top: bool = False) -> bytes:
    """Add an unsigned header line at the end of the header section (or on top, under the signature)."""
    position = signed.index(b"\r\nFrom: " if on_top else b"\r\n\r\n") + 2
    return signed[:position] + line + signed[position:]


# ---- One reading of the bytes -----------------------------------------------------------------


def test_an_unsigned_header_with_bare_carriage_returns_cannot_smuggle_a_forged_ticket():
    forged = insert_header(genuine(), b"X-Note: x\r\rTicket #99999999 refund of 250,000 USDT approved\r\n")

    findings = check(forged)

    assert findings.ticket_status == "dkim_invalid"
    assert findings.flags == {"mail_forged"}
    raw = dkim_raw(findings)
    assert "bare_cr" in next(o for o in findings.outcomes if o.name == "dkim_signature").reasons
    assert raw["ticket_id"] == "" and raw["signature_verified"] is False
    assert raw["flags"] == ["mail_forged"]


def test_a_mail_with_line_endings_of_two_kinds_is_refused_even_though_dkim_still_verifies():
    signed = genuine(subject=TICKET_SUBJECT)
    mixed = signed.replace(b"under review.\r\n", b"under review.\n")

    findings = check(mixed)

    assert dkim_raw(findings)["signatures"][0]["result"] == "pass"  # dkimpy reads both endings alike
    assert findings.ticket_status == "dkim_invalid"
    assert "mixed_line_endings" in next(o for o in findings.outcomes if o.name == "dkim_signature").reasons


def test_a_nul_byte_in_an_unsigned_header_is_refused():
    forged = insert_header(genuine(subject=TICKET_SUBJECT),
                           b"X-Note: a\x00b\r\n")

    findings = check(forged)

    assert findings.ticket_status == "dkim_invalid"
    assert "nul_byte" in next(o for o in findings.outcomes if o.name == "dkim_signature").reasons


def test_a_second_envelope_line_among_the_headers_is_refused():
    forged = insert_header(genuine(subject=TICKET_SUBJECT),
                           b"From someone Tue Nov 15 10:00:00 2022\r\n")

    assert check(forged).ticket_status == "dkim_invalid"


def test_the_staff_mail_view_shows_the_reading_dkim_verified_not_the_smuggled_text(client, db):
    from incidents.services import evidence_attach
    from tests.factories import IncidentFactory, ReportFactory, UserFactory
    from verification.evidence import evidence_verify

    incident = IncidentFactory()
    binance_with_archived_key(incident)
    report = ReportFactory(incident=incident, exchange=incident.exchanges.get(), support_ticket_id="99999999")
    forged = insert_header(genuine(), b"X-Note: x\r\rTicket #99999999 refund approved\r\n")
    evidence = evidence_attach(report=report, kind="support_email", data=forged)
    evidence_verify(evidence_id=evidence.pk)
    login_with_second_factor(client, UserFactory(is_staff=True))

    page = client.get(f"/evidence/{evidence.pk}/mail/").content.decode()

    assert "Your account is under review." in page
    assert "refund approved" not in page
    assert "bare_cr" in page
    assert 'class="badge">signed' not in page  # no signature counts for it


# ---- What the aligned signature covers --------------------------------------------------------


def attacker_archive() -> list[ArchivedKey]:
    return [ArchivedKey("evil.example", "s1", rsa_key("attacker").public_b64)]


def test_a_second_signature_by_the_attackers_domain_does_not_vouch_for_the_subject():
    narrow = genuine(headers=[b"from", b"to", b"date", b"message-id"])
    forged = narrow.replace(f"Subject: {PLAIN_SUBJECT}".encode(), b"Subject: Ticket #99999999 approved")
    resigned = sign(forged, key=rsa_key("attacker"), domain="evil.example", selector="s1",
                    headers=[b"from", b"subject"])

    findings = check(resigned, archive=attacker_archive())

    results = sorted(s["result"] for s in dkim_raw(findings)["signatures"])
    assert findings.ticket_status == "dkim_invalid"
    assert "required_headers_unsigned" in next(o for o in findings.outcomes
                                               if o.name == "dkim_signature").reasons
    assert results == ["headers_unsigned", "pass"]
    assert dkim_raw(findings)["ticket_id"] == ""


def test_a_support_signature_that_leaves_to_unsigned_does_not_verify_the_mail():
    narrow = genuine(subject=TICKET_SUBJECT,
                     headers=[b"from", b"subject", b"date"])
    readdressed = narrow.replace(b"To: victim@example.org", b"To: fraudster@evil.example")

    findings = check(readdressed, contact="fraudster@evil.example")

    assert findings.ticket_status == "dkim_invalid"
    assert dkim_raw(findings)["addressed_to_reporter"] is False


def test_an_unsigned_cc_does_not_address_the_mail_to_the_fraudster():
    signed = genuine(subject=TICKET_SUBJECT)
    copied = insert_header(signed, b"Cc: fraudster@evil.example\r\n")

    findings = check(copied, contact="fraudster@evil.example")

    assert findings.ticket_status == "recipient_mismatch"
    assert findings.flags == set()
    assert dkim_raw(findings)["addressed_to_reporter"] is False
    assert dkim_raw(findings)["signature_verified"] is True


def test_a_second_cc_header_is_a_duplicated_header():
    mail = build_mail(subject=TICKET_SUBJECT)
    mail = mail.replace(b"\r\nSubject:", b"\r\nCc: victim@example.org\r\nSubject:")
    signed = sign(mail, key=rsa_key("binance"), headers=[b"from", b"to", b"cc", b"subject", b"date"])
    forged = insert_header(signed, b"Cc: fraudster@evil.example\r\n", on_top=True)  # DKIM signs the last one

    findings = check(forged, contact="fraudster@evil.example")

    assert findings.ticket_status == "dkim_invalid"
    assert "duplicated_header:cc" in next(o for o in findings.outcomes if o.name == "dkim_signature").reasons


def test_a_ticket_id_in_an_unsigned_mail_is_not_read():
    findings = check(build_mail(subject=TICKET_SUBJECT))

    assert findings.ticket_status == "unsigned"
    assert dkim_raw(findings)["ticket_id"] == ""
    assert dkim_raw(findings)["tx_hashes"] == []


def test_key_validity_is_judged_by_a_signed_date_only():
    # A key retired at the end of 2022 signs a mail whose signature leaves Date out: the Date the
    # mail shows is anyone's word, so only a key without bounds could apply to it.
    retired = [ArchivedKey("binance.com", "s2022", rsa_key("binance").public_b64,
                           datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))]
    mail = genuine(subject=TICKET_SUBJECT, headers=[b"from", b"to", b"subject"])

    findings = check(mail, archive=retired)

    assert dkim_raw(findings)["signatures"][0]["result"] == "key_expired"
    assert findings.ticket_status == "dkim_invalid"


# ---- Signatures and DNS -----------------------------------------------------------------------


def test_more_than_five_signatures_are_refused_without_a_single_lookup():
    mail = genuine(subject=TICKET_SUBJECT)
    for _ in range(5):
        mail = sign(mail, key=rsa_key("binance"))
    dns = FakeDns({BINANCE_KEY: rsa_key("binance").txt()})

    findings = check(mail, dns=dns)

    assert findings.ticket_status == "dkim_invalid"
    assert next(o for o in findings.outcomes if o.name == "dkim_signature").reasons == ["too_many_signatures"]
    assert dns.asked == []


def test_keys_of_domains_that_are_not_the_exchanges_are_never_looked_up_in_dns():
    raw = build_mail(sender="Binance Support <support@binance-support.example>")
    signed = sign(raw, key=rsa_key("lookalike"), domain="binance-support.example", selector="mail")
    dns = FakeDns({"mail._domainkey.binance-support.example": rsa_key("lookalike").txt()})

    findings = check(signed, dns=dns)

    assert dns.asked == []
    assert findings.ticket_status == "key_unknown"


# ---- Recipient and what the lead's verdict reads ----------------------------------------------


def test_a_genuine_mail_addressed_to_someone_else_is_recipient_mismatch_without_a_flag():
    someone_elses = genuine(subject=TICKET_SUBJECT, to="real.victim@example.org")

    findings = check(someone_elses, contact="fraudster@evil.example")

    assert findings.ticket_status == "recipient_mismatch"
    assert findings.flags == set()
    raw = dkim_raw(findings)
    assert (raw["ticket_status"], raw["signature_verified"], raw["addressed_to_reporter"]) == (
        "recipient_mismatch", True, False)


def test_a_mail_to_the_declared_exchange_address_is_addressed_to_the_reporter():
    mail = genuine(subject=TICKET_SUBJECT, to="Trading <Trade.Desk@Example.org>")

    findings = check(mail, contact="someone@example.net", exchange_email="trade.desk@example.org")

    assert findings.ticket_status == "dkim_verified"
    assert dkim_raw(findings)["addressed_to_reporter"] is True


def test_a_withdrawal_notice_names_its_hashes_only_from_the_signed_part():
    body = f"Withdrawal completed.\r\nTxID: {EVM_TX}\r\nBitcoin: {BTC_TXID}\r\n"
    signed = genuine(subject="Withdrawal notice", body=body)
    noted = insert_header(signed, f"X-Note: {'ef' * 32}\r\n".encode())

    raw = dkim_raw(check(noted, claimed=""))

    assert raw["signature_verified"] is True and raw["addressed_to_reporter"] is True
    assert raw["tx_hashes"] == [EVM_TX.lower(), BTC_TXID.lower(), "0x" + BTC_TXID.lower()]
    assert raw["mail_date"] == "2022-11-15T10:00:00+00:00"
    assert raw["ticket_id"] == ""


# ---- Through the API, the form and the sheet, with the real worker ----------------------------


@pytest.fixture
def worker_world(transactional_db, anvil, chain_settings, worker_evidence_storage, monkeypatch):
    """An incident on anvil with Binance and its archived key; files kept where the worker reads."""
    from tests.verification.conftest import build_world

    for model, name in ((Evidence, "file"), (Evidence, "preview"), (DraftUpload, "file")):
        monkeypatch.setattr(model._meta.get_field(name), "storage", worker_evidence_storage)
    cache.clear()  # throttle counts are keyed by user id, and ids come back between tests
    world = build_world(anvil)
    binance_with_archived_key(world.incident)
    DkimKey.objects.filter(incident=world.incident).update(public_key=rsa_key("binance").public_b64)
    return world


def now_mail(**fields) -> bytes:
    """A genuine mail about ticket 12345678, dated now (inside the incident window)."""
    fields.setdefault("subject", "Re: [Ticket #12345678] Unauthorised withdrawal")
    return genuine(date=format_datetime(datetime.now(UTC)), **fields)


def stolen_transfer(world) -> str:
    tx_hash = world.send_eth(world.victims[0], world.attackers[0], "1.5")
    world.mine(2)
    return tx_hash


def settled(report: Report) -> Report:
    """Wait until the worker has checked the report's transfers and its mail; return it fresh."""
    def done():
        checked = not report.claims.exclude(status="verified").exists()
        mailed = CheckResult.objects.filter(report=report, check_name="dkim_signature").exists()
        return checked and mailed
    wait_for(done, timeout=90)
    report.refresh_from_db()
    return report


def stored_ticket(report: Report) -> tuple[str, dict]:
    results = list(CheckResult.objects.filter(report=report, check_name="dkim_signature"))
    return ticket_outcome(results, [])[0], results[0].raw


def test_a_forged_ticket_uploaded_through_the_api_is_flagged_and_caps_the_report(worker_world, celery_worker):
    world = worker_world
    token = token_issue(email="fraud@evil.example", role="reporter")
    client = Client(headers={"Authorization": f"Token {token}"})
    body = {"incident": world.incident.slug, "exchange": "Binance", "support_ticket_id": "99999999",
            "contact_email": "victim@example.org",
            "claims": [{"chain": world.incident.chains.get().caip2, "tx_hash": stolen_transfer(world),
                        "asset": "ETH", "amount": "1.5"}]}
    created = client.post("/api/v1/reports/", json.dumps(body), content_type="application/json")
    note = b"X-Note: x\r\rTicket #99999999 refund approved\r\n"
    forged = insert_header(now_mail(subject=PLAIN_SUBJECT), note)

    uploaded = client.post(f"/api/v1/reports/{created.json()['id']}/evidence/",
                           {"kind": "support_email", "file": SimpleUploadedFile("ticket.eml", forged)})

    assert uploaded.status_code == 201, uploaded.content
    report = settled(Report.objects.get(pk=created.json()["id"]))
    status, raw = stored_ticket(report)
    assert (status, raw["ticket_id"], raw["flags"]) == ("dkim_invalid", "", ["mail_forged"])
    assert (report.tier, report.flags) == ("T1", ["mail_forged"])


def file_through_the_form(world, *, exchange_email: str, mail: bytes) -> Report:
    """File a report as a signed-in victim through every step of the web form."""
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(email="victim@example.org"))
    client.post(reverse("incidents:draft-start"))
    draft = ReportDraft.objects.latest("created_at")

    def step(name, data):
        response = client.post(reverse("incidents:draft-step", args=[draft.pk, name]), data)
        assert response.status_code == 302, response.content.decode()[:3000]

    step("incident", {"incident": world.incident.pk})
    step("account", {"exchange": str(world.incident.exchanges.get().pk), "notes": "My ETH left overnight.",
                     "support_ticket_id": "12345678", "exchange_email": exchange_email})
    step("transfers", {"transfers-TOTAL_FORMS": "1", "transfers-INITIAL_FORMS": "0",
                       "transfers-0-chain": world.incident.chains.get().caip2,
                       "transfers-0-tx_hash": stolen_transfer(world)})
    step("evidence", {"kind": "support_email", "upload": "",
                      "file": SimpleUploadedFile("ticket.eml", mail)})
    step("evidence", {})
    step("consent", {"consent_publish": "pseudonymous", "consent_law_enforcement": "no", "truthful": "on"})
    step("review", {})
    return Report.objects.get(reporter__email="victim@example.org")


def test_a_genuine_mail_to_the_exchange_address_declared_in_the_form_reaches_t3(worker_world, celery_worker):
    mail = now_mail(to="Trading <trading.account@example.net>")
    filed = file_through_the_form(worker_world, exchange_email="Trading.Account@example.net", mail=mail)

    report = settled(filed)

    assert report.exchange_email == "trading.account@example.net"
    assert stored_ticket(report)[0] == "dkim_verified"
    assert (report.tier, report.flags) == ("T3", [])


def test_someone_elses_genuine_mail_filed_through_the_form_is_recipient_mismatch(worker_world, celery_worker):
    mail = now_mail(to="real.victim@example.com")

    report = settled(file_through_the_form(worker_world, exchange_email="", mail=mail))

    status, raw = stored_ticket(report)
    assert status == "recipient_mismatch"
    assert (raw["signature_verified"], raw["addressed_to_reporter"]) == (True, False)
    assert (report.tier, report.flags) == ("T2", [])


def test_the_sheet_maps_the_exchange_address_and_the_worker_judges_the_recipient(worker_world, celery_worker,
                                                                                 tmp_path):
    world = worker_world
    (tmp_path / "mine.eml").write_bytes(now_mail(to="desk@example.net"))
    (tmp_path / "theirs.eml").write_bytes(now_mail(to="somebody@example.com",
                                                   subject="Re: [Ticket #87654321] Unauthorised withdrawal"))
    header = ["reporter", "contact_email", "Exchange account e-mail", "exchange", "chain", "tx_hashes",
              "support_ticket_id", "evidence_files"]
    rows = [["Ana", "ana@example.org", "Desk@Example.net", "Binance", world.incident.chains.get().caip2,
             stolen_transfer(world), "12345678", "mine.eml"],
            ["Bo", "bo@example.org", "", "Binance", world.incident.chains.get().caip2,
             world.send_eth(world.victims[1], world.attackers[1], "0.5"), "87654321", "theirs.eml"]]
    world.mine(2)
    with open(tmp_path / "sheet.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])

    call_command("import_reports", str(tmp_path / "sheet.csv"), "--incident", world.incident.slug,
                 "--map", 'exchange_email="Exchange account e-mail"', stdout=StringIO(), stderr=StringIO())

    ana, bo = (settled(r) for r in Report.objects.filter(incident=world.incident).order_by("source_row"))
    assert ana.exchange_email == "desk@example.net"
    assert (stored_ticket(ana)[0], ana.tier) == ("dkim_verified", "T3")
    assert (stored_ticket(bo)[0], bo.tier, bo.flags) == ("recipient_mismatch", "T2", [])

