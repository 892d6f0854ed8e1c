"""A batch of reports is stored in bulk with exactly the rows each report gets when checked alone."""

from decimal import Decimal

import pytest

from incidents.models import Claim, Report
from verification import services
from verification.models import CheckResult
from verification.services import reports_verify

pytestmark = pytest.mark.django_db


def stored(reports: list[Report]) -> dict:
    """Everything a check writes for these reports, timestamps aside (they are when, not what)."""
    ids = [r.pk for r in reports]
    return {
        "reports": sorted(Report.objects.filter(pk__in=ids).values_list(
            "pk", "status", "tier", "flags", "verified_loss_usd", "ticket_status")),
        "claims": sorted(Claim.objects.filter(report_id__in=ids).values_list(
            "pk", "status", "checked_status", "reasons", "usd_value", "block_number", "block_time", "settled",
            "chain_sender", "binding")),
        "results": sorted(CheckResult.objects.filter(report_id__in=ids).values_list(
            "report_id", "claim_id", "check_name", "outcome", "reasons", "raw", "provider", "attempts"),
            key=repr),
    }


def mixed_batch(world) -> dict[str, Report]:
    victims, attacker = world.victims, world.attackers[0]
    valid_eth = world.send_eth(victims[0], attacker, "1.5")
    valid_token = world.send_token(victims[1], world.attackers[1], "2500")
    short = world.send_eth(victims[2], attacker, "0.5")
    shared = world.send_eth(victims[3], attacker, "0.7")
    return {
        "valid_eth": world.report({"tx_hash": valid_eth, "asset": "ETH", "amount": Decimal("1.5")}),
        "valid_token": world.report({"tx_hash": valid_token, "asset": "TUSD", "amount": Decimal("2500")}),
        "wrong_amount": world.report({"tx_hash": short, "asset": "ETH", "amount": Decimal("5")}),
        "missing": world.report({"tx_hash": "0x" + "ab" * 32, "asset": "ETH"}),
        "contested_a": world.report({"tx_hash": shared, "asset": "ETH"}),
        "contested_b": world.report({"tx_hash": shared, "asset": "ETH"}),
    }


def test_a_mixed_batch_in_parts_stores_what_each_report_checked_alone_stores(world, monkeypatch):
    reports = mixed_batch(world)
    ordered = list(reports.values())
    monkeypatch.setattr(services, "READ_AHEAD_REPORTS", 2)  # three parts, each its own statements

    reports_verify(report_ids=[r.pk for r in ordered])
    in_bulk = stored(ordered)
    for report in ordered:
        reports_verify(report_ids=[report.pk])
    alone = stored(ordered)

    assert in_bulk == alone
    status = {name: Claim.objects.get(report=report).status for name, report in reports.items()}
    assert status == {"valid_eth": "verified", "valid_token": "verified", "wrong_amount": "mismatch",
                      "missing": "not_found", "contested_a": "contested", "contested_b": "contested"}
    usd = {name: Claim.objects.get(report=report).usd_value for name, report in reports.items()}
    assert usd["valid_eth"] == Decimal("3000.00") and usd["valid_token"] == Decimal("2500.00")
    # One result set per claim, each check once, the rival citation named in the raw data.
    per_claim = CheckResult.objects.filter(report_id__in=[r.pk for r in ordered]).values_list(
        "claim_id", "check_name")
    assert len(per_claim) == len(set(per_claim))
    citation = CheckResult.objects.get(claim__report=reports["contested_a"],
                                       check_name="not_claimed_elsewhere")
    assert citation.raw["other_reports"] == [reports["contested_b"].pk]
    assert (citation.outcome, citation.reasons) == ("inconclusive", ["contested"])
    missing = CheckResult.objects.get(claim__report=reports["missing"], check_name="tx_exists")
    assert missing.outcome == "fail"
