"""The verdict: claim statuses, report tiers, flags and verified loss from stored results."""

from decimal import Decimal

import pytest

from verification.verdict import (
    CheckView,
    ClaimSummary,
    ReportFacts,
    claim_verdict,
    report_verdict,
)

ALL_PASS = {
    "tx_exists": "pass", "tx_succeeded": "pass", "tx_confirmed": "pass", "in_window": "pass",
    "sender_matches": "pass", "recipient_is_attacker": "pass", "amount_matches": "pass",
    "not_claimed_elsewhere": "pass", "usd_value": "pass",
}
REASONS = {
    ("sender_matches", "fail"): ("sender_mismatch",), ("amount_matches", "fail"): ("amount_mismatch",),
    ("not_claimed_elsewhere", "fail"): ("claimed_elsewhere",), ("tx_exists", "error"): ("provider_error",),
    ("usd_value", "inconclusive"): ("price_missing",), ("tx_confirmed", "inconclusive"): ("unconfirmed",),
}


def checks(**changes) -> list[CheckView]:
    outcomes = {**ALL_PASS, **changes}
    return [CheckView(name, outcome, REASONS.get((name, outcome), ()))
            for name, outcome in outcomes.items() if outcome is not None]


@pytest.mark.parametrize(("changes", "status", "reasons"), [
    ({}, "verified", ()),
    ({"usd_value": "inconclusive"}, "verified", ("price_missing",)),
    ({"tx_exists": "error"}, "unchecked", ("provider_error",)),
    ({"tx_exists": "fail", "tx_succeeded": None}, "not_found", ()),
    ({"tx_succeeded": "fail"}, "reverted", ()),
    ({"in_window": "fail"}, "outside_window", ()),
    ({"not_claimed_elsewhere": "fail"}, "duplicate", ("claimed_elsewhere",)),
    ({"sender_matches": "fail", "amount_matches": "fail"}, "mismatch",
     ("sender_mismatch", "amount_mismatch")),
    ({"tx_confirmed": "inconclusive"}, "unconfirmed", ("unconfirmed",)),
    ({"sender_matches": "inconclusive"}, "verified", ()),
    ({"tx_confirmed": "inconclusive", "amount_matches": "fail"}, "mismatch",
     ("unconfirmed", "amount_mismatch")),
    ({"not_claimed_elsewhere": "fail", "amount_matches": "fail"}, "duplicate",
     ("amount_mismatch", "claimed_elsewhere")),
])
def test_claim_status_follows_the_first_blocking_check(changes, status, reasons):
    verdict = claim_verdict(checks(**changes))

    assert verdict.status == status
    assert set(verdict.reasons) == set(reasons)


def test_a_claim_without_results_is_unchecked():
    assert claim_verdict([]).status == "unchecked"


def transfer(status: str, usd: str | None = "100") -> ClaimSummary:
    return ClaimSummary("transfer", status, Decimal(usd) if usd is not None else None)


@pytest.mark.parametrize(("facts", "tier", "flags", "loss"), [
    (ReportFacts(), "T0", (), "0.00"),
    (ReportFacts(has_reference=True, claims=(transfer("unchecked", None),)), "T1", (), "0.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"),)), "T2", (), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"), transfer("verified", "50.5"))),
     "T2", (), "150.50"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"), transfer("not_found", None))),
     "T2", ("tx_not_found",), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"), transfer("duplicate"))),
     "T1", ("tx_claimed_elsewhere",), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"),), claimed_loss_usd=Decimal("126")),
     "T2", ("claim_exceeds_proof",), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"),), claimed_loss_usd=Decimal("125")),
     "T2", (), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified", None),), claimed_loss_usd=Decimal("900")),
     "T2", (), "0.00"),
    (ReportFacts(has_reference=True, claims=(transfer("mismatch"),), claimed_loss_usd=Decimal("900")),
     "T1", (), "0.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"),), ticket_status="dkim_verified"),
     "T3", (), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"),), ticket_status="attested",
                 ownership_proven=True), "T4", (), "100.00"),
    (ReportFacts(has_reference=True, ticket_status="dkim_verified"), "T1", (), "0.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"),), ticket_status="dkim_verified",
                 mail_flags=frozenset({"mail_forged"})), "T1", ("mail_forged",), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"), transfer("duplicate")),
                 resolved_flags=frozenset({"tx_claimed_elsewhere"})), "T2", ("tx_claimed_elsewhere",),
     "100.00"),
    (ReportFacts(has_reference=True, trade_loss_proven=True), "T2", (), "0.00"),
])
def test_report_tier_flags_and_verified_loss(facts, tier, flags, loss):
    verdict = report_verdict(facts)

    assert (verdict.tier, verdict.flags, verdict.verified_loss_usd) == (tier, flags, Decimal(loss))
