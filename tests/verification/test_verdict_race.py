"""Checks of one report finishing at the same moment still leave the verdict that counts both."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from incidents.models import Claim
from incidents.services import evidence_attach
from tests.factories import IncidentFactory, ReportFactory
from tests.verification.dkim_fixtures import binance_with_archived_key, build_mail, rsa_key, sign
from verification.evidence import evidence_verify
from verification.services import reports_recompute

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite",
                       reason="SQLite runs one write transaction at a time; the race needs PostgreSQL"),
]


@pytest.fixture
def report():
    incident = IncidentFactory()
    exchange = binance_with_archived_key(incident)
    report = ReportFactory(incident=incident, exchange=exchange, support_ticket_id="12345678",
                           contact_email="victim@example.org", claimed_loss_usd=Decimal("100"))
    report.claims.create(chain="eip155:1", tx_hash="0x" + "ab" * 32)
    return report


def test_a_transfer_check_and_a_mail_check_committing_together_reach_t3(report):
    evidence = evidence_attach(report=report, kind="support_email",
                               data=sign(build_mail(), key=rsa_key("binance-2022")))
    recomputed = threading.Event()

    def transfer_check() -> None:
        try:
            with transaction.atomic():
                Claim.objects.filter(report=report).update(status="verified", checked_status="verified",
                                                           usd_value=Decimal("100"))
                reports_recompute(report_ids=[report.pk])
                recomputed.set()
                time.sleep(1.0)  # the mail check runs now, before this commits
        finally:
            connection.close()

    worker = threading.Thread(target=transfer_check)
    worker.start()
    assert recomputed.wait(10)
    evidence_verify(evidence_id=evidence.pk)
    worker.join()

    report.refresh_from_db()
    assert report.tier == "T3"
