"""The audit log is a hash chain: every event vouches for the one before, and a check finds tampering."""

import threading
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from accounts.models import Role
from audit.models import GENESIS_HASH, AuditAction, AuditEvent
from audit.services import audit_record, audit_verify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="the lock and the append-only trigger are PostgreSQL's")


@pytest.fixture
def moderator():
    return UserFactory(role=Role.MODERATOR, is_staff=True, email="mod.person@example.org")


@pytest.fixture
def chain(moderator):
    """Four events, as a morning of moderation leaves them."""
    return [audit_record(actor=moderator, action=AuditAction.EVIDENCE_VIEW, subject="evidence:7"),
            audit_record(actor=moderator, action=AuditAction.EVIDENCE_DOWNLOAD, subject="evidence:7"),
            audit_record(actor=None, action=AuditAction.EXPORT_DRAFT,
                         subject="release:api-key-leak-2022/draft",
                         data={"rows": 3, "manifest_sha256": "ab" * 32}),
            audit_record(actor=moderator, action=AuditAction.REPORT_ERASE, subject="report:12",
                         data={"claims": 2, "evidence": 1})]


@contextmanager
def tampering():
    """Change events as a database superuser could: on PostgreSQL, with triggers switched off."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        cursor.execute("SET LOCAL session_replication_role = origin")


def events(*seqs):
    return AuditEvent.objects.filter(seq__in=seqs)


def test_a_chain_of_events_verifies(chain):
    assert audit_verify() == []
    assert [event.seq for event in chain] == [1, 2, 3, 4]
    assert chain[0].prev_hash == GENESIS_HASH
    assert [event.prev_hash for event in chain[1:]] == [event.hash for event in chain[:-1]]


def test_it_detects_an_edited_row(chain):
    with tampering():
        events(3).update(data={"rows": 2, "manifest_sha256": "ab" * 32})

    assert audit_verify() == ["seq 3: hash does not match the event's contents (the event was edited)"]


def test_it_detects_an_edited_row_whose_hash_was_recomputed(chain):
    event = AuditEvent.objects.get(seq=2)
    event.subject = "evidence:8"
    with tampering():
        events(2).update(subject=event.subject, hash=event.hash_compute())

    assert audit_verify() == [
        "seq 3: prev_hash is not the hash of event 2 (an event was deleted, inserted or moved)"]


def test_it_detects_a_deleted_middle_row(chain):
    with tampering():
        events(2).delete()

    assert audit_verify() == ["seq 3: event 2 is missing (deleted)"]


def test_it_detects_deleted_first_rows(chain):
    with tampering():
        events(1, 2).delete()

    assert audit_verify() == ["seq 3: events 1 to 2 are missing (deleted)"]


def test_it_detects_two_rows_swapped(chain):
    with tampering():
        events(2).update(seq=99)
        events(3).update(seq=2)
        events(99).update(seq=3)

    problems = audit_verify()

    assert {problem.split(":")[0] for problem in problems} == {"seq 2", "seq 3", "seq 4"}
    assert "seq 2: hash does not match the event's contents (the event was edited)" in problems


def test_it_detects_an_event_pointed_at_another_account(chain):
    with tampering():
        events(1).update(actor=UserFactory())

    assert audit_verify() == [f"seq 1: actor {AuditEvent.objects.get(seq=1).actor_id} is not the account "
                              f"in its label {chain[0].actor_label!r} (the actor was changed)"]


def test_deleting_an_actors_account_keeps_the_chain_intact(chain, moderator):
    label = chain[0].actor_label

    moderator.delete()

    first = AuditEvent.objects.get(seq=1)
    assert first.actor_id is None and first.actor_label == label
    assert audit_verify() == []


@on_postgresql
def test_the_database_refuses_to_change_or_delete_an_event(chain):
    for change in (lambda: events(2).update(subject="evidence:8"), lambda: events(4).delete()):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()

    assert audit_verify() == [] and AuditEvent.objects.count() == 4


def test_the_actor_is_named_by_account_id_and_role_never_by_name_or_email(moderator):
    event = audit_record(actor=moderator, action=AuditAction.EVIDENCE_VIEW, subject="evidence:1")

    assert event.actor_label == f"user {moderator.pk} (moderator, staff)"
    issued = audit_record(actor=None, action=AuditAction.TOKEN_ISSUE, subject="user:1")
    assert issued.actor_label == "command line"


@pytest.mark.parametrize("data", [{"amount": 1.5}, {"note": "x" * 3000}, {1: "not a string key"}])
def test_data_that_would_not_hash_the_same_after_storage_or_is_not_small_is_refused(data):
    with pytest.raises(ValueError, match="audit data"):
        audit_record(actor=None, action=AuditAction.EXPORT_DRAFT, subject="release:x/draft", data=data)

    assert not AuditEvent.objects.exists()


def test_an_event_is_undone_with_the_callers_transaction(moderator):
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=moderator, action=AuditAction.REPORT_ERASE, subject="report:1")
        raise RuntimeError("the erasure failed")

    assert not AuditEvent.objects.exists()
    assert audit_record(actor=moderator, action=AuditAction.REPORT_ERASE, subject="report:1").seq == 1


def test_check_audit_says_the_log_is_intact_and_exits_0(chain):
    out = StringIO()

    call_command("check_audit", stdout=out)

    head = chain[-1]
    assert out.getvalue().splitlines() == [
        "audit log intact: 4 events",
        f"last event: seq 4, hash {head.hash} (note as --expect 4:{head.hash})"]


def test_check_audit_lists_each_problem_and_exits_2(chain):
    with tampering():
        events(2).delete()
        events(4).update(subject="report:13")
    err = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("check_audit", stdout=StringIO(), stderr=err)

    assert failure.value.returncode == 2 and "2 problem(s)" in str(failure.value)
    assert err.getvalue().splitlines() == [
        "problem: seq 3: event 2 is missing (deleted)",
        "problem: seq 4: hash does not match the event's contents (the event was edited)"]


def test_check_audit_finds_a_cut_off_tail_against_a_hash_noted_earlier(chain):
    noted = f"4:{chain[-1].hash}"
    call_command("check_audit", "--expect", noted, stdout=StringIO())
    with tampering():
        events(4).delete()
    err = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("check_audit", "--expect", noted, stdout=StringIO(), stderr=err)

    assert failure.value.returncode == 2
    assert err.getvalue() == (f"problem: seq 4: missing, though noted earlier with hash {chain[-1].hash} "
                              "(the log was cut off)\n")


def test_check_audit_finds_a_rewritten_log_against_a_hash_noted_earlier(chain):
    rewritten = AuditEvent.objects.get(seq=4)
    rewritten.subject = "report:13"
    with tampering():
        events(4).update(subject=rewritten.subject, hash=rewritten.hash_compute())
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("check_audit", "--expect", f"4:{chain[-1].hash}", stdout=StringIO(), stderr=err)

    assert "(the log was rewritten)" in err.getvalue()


def test_check_audit_on_an_empty_log_says_so():
    out = StringIO()

    call_command("check_audit", stdout=out)

    assert out.getvalue() == "audit log intact: 0 events\n"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_extend_one_unbroken_chain():
    start, failures = threading.Barrier(4), []

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                with transaction.atomic():
                    audit_record(actor=None, action=AuditAction.EVIDENCE_VIEW,
                                 subject=f"evidence:{n * 100 + i}")
        except Exception as exc:  # reported below, from the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert audit_verify() == []
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 61))
