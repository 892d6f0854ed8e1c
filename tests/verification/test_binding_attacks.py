"""Citing first proves nothing: a transfer counts for the report that binds it (attacks end to end).

Attacker addresses and their inflows are public. A fraudster can cite every transfer into them,
writing the public sender as their own address; the real victim must not lose to them, and the
fraudster must not win by being first, nor by signing with a wallet of their own.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from incidents.models import Claim, Report
from incidents.services import evidence_attach, report_withdraw
from tests.verification.dkim_fixtures import binance_with_archived_key, build_mail, rsa_key, sign
from verification.clients import dns
from verification.evidence import evidence_verify, ownership_prove, report_challenge
from verification.models import CheckResult
from verification.services import reports_recompute, reports_verify

pytestmark = pytest.mark.django_db


def verify(*reports: Report) -> None:
    reports_verify(report_ids=[r.pk for r in reports])


def fresh(report: Report) -> tuple[Report, Claim]:
    report = Report.objects.get(pk=report.pk)
    return report, report.claims.get()


def sign_with_node(world, report: Report, address: str) -> str:
    """Sign the report's challenge with an anvil account's own key (the node holds it)."""
    challenge = report_challenge(report=report, address=address)
    return world.node.rpc.call("personal_sign", "0x" + challenge.encode().hex(), address)


@pytest.fixture
def theft(world):
    """A victim's public transfer to an attacker, a fraudster's citation first, the victim's later."""
    victim = world.victims[0]
    tx = world.send_eth(victim, world.attackers[0], "0.5")
    now = datetime.now(UTC)
    fraud = world.report({"tx_hash": tx, "asset": "ETH", "from_address": victim},
                         submitted_at=now - timedelta(days=1), claimed_loss_usd=Decimal("1000"))
    real = world.report({"tx_hash": tx, "asset": "ETH", "from_address": victim},
                        submitted_at=now, claimed_loss_usd=Decimal("1000"))
    verify(fraud, real)
    return victim, fraud, real


def test_the_first_to_cite_a_public_transfer_gains_nothing_and_the_victim_is_not_flagged(theft):
    _victim, fraud, real = theft

    for report in (fraud, real):
        report, claim = fresh(report)
        assert (claim.status, report.tier) == ("contested", "T1")
        assert "tx_claimed_elsewhere" not in report.flags and "tx_contested" in report.flags


def test_the_senders_signature_binds_the_transfer_to_the_victim_and_the_fraud_is_flagged(world, theft):
    victim, fraud, real = theft

    result = ownership_prove(report=real, address=victim, signature=sign_with_node(world, real, victim))

    assert result.outcome == "pass"
    real, real_claim = fresh(real)
    fraud, fraud_claim = fresh(fraud)
    assert (real_claim.status, real_claim.binding, real.tier) == ("verified", "signature", "T2")
    assert real.verified_loss_usd == Decimal("1000.00")
    assert (fraud_claim.status, fraud_claim.reasons) == ("duplicate", ["claimed_elsewhere"])
    assert "tx_claimed_elsewhere" in fraud.flags and fraud.tier == "T1"
    citation = CheckResult.objects.get(claim=fraud_claim, check_name="not_claimed_elsewhere")
    assert citation.outcome == "fail" and citation.raw["bound_elsewhere"] is True


def test_a_signature_by_a_fresh_wallet_of_the_fraudsters_binds_nothing(theft):
    _victim, fraud, _real = theft
    wallet = Account.create()
    challenge = report_challenge(report=fraud, address=wallet.address)
    signature = "0x" + wallet.sign_message(encode_defunct(text=challenge)).signature.hex().removeprefix("0x")

    result = ownership_prove(report=fraud, address=wallet.address, signature=signature)

    assert result.outcome == "pass"  # a valid signature: of an address that sent nothing here
    fraud, claim = fresh(fraud)
    assert (claim.status, claim.binding, fraud.tier) == ("contested", "", "T1")


def test_a_signature_made_for_another_report_does_not_bind_this_one(world, theft):
    victim, fraud, real = theft
    stolen = sign_with_node(world, real, victim)  # the victim's signature, over the victim's challenge

    result = ownership_prove(report=fraud, address=victim, signature=stolen)

    assert result.outcome == "fail"
    assert fresh(fraud)[1].status == "contested" and fresh(real)[1].status == "contested"


def test_a_withdrawn_rival_leaves_the_transfer_to_the_remaining_report(theft):
    _victim, fraud, real = theft

    report_withdraw(report=Report.objects.get(pk=fraud.pk))

    real, claim = fresh(real)
    assert (claim.status, real.tier, real.flags) == ("verified", "T2", [])


def test_a_rival_withdrawn_while_the_transfer_is_rechecked_no_longer_contests_it(theft, monkeypatch):
    """Who else cites the transfer is read before the reports are locked; the verdict must weigh
    each citation as its report stands once locked, not as it stood at that read."""
    from verification import services

    _victim, fraud, real = theft
    read = services.citations_of

    def read_then_withdraw(**kwargs):
        found = read(**kwargs)
        # The fraudster's withdrawal erases the report between the read and the lock (its own
        # recompute of the rivals waits on this check's locks, so it comes after: not run here).
        Report.objects.filter(pk=fraud.pk).delete()
        return found

    monkeypatch.setattr(services, "citations_of", read_then_withdraw)
    verify(real)

    real, claim = fresh(real)
    assert (claim.status, real.tier, real.flags) == ("verified", "T2", [])


