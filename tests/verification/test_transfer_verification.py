"""Transfer claims verified end to end against a real anvil node (docs/methodology.md, "Transfer checks")."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from devtools.chain import anvil_start
from incidents.models import Claim, Report
from tests.conftest import ANVIL_CAIP2
from tests.verification.conftest import build_world
from verification.models import CheckResult, ProviderCall
from verification.services import reports_verify

pytestmark = pytest.mark.django_db


def verify(*reports: Report) -> None:
    reports_verify(report_ids=[r.pk for r in reports])


def claim_of(report: Report) -> Claim:
    return Claim.objects.get(report=report)


def results(claim: Claim) -> dict[str, CheckResult]:
    return {r.check_name: r for r in claim.check_results.all()}


def test_it_verifies_an_eth_transfer_to_an_attacker_and_values_it(world):
    victim, attacker = world.victims[0], world.attackers[0]
    tx = world.send_eth(victim, attacker, "1.5")
    report = world.report({"tx_hash": tx, "asset": "ETH", "amount": Decimal("1.5"), "from_address": victim},
                          claimed_loss_usd=Decimal("3000"))

    verify(report)

    claim, report = claim_of(report), Report.objects.get(pk=report.pk)
    assert (claim.status, claim.reasons) == ("verified", [])
    assert claim.usd_value == Decimal("3000.00")
    assert claim.block_number is not None and claim.block_time is not None
    assert (report.status, report.tier, report.flags) == ("needs_review", "T2", [])
    assert report.verified_loss_usd == Decimal("3000.00")
    checks = results(claim)
    assert set(checks) == {"tx_exists", "tx_succeeded", "tx_confirmed", "in_window", "sender_matches",
                           "recipient_is_attacker", "amount_matches", "not_claimed_elsewhere", "usd_value"}
    assert all(c.outcome == "pass" for c in checks.values())
    assert checks["tx_exists"].raw["tx"]["hash"] == tx
    assert checks["tx_exists"].provider.startswith("http://127.0.0.1:")
    assert ProviderCall.objects.filter(ok=True).exists()


def test_it_verifies_an_erc20_transfer_from_its_transfer_log(world):
    victim, attacker = world.victims[1], world.attackers[1]
    tx = world.send_token(victim, attacker, "2500")
    report = world.report({"tx_hash": tx, "asset": "TUSD", "amount": Decimal("2500"), "from_address": victim})

    verify(report)

    claim = claim_of(report)
    assert claim.status == "verified"
    assert claim.usd_value == Decimal("2500.00")
    assert results(claim)["amount_matches"].raw["log_index"] == 0


def test_a_claim_without_an_amount_takes_the_transferred_amount(world):
    tx = world.send_token(world.victims[1], world.attackers[0], "75")
    report = world.report({"tx_hash": tx, "asset": "TUSD"})

    verify(report)

    assert claim_of(report).status == "verified"
    assert claim_of(report).usd_value == Decimal("75.00")


def test_a_made_up_hash_is_not_found_and_flagged(world):
    report = world.report({"tx_hash": "0x" + "12" * 32, "asset": "ETH"})

    verify(report)

    report.refresh_from_db()
    assert claim_of(report).status == "not_found"
    assert report.flags == ["tx_not_found"]
    assert report.tier == "T1"


def test_a_reverted_transfer_is_reported_as_reverted(world):
    poor = world.node.accounts[9]
    tx = world.send_token(poor, world.attackers[0], "5", gas=120_000)
    report = world.report({"tx_hash": tx, "asset": "TUSD"})

    verify(report)

    assert claim_of(report).status == "reverted"


@pytest.mark.parametrize("shift", [timedelta(days=3), -timedelta(days=3)], ids=["before", "after"])
def test_a_transfer_outside_the_window_is_outside_window(db, anvil, chain_settings, shift):
    now = datetime.now(UTC)
    world = build_world(anvil, window=(now + shift - timedelta(days=1), now + shift + timedelta(days=1)))
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.1")
    report = world.report({"tx_hash": tx, "asset": "ETH"})

    verify(report)

    assert claim_of(report).status == "outside_window"


@pytest.mark.parametrize(("recipient", "reason"), [("bystander", "recipient_not_attacker"),
                                                   ("hot_wallet", "recipient_safelisted")])
def test_a_transfer_to_someone_else_is_a_mismatch(world, recipient, reason):
    to = world.node.accounts[8].lower() if recipient == "bystander" else world.hot_wallet
    tx = world.send_eth(world.victims[2], to, "0.2")
    report = world.report({"tx_hash": tx, "asset": "ETH", "amount": Decimal("0.2")})

    verify(report)

    claim = claim_of(report)
    assert (claim.status, claim.reasons) == ("mismatch", [reason])
    assert Report.objects.get(pk=report.pk).tier == "T1"


def test_a_safelisted_address_is_never_an_attacker_even_if_listed_as_one(world):
    world.incident.attacker_addresses.create(chain=ANVIL_CAIP2, address=world.hot_wallet)
    tx = world.send_eth(world.victims[2], world.hot_wallet, "0.3")
    report = world.report({"tx_hash": tx, "asset": "ETH"})

    verify(report)

    assert claim_of(report).reasons == ["recipient_safelisted"]


@pytest.mark.parametrize(("claim", "reason"), [
    ({"from_address": "0x" + "99" * 20}, "sender_mismatch"),
    ({"amount": Decimal("9")}, "amount_mismatch"),
    ({"asset": "TUSD"}, "asset_mismatch"),
])
def test_a_claim_that_disagrees_with_the_chain_is_a_mismatch(world, claim, reason):
    tx = world.send_eth(world.victims[3], world.attackers[1], "0.4")
    report = world.report({"tx_hash": tx, "asset": "ETH", "amount": Decimal("0.4"), **claim})

    verify(report)

    assert (claim_of(report).status, claim_of(report).reasons) == ("mismatch", [reason])


def test_a_transfer_cited_by_two_reports_is_contested_for_both_whoever_cited_first(world):
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.5")
    now = datetime.now(UTC)
    first = world.report({"tx_hash": tx, "asset": "ETH"}, submitted_at=now - timedelta(hours=1))
    later = world.report({"tx_hash": tx, "asset": "ETH"}, submitted_at=now)

    verify(later, first)

    for report in (first, later):
        report.refresh_from_db()
        assert (claim_of(report).status, claim_of(report).reasons) == ("contested", ["contested"])
        assert (report.tier, report.flags, report.verified_loss_usd) == ("T1", ["tx_contested"], Decimal("0"))


def test_a_missing_price_is_a_reason_never_a_zero(world):
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.6")
    world.incident.assets.filter(symbol="ETH").update(symbol="WETH")
    report = world.report({"tx_hash": tx, "asset": "WETH"}, claimed_loss_usd=Decimal("5000"))

    verify(report)

    claim = claim_of(report)
    report.refresh_from_db()
    assert (claim.status, claim.usd_value, claim.reasons) == ("verified", None, ["price_missing"])
    assert report.tier == "T2"
    assert "claim_exceeds_proof" not in report.flags


def test_a_claimed_loss_above_the_proof_is_flagged(world):
    tx = world.send_eth(world.victims[0], world.attackers[0], "1")
    report = world.report({"tx_hash": tx, "asset": "ETH"}, claimed_loss_usd=Decimal("2600"))

    verify(report)

    report.refresh_from_db()
    assert report.flags == ["claim_exceeds_proof"] and report.tier == "T2"


def test_an_unconfirmed_transfer_becomes_verified_once_deep_enough(db, anvil, chain_settings):
    world = build_world(anvil, confirmations=3)
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.7")
    report = world.report({"tx_hash": tx, "asset": "ETH"})

    verify(report)
    assert claim_of(report).status == "unconfirmed"
    assert Report.objects.get(pk=report.pk).tier == "T1"

    world.mine(2)
    verify(report)
    assert claim_of(report).status == "verified"


def test_verifying_twice_leaves_exactly_one_result_per_check(world):
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.8")
    report = world.report({"tx_hash": tx, "asset": "ETH"})

    verify(report)
    verify(report)

    assert CheckResult.objects.filter(claim__report=report).count() == 9


def test_a_reorganisation_that_drops_a_verified_transfer_turns_it_back(db, settings):
    node = anvil_start()
    try:
        settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [node.url]}
        world = build_world(node, confirmations=1)
        tx = world.send_eth(world.victims[0], world.attackers[0], "0.9")
        report = world.report({"tx_hash": tx, "asset": "ETH"})
        verify(report)
        assert claim_of(report).status == "verified"
        assert not claim_of(report).settled

        node.rpc.call("anvil_reorg", 1, [])
        verify(report)

        report.refresh_from_db()
        assert claim_of(report).status == "not_found"
        assert report.tier == "T1" and report.verified_loss_usd == 0
    finally:
        node.stop()


def test_an_unreachable_endpoint_leaves_the_claim_unchecked_with_the_error(world, settings):
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.1")
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: ["http://127.0.0.1:9"]}
    report = world.report({"tx_hash": tx, "asset": "ETH"})

    verify(report)

    claim = claim_of(report)
    assert claim.status == "unchecked"
    (result,) = claim.check_results.all()
    assert (result.check_name, result.outcome) == ("tx_exists", "error")
    assert result.raw["error"]
    assert ProviderCall.objects.filter(ok=False).exists()


def test_endpoints_that_disagree_leave_the_claim_unchecked(world, settings, disagreeing_endpoint):
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.1")
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [world.node.url, disagreeing_endpoint]}
    report = world.report({"tx_hash": tx, "asset": "ETH"})

    verify(report)

    claim = claim_of(report)
    assert claim.status == "unchecked"
    assert claim.reasons == ["providers_disagree"]
