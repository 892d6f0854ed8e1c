"""A Bitcoin claim goes through the same engine, against a local Esplora-shaped server."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from incidents.models import Asset, AttackerAddress, Claim, Incident, IncidentChain, Report
from incidents.services import report_create
from tests.verification.esplora_fakes import FakeEsplora, block_hash, esplora_tx, txid
from verification.models import CheckResult, Price
from verification.services import reports_verify

pytestmark = pytest.mark.django_db

BITCOIN = "bip122:000000000019d6689c085ae165831e93"
VICTIM = "bc1qr0w4kkujutvlxz3mygamxk24r5x6yr3hspwd5t"
ATTACKER = "bc1q7dw9yn4pu3e3vj2lrjlx95q9ggnxrnjmypy22x"
MINED_AT = datetime(2022, 11, 20, 14, 5, tzinfo=UTC)


@pytest.fixture
def esplora(settings):
    with FakeEsplora(tip=800_009) as fake:
        settings.ESPLORA_URLS = {BITCOIN: [fake.url]}
        yield fake


@pytest.fixture
def incident():
    incident = Incident.objects.create(slug="btc", title="BTC theft",
                                       window_start=MINED_AT - timedelta(days=5),
                                       window_end=MINED_AT + timedelta(days=5))
    IncidentChain.objects.create(incident=incident, caip2=BITCOIN, confirmations=3)
    AttackerAddress.objects.create(incident=incident, chain=BITCOIN, address=ATTACKER)
    Asset.objects.create(incident=incident, chain=BITCOIN, symbol="BTC", decimals=8)
    Price.objects.create(symbol="BTC", date=MINED_AT.date(), usd=Decimal("16500"))
    return incident


def test_a_bitcoin_payment_to_an_attacker_is_verified_and_valued(esplora, incident):
    tx = esplora.add(esplora_tx(txid("theft"), inputs=[(VICTIM, 80_000_000)],
                                outputs=[(ATTACKER, 50_000_000), (VICTIM, 29_990_000)],
                                block=(800_000, block_hash("b"), int(MINED_AT.timestamp()))))
    report = report_create(incident=incident, claimed_loss_usd=Decimal("8250"), claims=[
        {"chain": BITCOIN, "tx_hash": tx, "asset": "BTC", "amount": Decimal("0.5"), "from_address": VICTIM}])

    reports_verify(report_ids=[report.pk])

    claim, report = Claim.objects.get(report=report), Report.objects.get(pk=report.pk)
    assert (claim.status, claim.usd_value, claim.block_number) == ("verified", Decimal("8250.00"), 800_000)
    assert (report.tier, report.verified_loss_usd) == ("T2", Decimal("8250.00"))
    assert CheckResult.objects.filter(claim=claim, outcome="pass").count() == 9


def test_a_bitcoin_transaction_the_server_does_not_know_is_not_found(esplora, incident):
    report = report_create(incident=incident, claims=[{"chain": BITCOIN, "tx_hash": txid("nothing")}])

    reports_verify(report_ids=[report.pk])

    assert Claim.objects.get(report=report).status == "not_found"
