"""An incident with reports in every state the register must show, and a signing key for it."""

import base64
import csv
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from incidents.models import (
    AttestationAnswer,
    Claim,
    ClaimKind,
    Consent,
    Evidence,
    Incident,
    Report,
    ReportSource,
    TicketAttestation,
)
from tests.factories import ClaimFactory, ExchangeFactory, IncidentFactory, ReportFactory, UserFactory
from verification.models import CheckResult

CANARY_EMAIL = "CANARY-7f3a@example.org"
CANARY_NAME = "Canary Person"
WHEN = datetime(2022, 11, 15, 10, 0, tzinfo=UTC)
TX_A = "0x" + "a1" * 32


@dataclass
class World:
    incident: Incident
    verified: Report  # web report, decided, T3, with a verified transfer, a trade loss and mails
    imported: Report  # row 7 of an imported sheet, undecided, with hostile text in its claim
    withdrawn: Report
    canary: Report  # the reporter's name and e-mail must never leave the database


def read_csv(path: Path) -> list[list[str]]:
    """Read a CSV file back as rows of strings."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def signing_key(settings, tmp_path) -> Ed25519PrivateKey:
    """Configure a fresh signing key, a releases folder and a report_ref key for the test."""
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    settings.EXPORT_SIGNING_KEY = base64.b64encode(raw).decode()
    settings.EXPORT_DEV_KEY_PATH = tmp_path / "no-dev-key" / "key.pem"
    settings.RELEASES_ROOT = tmp_path / "releases"
    settings.REPORT_REF_KEY = "test-report-ref-key"
    return key


def evidence(report: Report, kind: str, n: int) -> Evidence:
    """Attach a stored-file row of ``kind`` (the register reads only its kind)."""
    sha = hashlib.sha256(f"{report.pk}-{n}".encode()).hexdigest()
    return Evidence.objects.create(report=report, kind=kind, file=f"{report.pk}/{sha}", sha256=sha, size=10)


def mail_result(report: Report, ev: Evidence, ticket_status: str) -> CheckResult:
    """Store a DKIM check result as the mail check does (ticket status in raw)."""
    return CheckResult.objects.create(report=report, evidence=ev, check_name="dkim_signature",
                                      outcome="pass" if ticket_status == "dkim_verified" else "fail",
                                      raw={"ticket_status": ticket_status}, started_at=WHEN, finished_at=WHEN)


def verified_report(incident: Incident, exchange) -> Report:
    report = ReportFactory(incident=incident, exchange=exchange, status="verified", tier="T3",
                           claimed_loss_usd=Decimal("1500"), verified_loss_usd=Decimal("1234.5"),
                           flags=["tx_not_found", "claim_exceeds_proof", "mail_forged"],
                           decided_at=WHEN + timedelta(days=3), decision_reason="proof_sufficient",
                           ticket_status="dkim_verified",
                           resolved_flags=["mail_forged"], submitted_at=WHEN)
    ClaimFactory(report=report, tx_hash=TX_A, log_index=3, asset="ETH", amount=Decimal("0.5"),
                 from_address="0x" + "11" * 20, to_address="0x" + "22" * 20, status="verified",
                 block_number=16_000_000, block_time=WHEN, usd_value=Decimal("1234.5"))
    ClaimFactory(report=report, tx_hash="0x" + "b2" * 32, status="not_found", reasons=[])
    Claim.objects.create(report=report, kind=ClaimKind.TRADE_LOSS, exchange=exchange, status="unchecked")
    mail = evidence(report, "support_email", 1)
    evidence(report, "trade_export", 2)
    evidence(report, "support_email", 3)
    mail_result(report, mail, "dkim_verified")
    return report


def imported_report(incident: Incident) -> Report:
    report = ReportFactory(incident=incident, reporter=None, source=ReportSource.IMPORT,
                           source_file="victims.csv", source_row=7, claimed_loss_usd=None,
                           status="needs_review", tier="T1", ticket_status="dkim_invalid",
                           submitted_at=WHEN + timedelta(hours=1))
    ClaimFactory(report=report, asset="=1+2", to_address='=HYPERLINK("http://evil.example","x")',
                 from_address="@SUM(1+1)", chain="eip155:1", amount=Decimal("2.000001"),
                 status="mismatch", reasons=["amount_mismatch", "sender_mismatch"])
    ClaimFactory(report=report, asset="\tTAB", to_address="+cmd|' /C calc'!A0", from_address="-2+3")
    first, second = evidence(report, "support_email", 1), evidence(report, "support_email", 2)
    mail_result(report, first, "dkim_verified")
    mail_result(report, second, "dkim_invalid")  # a failing signature outweighs a passing one
    return report


def canary_report(incident: Incident, exchange) -> Report:
    person = UserFactory(email=CANARY_EMAIL, username="canary", first_name="Canary", last_name="Person")
    report = ReportFactory(incident=incident, reporter=person, exchange=exchange, reporter_name=CANARY_NAME,
                           contact_email=CANARY_EMAIL, consent_publish=Consent.NAMED,
                           notes=f"write to {CANARY_EMAIL}", police_report=f"filed by {CANARY_NAME}",
                           support_ticket_id="12345678", ticket_status="attested",
                           submitted_at=WHEN + timedelta(hours=2))
    TicketAttestation.objects.create(report=report, exchange=exchange, ticket_id="12345678",
                                     answer=AttestationAnswer.ATTESTED, answered_by=UserFactory())
    return report


@pytest.fixture
def world(db, signing_key) -> World:
    incident = IncidentFactory(slug="api-key-leak-2022", title="Trading-bot API key leak")
    exchange = ExchangeFactory(incident=incident, name="Binance")
    withdrawn = ReportFactory(incident=incident, status="withdrawn", submitted_at=WHEN + timedelta(hours=3))
    ClaimFactory(report=withdrawn, tx_hash="0x" + "c3" * 32)
    ReportFactory(incident=IncidentFactory(), status="verified")  # another incident: never listed
    return World(incident=incident, verified=verified_report(incident, exchange),
                 imported=imported_report(incident), withdrawn=withdrawn,
                 canary=canary_report(incident, exchange))
