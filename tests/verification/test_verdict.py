"""The verdict: claim statuses, report tiers, flags and verified loss from stored results."""

from decimal import Decimal

import pytest

from verification.verdict import (
    CheckView,
    Citation,
    ClaimSummary,
    MailView,
    ReportFacts,
    citation_status,
    claim_binding,
    claim_verdict,
    report_verdict,
    ticket_base,
    ticket_status,
)

ALL_PASS = {
    "tx_exists": "pass", "tx_succeeded": "pass", "tx_confirmed": "pass", "in_window": "pass",
    "sender_matches": "pass", "recipient_is_attacker": "pass", "amount_matches": "pass", "usd_value": "pass",
}
REASONS = {
    ("sender_matches", "fail"): ("sender_mismatch",), ("amount_matches", "fail"): ("amount_mismatch",),
    ("tx_exists", "error"): ("provider_error",),
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
    ({"sender_matches": "fail", "amount_matches": "fail"}, "mismatch",
     ("sender_mismatch", "amount_mismatch")),
    ({"tx_confirmed": "inconclusive"}, "unconfirmed", ("unconfirmed",)),
    ({"sender_matches": "inconclusive"}, "verified", ()),
    ({"tx_confirmed": "inconclusive", "amount_matches": "fail"}, "mismatch",
     ("unconfirmed", "amount_mismatch")),
])
def test_claim_status_follows_the_first_blocking_check(changes, status, reasons):
    verdict = claim_verdict(checks(**changes))

    assert verdict.status == status
    assert set(verdict.reasons) == set(reasons)


def test_a_claim_without_results_is_unchecked():
    assert claim_verdict([]).status == "unchecked"


def transfer(status: str, usd: str | None = "100", binding: str = "") -> ClaimSummary:
    return ClaimSummary("transfer", status, Decimal(usd) if usd is not None else None, binding)


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
    (ReportFacts(has_reference=True, claims=(transfer("verified", binding="signature"),),
                 ticket_status="attested"), "T4", (), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified", binding="withdrawal_mail"),),
                 ticket_status="dkim_verified"), "T4", (), "100.00"),
    # A bound transfer that is not verified binds no loss: no T4.
    (ReportFacts(has_reference=True, claims=(transfer("verified"), transfer("mismatch", binding="signature")),
                 ticket_status="attested"), "T3", (), "100.00"),
    (ReportFacts(has_reference=True, claims=(transfer("contested"),), ticket_status="dkim_verified"),
     "T1", ("tx_contested",), "0.00"),
    (ReportFacts(has_reference=True, claims=(transfer("verified"), transfer("contested"))),
     "T2", ("tx_contested",), "100.00"),
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


def cite(report_id: int, status: str = "verified", binding: str = "") -> Citation:
    return Citation(report_id=report_id, checked_status=status, binding=binding)


@pytest.mark.parametrize(("own", "rivals", "status", "reasons"), [
    (cite(1), [], "verified", ()),
    (cite(1), [cite(1)], "verified", ()),  # itself is no rival
    (cite(1), [cite(2)], "contested", ("contested",)),
    (cite(1), [cite(2, "unconfirmed")], "contested", ("contested",)),
    (cite(1), [cite(2, "mismatch")], "verified", ()),  # a citation whose own checks fail competes not
    (cite(1, "mismatch"), [cite(2)], "mismatch", ()),
    (cite(1, binding="signature"), [cite(2)], "verified", ()),
    (cite(1), [cite(2, binding="signature")], "duplicate", ("claimed_elsewhere",)),
    (cite(1, binding="withdrawal_mail"), [cite(2, binding="signature")], "duplicate", ("claimed_elsewhere",)),
    (cite(1, binding="decision"), [cite(2, binding="signature")], "verified", ()),
    (cite(1, binding="signature"), [cite(2, binding="signature")], "contested", ("contested",)),
    (cite(1, "unconfirmed", binding="signature"), [cite(2)], "unconfirmed", ()),
])
def test_a_transfer_cited_by_several_reports_counts_only_where_it_is_bound(own, rivals, status, reasons):
    assert citation_status(own, rivals) == (status, reasons)


def test_a_claim_whose_own_checks_hold_up_is_a_duplicate_once_another_report_binds_the_transfer():
    own = claim_verdict(checks())

    assert own.status == "verified"
    assert citation_status(cite(1, own.status), [cite(2, binding="signature")]) == ("duplicate",
                                                                                    ("claimed_elsewhere",))


def test_a_mismatching_claim_stays_a_mismatch_whoever_binds_the_transfer():
    own = claim_verdict(checks(amount_matches="fail"))

    assert citation_status(cite(1, own.status), [cite(2, binding="signature")]) == ("mismatch", ())


def test_the_order_of_citation_never_decides():
    first, second = cite(1), cite(2, binding="signature")

    assert citation_status(first, [second])[0] == "duplicate"
    assert citation_status(second, [first])[0] == "verified"


@pytest.mark.parametrize(("decided", "sender", "signers", "mailed", "binding"), [
    (False, "0xab", [], False, ""),
    (False, "0xab", ["0xAB"], False, "signature"),
    (False, "0xab", ["0xcd"], False, ""),  # a signature by any other address binds nothing
    (False, "", ["0xcd"], True, "withdrawal_mail"),
    (True, "0xab", [], False, "decision"),
])
def test_a_claim_is_bound_by_the_senders_signature_a_withdrawal_mail_or_a_decision(
        decided, sender, signers, mailed, binding):
    assert claim_binding(decided=decided, sender=sender, signers=signers, mailed=mailed) == binding


@pytest.mark.parametrize(("mails", "answers", "status"), [
    ([MailView("dkim_verified", ticket_id="1"), MailView("dkim_invalid", ticket_id="1")], [], "dkim_invalid"),
    ([MailView("recipient_mismatch", ticket_id="1"), MailView("ticket_mismatch", ticket_id="2")], [],
     "recipient_mismatch"),
    ([MailView("ticket_mismatch", ticket_id="2"), MailView("dkim_verified", ticket_id="1")], [],
     "ticket_mismatch"),
    ([MailView("domain_mismatch", ticket_id="1")], ["attested"], "domain_mismatch"),
    ([MailView("dkim_verified", ticket_id="1")], ["denied"], "denied"),
    # A withdrawal notice names no ticket: it does not outweigh the ticket's own mail.
    ([MailView("dkim_verified", ticket_id="1"), MailView("ticket_mismatch", ticket_id="")], [],
     "dkim_verified"),
    ([MailView("ticket_mismatch", ticket_id="")], [], "ticket_mismatch"),
    ([], [], "none"),
])
def test_ticket_status_follows_the_precedence_order(mails, answers, status):
    assert ticket_base(cites_ticket=True, mails=mails, answers=answers)[0] == status


def test_a_report_citing_no_ticket_is_none_whatever_mails_it_carries():
    mails = [MailView("dkim_verified", ticket_id="1"), MailView("dkim_invalid", ("mail_forged",), "1")]

    assert ticket_base(cites_ticket=False, mails=mails, answers=[]) == ("none", {"mail_forged"})


@pytest.mark.parametrize(("base", "earlier", "status", "flags"), [
    ("dkim_verified", True, "duplicate_ticket", {"ticket_reused"}),
    ("none", True, "duplicate_ticket", {"ticket_reused"}),
    ("dkim_invalid", True, "dkim_invalid", set()),
    ("dkim_verified", False, "dkim_verified", set()),
])
def test_a_ticket_already_verified_for_an_earlier_report_is_reused(base, earlier, status, flags):
    assert ticket_status(base=base, verified_earlier=earlier) == (status, flags)
