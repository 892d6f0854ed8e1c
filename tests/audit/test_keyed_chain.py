"""The chain is an HMAC under AUDIT_KEY: rewriting it needs the key, not only the database."""

import importlib
import json
import uuid
from io import StringIO

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record, audit_verify
from tests.audit.test_chain import tampering

pytestmark = pytest.mark.django_db
rekey_migration = importlib.import_module("audit.migrations.0004_moderation_rekey")


def events(n: int = 3) -> list[AuditEvent]:
    return [audit_record(actor=None, action=AuditAction.EVIDENCE_VIEW, subject=f"evidence:{i}")
            for i in range(n)]


def plain_hash(event: AuditEvent) -> str:
    return event.hash_compute(keyed=False)


def test_a_chain_recomputed_without_the_key_fails_the_check():
    chain = events()
    forged = AuditEvent.objects.get(seq=chain[1].seq)
    forged.subject = "evidence:999"
    prev = forged.prev_hash
    with tampering():
        # Someone with database rights re-chains from the edit on, with plain sha256.
        for event in AuditEvent.objects.filter(seq__gte=forged.seq).order_by("seq"):
            if event.seq == forged.seq:
                event.subject = forged.subject
            event.prev_hash = prev
            event.hash = prev = plain_hash(event)
            AuditEvent.objects.filter(pk=event.pk).update(subject=event.subject, prev_hash=event.prev_hash,
                                                          hash=event.hash)

    problems = audit_verify()

    assert problems and all("hash does not match" in p for p in problems)


def test_a_chain_made_with_another_key_fails_the_check(settings):
    events()

    settings.AUDIT_KEY = "another-key-entirely-of-enough-length"

    assert len(audit_verify()) == 3


def test_an_unkeyed_chain_stays_checkable_through_the_recorded_rekey_event(settings):
    # Three events as the unkeyed code wrote them, then the migration's re-key event.
    prev = "0" * 64
    for seq in (1, 2, 3):
        event = AuditEvent(seq=seq, at=_now(), actor_label="command line", action="export_draft",
                           subject=f"old:{seq}", data={}, prev_hash=prev)
        event.hash = prev = plain_hash(event)
        event.save(force_insert=True)

    rekey_migration.rekey(apps, None)
    audit_record(actor=None, action=AuditAction.EVIDENCE_VIEW, subject="evidence:1")

    rekey = AuditEvent.objects.get(action="audit_rekey")
    assert (rekey.seq, rekey.data) == (4, {"scheme": "hmac-sha256", "plain_until": 3})
    assert audit_verify() == []
    with tampering():
        AuditEvent.objects.filter(seq=4).delete()
    assert audit_verify()  # without its re-key event the plain part no longer passes as keyed


def _now():
    from django.utils import timezone

    return timezone.now()


def test_check_audit_holds_the_log_to_the_head_a_release_recorded(settings, tmp_path):
    settings.RELEASES_ROOT = tmp_path
    chain = events()
    # Where releases are published: the local folder, or the bucket when the suite runs on one.
    releases = storages["releases"]
    manifest = releases.save(f"incident-{uuid.uuid4().hex[:8]}/1/manifest.json", ContentFile(json.dumps(
        {"audit_head": {"seq": chain[-1].seq, "hash": chain[-1].hash}}).encode()))
    try:
        call_command("check_audit", stdout=StringIO())

        with tampering():
            AuditEvent.objects.filter(seq=chain[-1].seq).delete()  # the tail is cut: the chain stays intact

        with pytest.raises(CommandError) as broken:
            call_command("check_audit", stdout=StringIO(), stderr=StringIO())
        assert broken.value.returncode == 2
    finally:
        releases.delete(manifest)


def test_a_release_manifest_records_the_audit_head():
    from registry.services import _audit_head

    last = events()[-1]

    assert _audit_head() == {"seq": last.seq, "hash": last.hash}
