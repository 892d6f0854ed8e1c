"""The citation attack end to end: two reporters cite one public transfer through the API, a real
worker checks both, and the register shows who proved it was theirs."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from incidents.models import Report
from registry.exports import report_ref
from tests.conftest import ANVIL_CAIP2, wait_for
from tests.incidents.test_api import Caller
from tests.registry.conftest import signing_key  # noqa: F401 - the register is signed


@pytest.fixture
def committed_world(transactional_db, anvil, chain_settings):
    from tests.verification.conftest import build_world

    return build_world(anvil)


def file_report(caller: Caller, world, tx: str, sender: str) -> int:
    body = {"incident": world.incident.slug, "claimed_loss_usd": "1000.00", "consent_publish": "pseudonymous",
            "claims": [{"chain": ANVIL_CAIP2, "tx_hash": tx, "asset": "ETH", "from_address": sender}]}
    response = caller.post("/api/v1/reports/", body)
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def register(world, out: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    call_command("export_register", "--incident", world.incident.slug, "--out", str(out), verbosity=0)
    reports = {r["report_ref"]: r for r in csv.DictReader((out / "reports.csv").open(encoding="utf-8"))}
    claims = {r["report_ref"]: r for r in csv.DictReader((out / "claims.csv").open(encoding="utf-8"))}
    return reports, claims


def checked(*ids: int) -> bool:
    return Report.objects.filter(pk__in=ids, status="needs_review").count() == len(ids)


@pytest.mark.chain
@pytest.mark.worker
def test_a_fraudster_citing_a_victims_transfer_first_wins_nothing_and_loses_once_it_is_bound(
        celery_worker, committed_world, signing_key, tmp_path):  # noqa: F811 - the imported fixture
    world = committed_world
    victim_address = world.victims[0]
    tx = world.send_eth(victim_address, world.attackers[0], "0.5")
    fraudster, victim = Caller("fraud@example.org"), Caller("victim@example.org")

    fraud_id = file_report(fraudster, world, tx, victim_address)  # first, with the public sender
    victim_id = file_report(victim, world, tx, victim_address)
    wait_for(lambda: checked(fraud_id, victim_id), timeout=60)

    reports, claims = register(world, tmp_path / "before")
    for ref in (report_ref(fraud_id), report_ref(victim_id)):
        assert (reports[ref]["tier"], reports[ref]["flags"], reports[ref]["verified_loss_usd"]) == (
            "T1", "tx_contested", "0.00")
        assert (claims[ref]["status"], claims[ref]["reasons"]) == ("contested", "contested")

    challenge = victim.get(f"/api/v1/reports/{victim_id}/ownership/challenge/?address={victim_address}")
    text = challenge.json()["challenge"]
    signature = world.node.rpc.call("personal_sign", "0x" + text.encode().hex(), victim_address)
    proof = victim.post(f"/api/v1/reports/{victim_id}/ownership/proof/",
                        {"address": victim_address, "signature": signature})
    assert proof.status_code == 201 and proof.json()["tier"] == "T2"

    reports, claims = register(world, tmp_path / "after")
    mine, theirs = report_ref(victim_id), report_ref(fraud_id)
    assert (reports[mine]["tier"], reports[mine]["flags"]) == ("T2", "")
    assert Decimal(reports[mine]["verified_loss_usd"]) == Decimal("1000.00")
    assert claims[mine]["status"] == "verified"
    assert (reports[theirs]["tier"], reports[theirs]["flags"]) == ("T1", "tx_claimed_elsewhere")
    assert (claims[theirs]["status"], claims[theirs]["reasons"]) == ("duplicate", "claimed_elsewhere")
