"""The decision service: claims, versions, the two-person rule, conflicts of interest, flags, bindings."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from audit.services import audit_verify
from incidents.models import Binding, ClaimStatus, ReportMessage, ReportStatus
from incidents.services import evidence_attach, report_answer
from moderation.models import Decision, DecisionState, ReportHold
from moderation.selectors import report_version
from moderation.services import (
    ModerationRefused,
    decision_confirm,
    decision_send_back,
    flag_resolve,
    report_claim,
    report_decide,
    report_release,
    transfer_bind,
)
from tests.factories import ClaimFactory, UserFactory
from tests.moderation.conftest import claimed, reviewable

pytestmark = pytest.mark.django_db


def events_since(seq: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq"))


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def decide(report, moderator, version, *, status="verified", reason="proof_sufficient",
           note="Tx checks out."):
    return report_decide(report_id=report.pk, moderator=moderator, status=status, reason=reason, note=note,
                         version=version)


# --- Deciding ---------------------------------------------------------------------------------


def test_a_decision_sets_status_reason_and_decided_at_and_writes_one_audit_row(report, moderator):
    version = claimed(report, moderator)
    before = last_seq()

    decision = decide(report, moderator, version)

    report.refresh_from_db()
    assert (report.status, report.decision_reason) == (ReportStatus.VERIFIED, "proof_sufficient")
    assert report.decided_at is not None and decision.state == DecisionState.EFFECTIVE
    [event] = events_since(before)
    assert (event.action, event.subject) == ("moderator_decision", f"report:{report.pk}")
    assert event.data["status"] == "verified"
    assert audit_verify() == []


def test_the_reporter_is_told_by_mail_in_plain_words_with_what_would_change_it(
        report, moderator, django_capture_on_commit_callbacks):
    version = claimed(report, moderator)

    with django_capture_on_commit_callbacks(execute=True):
        decide(report, moderator, version, status="rejected", reason="evidence_insufficient",
               note="No proof.")

    [sent] = mail.outbox
    assert sent.to == ["victim@example.org"] and "Rejected" in sent.subject
    assert "does not prove the loss yet" in sent.body and "could change this" in sent.body
    assert "No proof." not in sent.body  # the note is for moderators and the audit log


def test_needs_info_puts_the_note_to_the_reporter_as_a_question(report, moderator,
                                                                django_capture_on_commit_callbacks):
    version = claimed(report, moderator)

    with django_capture_on_commit_callbacks(execute=True):
        decide(report, moderator, version, status="needs_info", reason="evidence_insufficient",
               note="Which wallet sent the second transfer?")

    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_INFO
    assert ReportMessage.objects.get(report=report).body == "Which wallet sent the second transfer?"
    assert "Which wallet sent the second transfer?" in mail.outbox[0].body


@pytest.mark.parametrize(("status", "reason", "message"), [
    ("verified", "evidence_forged", "does not fit"),
    ("withdrawn", "proof_sufficient", "Choose verified"),
    ("needs_review", "proof_sufficient", "Choose verified"),
])
def test_a_reason_that_does_not_fit_or_a_status_moderators_do_not_set_is_refused(report, moderator, status,
                                                                                 reason, message):
    version = claimed(report, moderator)

    with pytest.raises(ModerationRefused, match=message):
        decide(report, moderator, version, status=status, reason=reason)

    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_REVIEW and not Decision.objects.exists()


@pytest.mark.parametrize("note", ["", "   ", "x" * 2001, "bell\x07"])
def test_a_missing_overlong_or_garbled_note_is_refused(report, moderator, note):
    version = claimed(report, moderator)

    with pytest.raises(ModerationRefused):
        decide(report, moderator, version, note=note)

    assert not Decision.objects.exists()


def test_nothing_proven_cannot_be_verified(moderator):
    report = reviewable(loss="0")
    version = claimed(report, moderator)

    with pytest.raises(ModerationRefused, match="Nothing of this loss is proven"):
        decide(report, moderator, version)


def test_an_open_fraud_flag_must_be_resolved_before_verifying(moderator):
    report = reviewable(flags=["ticket_reused"])
    version = claimed(report, moderator)

    with pytest.raises(ModerationRefused, match="Resolve the fraud flags first: ticket_reused"):
        decide(report, moderator, version)

    decide(report, moderator, version, status="rejected", reason="evidence_forged")  # rejecting is fine


# --- Claims and versions --------------------------------------------------------------------------


def test_a_decision_without_a_claim_is_refused(report, moderator):
    with pytest.raises(ModerationRefused, match="Claim this report before deciding"):
        decide(report, moderator, report_version(report_id=report.pk))


def test_another_moderator_sees_who_holds_the_report_and_cannot_claim_it(report, moderator, second_moderator):
    report_claim(report_id=report.pk, moderator=moderator)

    with pytest.raises(ModerationRefused, match="Mona Mod holds this report until"):
        report_claim(report_id=report.pk, moderator=second_moderator)


def test_an_expired_claim_can_be_taken_over_and_the_old_holder_can_no_longer_decide(report, moderator,
                                                                                    second_moderator):
    version = claimed(report, moderator)
    ReportHold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    report_claim(report_id=report.pk, moderator=second_moderator)

    with pytest.raises(ModerationRefused, match="Claim this report before deciding"):
        decide(report, moderator, version)
    assert ReportHold.objects.get().moderator == second_moderator


def test_releasing_a_claim_frees_the_report(report, moderator, second_moderator):
    report_claim(report_id=report.pk, moderator=moderator)

    report_release(report_id=report.pk, moderator=moderator)

    report_claim(report_id=report.pk, moderator=second_moderator)


def test_a_decision_on_a_report_changed_since_it_was_opened_is_refused(report, moderator):
    version = claimed(report, moderator)
    report_answer(report=report, author=report.reporter, body="Here is more context.")

    with pytest.raises(ModerationRefused, match="changed since you opened it"):
        decide(report, moderator, version)

    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_REVIEW and report.decided_at is None


def test_two_moderators_racing_on_one_report_one_decision_wins_the_other_is_told(report, moderator,
                                                                                  second_moderator):
    # Both opened the same version; the first one's claim ran out while they hesitated.
    version = claimed(report, moderator)
    ReportHold.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert claimed(report, second_moderator) == version

    decide(report, second_moderator, version, status="rejected", reason="evidence_insufficient")
    with pytest.raises(ModerationRefused):
        decide(report, moderator, version)

    report.refresh_from_db()
    assert report.status == ReportStatus.REJECTED
    assert list(Decision.objects.values_list("moderator", flat=True)) == [second_moderator.pk]


@pytest.mark.django_db(transaction=True)
def test_two_moderators_claiming_at_the_same_moment_one_wins(report, moderator, second_moderator):
    outcomes, start = {}, threading.Barrier(2)

    def attempt(who):
        start.wait()
        try:
            report_claim(report_id=report.pk, moderator=who)
            outcomes[who.pk] = "held"
        except ModerationRefused as refused:
            outcomes[who.pk] = str(refused)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(who,)) for who in (moderator, second_moderator)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcome == "held" for outcome in outcomes.values()) == [False, True]
    assert ReportHold.objects.count() == 1
    assert "holds this report" in next(o for o in outcomes.values() if o != "held")


# --- Two-person rule ----------------------------------------------------------------------------------


def test_over_the_threshold_a_decision_waits_for_a_second_moderator(large_report, moderator,
                                                                    django_capture_on_commit_callbacks):
    version = claimed(large_report, moderator)

    with django_capture_on_commit_callbacks(execute=True):
        decision = decide(large_report, moderator, version)

    large_report.refresh_from_db()
    assert decision.state == DecisionState.PENDING
    assert (large_report.status, large_report.decided_at) == (ReportStatus.NEEDS_REVIEW, None)
    assert not mail.outbox
    assert AuditEvent.objects.order_by("-seq").first().action == "moderator_proposal"


def test_over_the_threshold_the_deciding_moderator_cannot_confirm_alone(large_report, moderator):
    version = claimed(large_report, moderator)
    decision = decide(large_report, moderator, version)

    with pytest.raises(ModerationRefused, match="second, different moderator"):
        decision_confirm(decision_id=decision.pk, moderator=moderator, version=version)
    with pytest.raises(ModerationRefused, match="waits for a second moderator"):
        claimed(large_report, moderator)
        decide(large_report, moderator, version, status="rejected", reason="evidence_insufficient")

    large_report.refresh_from_db()
    assert large_report.status == ReportStatus.NEEDS_REVIEW


def test_a_second_moderator_confirms_and_the_decision_takes_effect(large_report, moderator, second_moderator,
                                                                   django_capture_on_commit_callbacks):
    version = claimed(large_report, moderator)
    decision = decide(large_report, moderator, version)
    tier = large_report.tier

    with django_capture_on_commit_callbacks(execute=True):
        decision_confirm(decision_id=decision.pk, moderator=second_moderator, version=version, note="Agreed.")

    large_report.refresh_from_db()
    decision.refresh_from_db()
    assert large_report.status == ReportStatus.VERIFIED and large_report.decided_at is not None
    assert large_report.tier == tier  # a confirmation is about the decision; it lifts no tier
    assert (decision.state, decision.second_moderator) == (DecisionState.EFFECTIVE, second_moderator)
    assert AuditEvent.objects.order_by("-seq").first().action == "moderator_confirm"
    assert len(mail.outbox) == 1


def test_a_second_moderator_sends_the_decision_back(large_report, moderator, second_moderator):
    version = claimed(large_report, moderator)
    decision = decide(large_report, moderator, version)

    decision_send_back(decision_id=decision.pk, moderator=second_moderator, note="The mail is not to them.")

    large_report.refresh_from_db()
    decision.refresh_from_db()
    assert large_report.status == ReportStatus.NEEDS_REVIEW and decision.state == DecisionState.SENT_BACK
    with pytest.raises(ModerationRefused, match="already sent back"):
        decision_confirm(decision_id=decision.pk, moderator=second_moderator, version=version)


def test_a_confirmation_of_a_report_changed_since_the_proposal_is_refused(large_report, moderator,
                                                                         second_moderator):
    version = claimed(large_report, moderator)
    decision = decide(large_report, moderator, version)
    report_answer(report=large_report, author=large_report.reporter, body="One more transfer.")

    with pytest.raises(ModerationRefused, match="changed after this decision was proposed"):
        decision_confirm(decision_id=decision.pk, moderator=second_moderator,
                         version=report_version(report_id=large_report.pk))


def test_the_threshold_comes_from_settings(report, moderator, settings):
    settings.DECISION_SECOND_REVIEW_USD = Decimal("1000")

    decision = decide(report, moderator, claimed(report, moderator))

    assert decision.state == DecisionState.PENDING


# --- Conflicts of interest --------------------------------------------------------------------------


def test_a_moderator_cannot_claim_or_decide_their_own_report(moderator):
    own = reviewable(reporter=moderator)

    with pytest.raises(ModerationRefused, match="it is yours"):
        report_claim(report_id=own.pk, moderator=moderator)
    with pytest.raises(ModerationRefused, match="it is yours"):
        decide(own, moderator, report_version(report_id=own.pk))


@pytest.mark.parametrize("field", ["contact_email", "exchange_email"])
def test_a_moderator_cannot_act_on_a_report_naming_their_address(moderator, field):
    report = reviewable()
    setattr(report, field, moderator.email.upper())
    report.save()

    with pytest.raises(ModerationRefused, match="names your email address"):
        report_claim(report_id=report.pk, moderator=moderator)


def test_a_moderator_cannot_confirm_a_decision_on_their_own_report(moderator, second_moderator):
    report = reviewable(loss="20000", reporter=second_moderator)
    decision = decide(report, moderator, claimed(report, moderator))

    with pytest.raises(ModerationRefused, match="it is yours"):
        decision_confirm(decision_id=decision.pk, moderator=second_moderator,
                         version=report_version(report_id=report.pk))


@pytest.mark.parametrize("role", [Role.REPORTER, Role.JOURNALIST, Role.LIAISON])
def test_only_moderators_decide(report, role):
    someone = UserFactory(role=role, is_staff=True, is_superuser=True)

    with pytest.raises(ModerationRefused, match="Only moderators"):
        report_claim(report_id=report.pk, moderator=someone)


# --- Flags and bindings ---------------------------------------------------------------------------


def test_resolving_a_fraud_flag_records_it_and_keeps_the_flag_visible(moderator):
    report = reviewable(flags=["mail_wrong_domain"])
    version = claimed(report, moderator)
    before = last_seq()

    flag_resolve(report_id=report.pk, moderator=moderator, flag="mail_wrong_domain",
                 reason="proof_sufficient", note="The exchange moved its support mail to this domain.",
                 version=version)

    report.refresh_from_db()
    assert report.resolved_flags == ["mail_wrong_domain"]
    [event] = events_since(before)
    assert (event.action, event.data["flag"]) == ("flag_resolve", "mail_wrong_domain")


@pytest.mark.parametrize("flag", ["claim_exceeds_proof", "ticket_reused"])
def test_only_a_fraud_flag_the_report_carries_can_be_resolved(moderator, flag):
    report = reviewable(flags=["claim_exceeds_proof"])

    with pytest.raises(ModerationRefused, match="no fraud flag"):
        flag_resolve(report_id=report.pk, moderator=moderator, flag=flag, reason="proof_sufficient",
                     note="n", version=claimed(report, moderator))


def test_binding_a_transfer_by_decision_marks_the_claim_and_is_audited(moderator):
    report = reviewable()
    contested = ClaimFactory(report=report, status=ClaimStatus.CONTESTED, usd_value=Decimal("300"))
    version = claimed(report, moderator)

    decision = transfer_bind(report_id=report.pk, claim_id=contested.pk, moderator=moderator,
                             reason="proof_sufficient", note="Withdrawal screenshot matches.",
                             version=version)

    contested.refresh_from_db()
    assert contested.binding == Binding.DECISION and decision.state == DecisionState.EFFECTIVE
    assert AuditEvent.objects.order_by("-seq").first().action == "transfer_bind"


def test_a_transfer_bound_by_decision_elsewhere_cannot_be_bound_again(moderator):
    first = reviewable()
    bound = ClaimFactory(report=first, binding=Binding.DECISION)
    other = reviewable()
    rival = ClaimFactory(report=other, chain=bound.chain, tx_hash=bound.tx_hash)

    with pytest.raises(ModerationRefused, match=f"already bound by decision to report {first.pk}"):
        transfer_bind(report_id=other.pk, claim_id=rival.pk, moderator=moderator, reason="proof_sufficient",
                      note="n", version=claimed(other, moderator))


def test_binding_a_large_transfer_waits_for_a_second_moderator(moderator):
    report = reviewable()
    big = ClaimFactory(report=report, status=ClaimStatus.CONTESTED, usd_value=Decimal("50000"))

    decision = transfer_bind(report_id=report.pk, claim_id=big.pk, moderator=moderator,
                             reason="proof_sufficient", note="n", version=claimed(report, moderator))

    big.refresh_from_db()
    assert decision.state == DecisionState.PENDING and big.binding == Binding.NONE


# --- Back to review ---------------------------------------------------------------------------------


def test_new_evidence_after_a_final_decision_sends_the_report_back_and_keeps_the_decision(report, moderator):
    decide(report, moderator, claimed(report, moderator))

    evidence_attach(report=report, kind="other", data=b"date,note\n2022-11-05,bank letter\n",
                    original_name="bank.csv")

    report.refresh_from_db()
    assert (report.status, report.decided_at, report.decision_reason) == (ReportStatus.NEEDS_REVIEW, None, "")
    assert Decision.objects.get(report=report).status == ReportStatus.VERIFIED
    assert AuditEvent.objects.order_by("-seq").first().action == "report_reopen"


def test_an_answer_after_a_final_decision_sends_the_report_back(report, moderator):
    decide(report, moderator, claimed(report, moderator), status="rejected", reason="reporter_unresponsive")

    report_answer(report=report, author=report.reporter, body="Sorry, I was away. It was my Kraken account.")

    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_REVIEW


# --- Merging duplicates -------------------------------------------------------------------------------


def test_merging_rejects_the_duplicate_into_the_kept_report(moderator):
    from moderation.services import report_merge

    kept = reviewable()
    duplicate = reviewable(incident=kept.incident, source="import", source_file="sheet.csv", source_row=7,
                           reporter=None)
    version = claimed(duplicate, moderator)
    before = last_seq()

    decision = report_merge(duplicate_id=duplicate.pk, into_id=kept.pk, moderator=moderator,
                            note="Same victim: the sheet row and the web report.", version=version)

    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.decision_reason) == (ReportStatus.REJECTED, "duplicate_report")
    assert decision.merged_into == kept and kept.merged_duplicates.get() == decision
    [event] = events_since(before)
    assert (event.action, event.data["merged_into"]) == ("report_merge", kept.pk)


@pytest.mark.parametrize("case", ["itself", "another incident"])
def test_a_report_merges_only_into_another_of_its_incident(moderator, case):
    from moderation.services import report_merge

    duplicate = reviewable()
    into = duplicate if case == "itself" else reviewable()

    with pytest.raises(ModerationRefused):
        report_merge(duplicate_id=duplicate.pk, into_id=into.pk, moderator=moderator, note="n",
                     version=claimed(duplicate, moderator))


def test_merging_a_large_duplicate_waits_for_a_second_moderator(moderator):
    from moderation.services import report_merge

    kept = reviewable()
    duplicate = reviewable(loss="40000", incident=kept.incident)

    decision = report_merge(duplicate_id=duplicate.pk, into_id=kept.pk, moderator=moderator, note="n",
                            version=claimed(duplicate, moderator))

    duplicate.refresh_from_db()
    assert decision.state == DecisionState.PENDING and duplicate.status == ReportStatus.NEEDS_REVIEW
