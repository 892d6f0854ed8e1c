"""A transfer's sender binds it (T4 once confirmed); leaked-key hashes lift nothing; liaisons answer
only for their own exchange."""

import hashlib
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from eth_account import Account
from eth_account.messages import encode_defunct

from incidents.models import AttestationAnswer, LeakedKeyHash, LiaisonBinding, TicketAttestation
from tests.factories import ExchangeFactory, IncidentFactory, ReportFactory, UserFactory
from verification.evidence import (
    EvidenceRefused,
    leaked_key_submit,
    ownership_prove,
    report_challenge,
    ticket_attest,
)
from verification.models import CheckResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet():
    return Account.create()


@pytest.fixture
def proven_report(wallet):
    """A report whose loss is proven on-chain (T2): a transfer ``wallet`` sent to an attacker."""
    incident = IncidentFactory()
    exchange = ExchangeFactory(incident=incident, name="Binance")
    report = ReportFactory(incident=incident, exchange=exchange, support_ticket_id="12345678",
                           claimed_loss_usd=Decimal("100"))
    report.claims.create(chain="eip155:1", tx_hash="0x" + "aa" * 32, status="verified",
                         checked_status="verified", chain_sender=wallet.address.lower(),
                         usd_value=Decimal("100"))
    return report


def sign(wallet, text: str) -> str:
    return "0x" + wallet.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")


def attest(report, answer=AttestationAnswer.ATTESTED):
    liaison = UserFactory(role="liaison")
    LiaisonBinding.objects.create(user=liaison, exchange=report.exchange)
    return ticket_attest(liaison=liaison, report=report, answer=answer)


def test_a_challenge_signed_by_the_transfers_sender_binds_it_and_lifts_a_confirmed_report_to_t4(
        proven_report, wallet):
    attest(proven_report)
    signature = sign(wallet, report_challenge(report=proven_report, address=wallet.address))

    result = ownership_prove(report=proven_report, address=wallet.address, signature=signature)

    proven_report.refresh_from_db()
    assert result.outcome == "pass"
    assert proven_report.tier == "T4"
    assert proven_report.claims.get().binding == "signature"


def test_a_valid_signature_by_an_address_that_sent_nothing_binds_nothing(proven_report):
    attest(proven_report)
    stranger = Account.create()
    signature = sign(stranger, report_challenge(report=proven_report, address=stranger.address))

    result = ownership_prove(report=proven_report, address=stranger.address, signature=signature)

    proven_report.refresh_from_db()
    assert result.outcome == "pass"
    assert (proven_report.tier, proven_report.claims.get().binding) == ("T3", "")


def test_a_signature_from_another_wallet_is_refused(proven_report, wallet):
    other = Account.create()
    signature = sign(other, report_challenge(report=proven_report, address=wallet.address))

    result = ownership_prove(report=proven_report, address=wallet.address, signature=signature)

    assert (result.outcome, result.reasons) == ("fail", ["signer_mismatch"])


def test_a_challenge_signed_for_another_report_cannot_be_replayed(proven_report, wallet):
    other_report = ReportFactory(incident=proven_report.incident)
    signature = sign(wallet, report_challenge(report=other_report, address=wallet.address))

    result = ownership_prove(report=proven_report, address=wallet.address, signature=signature)

    assert result.outcome == "fail"
    proven_report.refresh_from_db()
    assert proven_report.tier != "T4"


def test_a_malformed_signature_is_refused_without_error(proven_report, wallet):
    result = ownership_prove(report=proven_report, address=wallet.address, signature="0x1234")

    assert result.reasons == ["signature_malformed"]


def test_a_leaked_key_hash_is_recorded_but_lifts_nothing_as_the_leaked_list_is_public(proven_report):
    attest(proven_report)
    key_hash = hashlib.sha256(b"public-key-id-123").hexdigest()
    LeakedKeyHash.objects.create(incident=proven_report.incident, sha256=key_hash)

    result = leaked_key_submit(report=proven_report, key_hash=key_hash)

    proven_report.refresh_from_db()
    assert result.outcome == "pass"
    assert proven_report.tier == "T3"
    assert proven_report.api_key_id_sha256 == key_hash


def test_a_key_hash_outside_the_leak_proves_nothing(proven_report):
    result = leaked_key_submit(report=proven_report, key_hash=hashlib.sha256(b"other").hexdigest())

    assert (result.outcome, result.reasons) == ("fail", ["not_in_leak"])


def test_a_liaison_attestation_lifts_a_proven_report_to_t3(proven_report):
    attest(proven_report)

    proven_report.refresh_from_db()
    assert proven_report.tier == "T3"


def test_a_denial_outweighs_an_earlier_attestation(proven_report):
    attest(proven_report)
    attest(proven_report, AttestationAnswer.DENIED)

    proven_report.refresh_from_db()
    assert proven_report.tier == "T2"
    assert TicketAttestation.objects.filter(report=proven_report).count() == 2


def test_a_liaison_of_exchange_a_cannot_touch_exchange_b_tickets(proven_report):
    other_exchange = ExchangeFactory(incident=proven_report.incident, name="Kraken")
    liaison = UserFactory(role="liaison")
    LiaisonBinding.objects.create(user=liaison, exchange=other_exchange)

    with pytest.raises(EvidenceRefused, match="another exchange"):
        ticket_attest(liaison=liaison, report=proven_report, answer="attested")

    assert not TicketAttestation.objects.exists()


def test_a_user_without_a_binding_cannot_answer(proven_report):
    with pytest.raises(EvidenceRefused):
        ticket_attest(liaison=UserFactory(), report=proven_report, answer="attested")


def test_import_leaked_keys_stores_hashes_and_refuses_raw_keys(tmp_path):
    incident = IncidentFactory()
    good = tmp_path / "hashes.txt"
    hashes = [hashlib.sha256(b"a").hexdigest(), "", hashlib.sha256(b"b").hexdigest().upper()]
    good.write_text("\n".join(hashes) + "\n")
    call_command("import_leaked_keys", str(good), "--incident", incident.slug, verbosity=0)
    assert LeakedKeyHash.objects.filter(incident=incident).count() == 2

    bad = tmp_path / "keys.txt"
    bad.write_text("AKIAIOSFODNN7EXAMPLEKEY\n")
    with pytest.raises(CommandError, match="line 1 is not a SHA-256 hash") as excinfo:
        call_command("import_leaked_keys", str(bad), "--incident", incident.slug)
    assert excinfo.value.returncode == 2
    assert "AKIA" not in str(excinfo.value)


def test_report_level_results_stay_one_per_check(proven_report, wallet):
    ownership_prove(report=proven_report, address=wallet.address, signature="0x00")
    ownership_prove(report=proven_report, address=wallet.address, signature="0x00")

    assert CheckResult.objects.filter(report=proven_report, check_name="ownership_signature").count() == 1
