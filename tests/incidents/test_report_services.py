"""A reporter withdraws a report or answers a moderator's question; a moderator asks one."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from incidents.models import Claim, Evidence, ReportMessage, ReportStatus, TicketAttestation
from incidents.secrets import SecretRefused
from incidents.services import evidence_attach, report_answer, report_question_ask, report_withdraw
from registry.exports import report_ref, report_rows
from tests.conftest import stored_names
from tests.factories import (
    ClaimFactory,
    ExchangeFactory,
    IncidentFactory,
    ReportFactory,
    UserFactory,
)
from verification.models import CheckResult

pytestmark = pytest.mark.django_db

SEED = "legal winner thank year wave sausage worth useful legal winner thank yellow"
NOON = datetime(2022, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def moderator():
    return UserFactory(role=Role.MODERATOR, is_staff=True, is_superuser=True)


def full_report(incident, tag: str):
    """A report with everything that can hang on it: claims, files, checks, messages, attestations."""
    exchange = incident.exchanges.first() or ExchangeFactory(incident=incident)
    report = ReportFactory(incident=incident, exchange=exchange, support_ticket_id="12345678")
    claim = ClaimFactory(report=report)
    evidence = evidence_attach(report=report, kind="trade_export",
                               data=f"Date(UTC),Pair,Side\n2022-11-20,PUMPUSDT,BUY,{tag}\n".encode())
    for subject in ({"claim": claim}, {"evidence": evidence}, {}):
        CheckResult.objects.create(report=report, check_name="tx_exists", outcome="pass",
                                   started_at=NOON, finished_at=NOON, **subject)
    moderator = UserFactory(role=Role.MODERATOR)
    report_question_ask(report=report, moderator=moderator, body="Which wallet did you use?")
    report_answer(report=report, author=report.reporter, body="My Ledger.")
    TicketAttestation.objects.create(report=report, exchange=exchange, ticket_id="12345678",
                                     answer="attested", answered_by=UserFactory(role=Role.LIAISON))
    return report


def test_withdrawing_erases_the_report_and_everything_on_it(private_evidence_storage,
                                                            django_capture_on_commit_callbacks):
    incident = IncidentFactory()
    report, kept = full_report(incident, "a"), full_report(incident, "b")
    name = report.evidence.get().file.name

    with django_capture_on_commit_callbacks(execute=True):
        report_withdraw(report=report)

    for model in (Claim, Evidence, CheckResult, ReportMessage, TicketAttestation):
        assert not model.objects.filter(report_id=report.pk).exists()
        assert model.objects.filter(report=kept).exists()
    assert not private_evidence_storage.exists(name)
    assert stored_names(private_evidence_storage) == [kept.evidence.get().file.name]


def test_files_stay_until_the_erasure_commits(private_evidence_storage, django_capture_on_commit_callbacks):
    report = full_report(IncidentFactory(), "a")
    name = report.evidence.get().file.name

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report_withdraw(report=report)
        assert private_evidence_storage.exists(name)  # a rollback now would still find every file

    for callback in callbacks:
        callback()
    assert not private_evidence_storage.exists(name)


def test_a_withdrawn_report_is_no_longer_in_the_register(django_capture_on_commit_callbacks):
    incident = IncidentFactory()
    report, kept = full_report(incident, "a"), full_report(incident, "b")
    assert {row[0] for row in report_rows(incident=incident)} == {report_ref(report.pk), report_ref(kept.pk)}

    with django_capture_on_commit_callbacks(execute=True):
        report_withdraw(report=report)

    assert [row[0] for row in report_rows(incident=incident)] == [report_ref(kept.pk)]


def test_a_question_puts_the_report_in_needs_info(moderator):
    report = ReportFactory(status=ReportStatus.NEEDS_REVIEW)

    message = report_question_ask(report=report, moderator=moderator, body="  Which exchange account?  ")

    assert (message.from_moderator, message.author) == (True, moderator)
    assert message.body == "Which exchange account?"
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_INFO


def test_a_question_may_quote_a_transaction_hash(moderator):
    report = ReportFactory()

    report_question_ask(report=report, moderator=moderator, body="Is 0x" + "ab" * 32 + " yours?")

    assert report.messages.count() == 1


def test_an_answer_hands_the_report_back_to_moderators(moderator):
    report = ReportFactory(status=ReportStatus.NEEDS_INFO)

    message = report_answer(report=report, author=report.reporter, body="\nIt was my Binance account.\n")

    assert (message.from_moderator, message.body) == (False, "It was my Binance account.")
    assert report.status == ReportStatus.NEEDS_REVIEW
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_REVIEW


def test_an_answer_after_a_decision_taken_meanwhile_sends_the_report_back_to_review():
    # A moderator's decision never stands over an answer it did not read (issue 12).
    report = ReportFactory(status=ReportStatus.NEEDS_INFO)
    type(report).objects.filter(pk=report.pk).update(status=ReportStatus.VERIFIED, decided_at=timezone.now(),
                                                     decision_reason="proof_sufficient")

    report_answer(report=report, author=report.reporter, body="Here is more detail.")

    report.refresh_from_db()
    assert (report.status, report.decided_at, report.decision_reason) == (ReportStatus.NEEDS_REVIEW, None, "")
    assert report.messages.count() == 1


@pytest.mark.parametrize(("body", "kind"), [
    (f"My words: {SEED}", "seed_phrase"), ("password: hunter2!", "labelled"), ("key " + "cd" * 32, "hex_key"),
])
def test_an_answer_holding_a_secret_is_refused_and_nothing_is_stored(body, kind):
    report = ReportFactory(status=ReportStatus.NEEDS_INFO)

    with pytest.raises(SecretRefused) as caught:
        report_answer(report=report, author=report.reporter, body=body)

    assert caught.value.kind == kind
    assert not report.messages.exists()
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_INFO


@pytest.mark.parametrize(("body", "message"), [
    ("", "Write a message"), ("   \n\t ", "Write a message"), ("x" * 5001, "at most 5,000 characters"),
    ("ok\x00\x1b[2J", "control characters"),
])
def test_an_empty_overlong_or_garbled_message_is_refused(moderator, body, message):
    report = ReportFactory(status=ReportStatus.NEEDS_INFO)

    with pytest.raises(ValueError, match=message):
        report_answer(report=report, author=report.reporter, body=body)
    with pytest.raises(ValueError, match=message):
        report_question_ask(report=report, moderator=moderator, body=body)

    assert not report.messages.exists()


def test_an_answer_in_any_script_with_emoji_and_non_breaking_spaces_is_kept():
    report = ReportFactory()
    body = "Merci\u00a0! 我的账户被盗了 👨\u200d👩\u200d👧\nLine two\twith a tab"

    assert report_answer(report=report, author=report.reporter, body=body).body == body


def test_a_message_of_exactly_5000_characters_is_kept():
    report = ReportFactory()

    assert len(report_answer(report=report, author=report.reporter, body="y" * 5000).body) == 5000
