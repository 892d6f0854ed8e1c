"""Plain words for reporters: every check outcome, tier and flag has a sentence a victim can act on."""

from types import SimpleNamespace

import pytest

from incidents.guidance import (
    CHECK_ORDER,
    CHECK_SENTENCES,
    FLAG_SENTENCES,
    REASON_SENTENCES,
    Standing,
    check_lines,
    check_sentence,
    flag_notes,
    next_tier_hints,
    status_meaning,
    tier_meaning,
)
from incidents.models import ReportStatus, Tier
from incidents.vocabulary import FRAUD_FLAGS


def result(name, outcome, reasons=()):
    return SimpleNamespace(check_name=name, outcome=outcome, reasons=list(reasons))


def texts(hints) -> str:
    return " ".join(str(hint.text) for hint in hints)


def test_every_check_in_the_catalogue_has_a_title_and_sentences():
    assert set(CHECK_SENTENCES) == set(CHECK_ORDER)
    for name in CHECK_ORDER:
        assert check_sentence(name, "pass")
        assert check_sentence(name, "error") == "This check could not run this time; it will be tried again."


def test_a_failed_check_says_why_in_plain_words():
    sentence = check_sentence("amount_matches", "fail", ["amount_mismatch"])

    assert sentence == ("The amount or asset differs from what you reported. "
                        "The amount moved differs from the amount you reported.")


def test_a_reason_with_a_detail_reads_like_its_family_and_unknown_reasons_are_skipped():
    assert "changed after it was sent" in check_sentence("dkim_signature", "fail", ["signature_invalid"])
    assert check_sentence("dkim_signature", "fail", ["duplicated_header:from", "something_new"]) == (
        "The email's signature does not prove that the exchange sent it.")


def test_every_reason_the_checks_give_has_a_sentence():
    reasons = {"pending", "unconfirmed", "provider_error", "providers_disagree", "sender_mismatch",
               "recipient_not_attacker", "recipient_safelisted", "amount_mismatch", "asset_mismatch",
               "claimed_elsewhere", "price_missing", "asset_unknown", "signature_invalid", "key_expired",
               "signature_expired", "body_length_tag", "unsigned", "not_aligned", "domain_mismatch",
               "key_unknown", "not_a_mail", "ticket_not_found", "ticket_mismatch", "no_claimed_ticket",
               "export_unreadable", "no_trades_in_window", "no_loss", "no_signature_match", "uncorroborated",
               "price_off_market",
               "signature_malformed", "signer_mismatch", "hash_malformed", "not_in_leak",
               "bare_cr", "mixed_line_endings", "nul_byte", "envelope_line", "header_unreadable",
               "mail_unreadable", "too_many_signatures", "required_headers_unsigned", "recipient_mismatch"}
    assert reasons <= set(REASON_SENTENCES)


def test_check_lines_follow_the_catalogue_order_whatever_the_storage_order():
    stored = [result("usd_value", "pass"), result("tx_exists", "pass"), result("in_window", "fail")]
    lines = check_lines(stored)

    assert [line.name for line in lines] == ["tx_exists", "in_window", "usd_value"]
    assert lines[1].title == "During the incident" and lines[1].outcome_label == "failed"
    assert lines[1].sentence == "It happened outside the incident's time window."


@pytest.mark.parametrize("tier", [Tier.T0, Tier.T1, Tier.T2, Tier.T3, Tier.T4])
def test_every_tier_has_a_meaning(tier):
    assert tier_meaning(tier)


@pytest.mark.parametrize("status", list(ReportStatus))
def test_every_status_has_a_meaning(status):
    assert status_meaning(status)


def test_fraud_flags_say_they_cap_the_tier_and_warnings_do_not():
    notes = {note.flag: note for note in flag_notes(["claim_exceeds_proof", "mail_forged"])}

    assert notes["mail_forged"].fraud and "cannot rise above T1" in notes["mail_forged"].text
    assert not notes["claim_exceeds_proof"].fraud and "T1" not in notes["claim_exceeds_proof"].text
    assert set(FLAG_SENTENCES) >= FRAUD_FLAGS


def test_a_self_reported_report_is_asked_for_anything_checkable():
    hints = next_tier_hints(Standing(tier=Tier.T0))

    assert "raises this report to T1" in texts(hints) and hints[0].action == "evidence"


def test_a_documented_report_waiting_on_its_transfers_says_so_and_offers_an_export():
    hints = next_tier_hints(Standing(tier=Tier.T1, transfers=2, transfers_pending=True))

    assert "still being checked" in texts(hints)
    assert "trade-history export" in texts(hints) and "T2" in texts(hints)


def test_a_documented_report_whose_export_failed_is_told_what_kind_of_export_would_do():
    hints = next_tier_hints(Standing(tier=Tier.T1, has_trade_export=True))

    assert "did not show the loss" in texts(hints)


def test_a_proven_loss_is_told_that_a_forwarded_support_mail_would_raise_it_to_t3():
    hints = next_tier_hints(Standing(tier=Tier.T2, loss_proven=True, exchange="Binance"))

    assert ("A support email from Binance about your ticket, forwarded as an .eml file" in texts(hints)
            and "to T3" in texts(hints))


def test_a_proven_loss_with_a_ticket_id_mentions_the_liaison_unless_the_exchange_denied_it():
    standing = Standing(tier=Tier.T2, loss_proven=True, exchange="Kraken", ticket_id="12345678")

    assert "Kraken's liaison may also confirm ticket 12345678" in texts(next_tier_hints(standing))
    denied = next_tier_hints(Standing(**{**standing.__dict__, "ticket_status": "denied"}))
    assert "liaison" in texts(denied) and "may also confirm" not in texts(denied)


def test_an_unsigned_mail_is_explained_as_a_copy_rather_than_a_forward():
    hints = next_tier_hints(Standing(tier=Tier.T2, loss_proven=True, ticket_status="unsigned"))

    assert "copied rather than forwarded" in texts(hints)


def test_a_mail_sent_to_someone_else_points_to_the_exchange_address_field():
    hints = next_tier_hints(Standing(tier=Tier.T2, loss_proven=True, ticket_status="recipient_mismatch"))

    assert "sent to another address" in texts(hints) and "your exchange writes to" in texts(hints)


def test_an_exchange_confirmed_report_is_pointed_to_the_ownership_proof():
    hints = next_tier_hints(Standing(tier=Tier.T3, loss_proven=True, ticket_status="dkim_verified"))

    assert [hint.action for hint in hints] == ["ownership"] and "T4" in texts(hints)


def test_the_highest_tier_needs_nothing_more():
    assert "highest tier" in texts(next_tier_hints(Standing(tier=Tier.T4)))


def test_a_fraud_flag_comes_before_any_other_step():
    hints = next_tier_hints(Standing(tier=Tier.T1, flags=("tx_claimed_elsewhere",), loss_proven=True))

    assert len(hints) == 1 and "moderator first has to resolve" in texts(hints)