def test_a_rival_citing_the_transfer_while_it_is_rechecked_still_contests_it(
        world, monkeypatch, django_capture_on_commit_callbacks):
    """A fraudster's citation whose check commits between the read of who cites the transfer and
    the locks weighs in the victim's verdict, and the victim's findings then in the fraudster's:
    neither wins by that timing, as neither would have a moment earlier."""
    from verification import services

    victim = world.victims[0]
    tx = world.send_eth(victim, world.attackers[0], "0.5")
    cited = {"tx_hash": tx, "asset": "ETH", "from_address": victim}
    real = world.report(cited, claimed_loss_usd=Decimal("1000"))
    read, landed = services.citations_of, []

    def read_then_cite(**kwargs):
        found = read(**kwargs)
        if not landed:  # the first read, before the victim's reports are locked
            landed.append(world.report(cited, submitted_at=datetime.now(UTC) - timedelta(days=1),
                                       claimed_loss_usd=Decimal("1000")))
            verify(landed[0])  # the fraudster's check ends first
        return found

    monkeypatch.setattr(services, "citations_of", read_then_cite)
    with django_capture_on_commit_callbacks(execute=True):
        verify(real)

    assert fresh(real)[1].status == "contested"
    assert fresh(landed[0])[1].status == "contested"


def test_the_outcome_does_not_depend_on_which_report_was_checked_last(world):
    victim = world.victims[1]
    tx = world.send_eth(victim, world.attackers[0], "0.25")
    one = world.report({"tx_hash": tx, "asset": "ETH"})
    verify(one)
    assert fresh(one)[1].status == "verified"  # alone, it counts

    two = world.report({"tx_hash": tx, "asset": "ETH"})
    verify(two)

    assert fresh(one)[1].status == "contested" and fresh(two)[1].status == "contested"
    reports_recompute(report_ids=[one.pk])
    assert fresh(one)[1].status == "contested" and fresh(two)[1].status == "contested"


def test_a_decided_report_whose_transfer_is_bound_elsewhere_goes_back_to_review(world):
    victim = world.victims[2]
    tx = world.send_eth(victim, world.attackers[0], "0.3")
    decided = world.report({"tx_hash": tx, "asset": "ETH"})
    verify(decided)
    Report.objects.filter(pk=decided.pk).update(status="verified", decided_at=datetime.now(UTC),
                                                decision_reason="proof_sufficient")
    rival = world.report({"tx_hash": tx, "asset": "ETH"})
    verify(rival)
    ownership_prove(report=rival, address=victim, signature=sign_with_node(world, rival, victim))

    decided, claim = fresh(decided)
    assert claim.status == "duplicate"
    assert (decided.status, decided.decided_at, decided.decision_reason) == ("needs_review", None, "")


def withdrawal_notice(tx: str, *, to: str) -> bytes:
    """A genuine Binance withdrawal notice naming the transaction, signed with its archived key."""
    mail = build_mail(to=to, subject="Withdrawal successful", date=format_datetime(datetime.now(UTC)),
                      body=f"Your withdrawal of 0.5 ETH has been sent.\r\nTxID: {tx}\r\n")
    return sign(mail, key=rsa_key("binance-2022"))


@pytest.fixture
def no_dns(monkeypatch):
    monkeypatch.setattr(dns, "dkim_txt_lookup", lambda name, **kwargs: None)


def attach_mail(report: Report, data: bytes) -> None:
    evidence = evidence_attach(report=report, kind="support_email", data=data, original_name="notice.eml")
    evidence_verify(evidence_id=evidence.pk)


def test_the_exchanges_withdrawal_notice_to_the_reporter_binds_the_transfer(world, theft, no_dns):
    exchange = binance_with_archived_key(world.incident)
    _victim, fraud, real = theft
    Report.objects.filter(pk__in=[fraud.pk, real.pk]).update(exchange=exchange)
    Report.objects.filter(pk=real.pk).update(contact_email="victim@example.org")
    tx = fresh(real)[1].tx_hash

    attach_mail(Report.objects.get(pk=real.pk), withdrawal_notice(tx, to="victim@example.org"))

    real, claim = fresh(real)
    assert (claim.status, claim.binding, real.tier) == ("verified", "withdrawal_mail", "T2")
    assert real.ticket_status == "none"  # a withdrawal notice is not a ticket
    assert fresh(fraud)[1].status == "duplicate"


def test_a_withdrawal_notice_forwarded_by_its_real_recipient_binds_nothing_for_the_fraudster(
        world, theft, no_dns):
    exchange = binance_with_archived_key(world.incident)
    _victim, fraud, real = theft
    Report.objects.filter(pk__in=[fraud.pk, real.pk]).update(exchange=exchange)
    Report.objects.filter(pk=fraud.pk).update(contact_email="fraud@evil.example")
    tx = fresh(fraud)[1].tx_hash

    attach_mail(Report.objects.get(pk=fraud.pk), withdrawal_notice(tx, to="victim@example.org"))

    fraud, claim = fresh(fraud)
    assert (claim.status, claim.binding) == ("contested", "")
    assert fresh(real)[1].status == "contested"
