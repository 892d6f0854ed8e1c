"""Key the existing chain: one re-key event after the last plain-sha256 event, itself an HMAC."""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def _keyed_hash(event) -> str:
    canonical = {"seq": event.seq, "at": event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                 "actor_label": event.actor_label, "action": event.action, "subject": event.subject,
                 "data": event.data, "prev_hash": event.prev_hash}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return hmac.new(settings.AUDIT_KEY.encode(), text, hashlib.sha256).hexdigest()


def rekey(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    last = AuditEvent.objects.order_by("-seq").first()
    if last is None or AuditEvent.objects.filter(action="audit_rekey").exists():
        return  # an empty log is keyed from its first event on
    event = AuditEvent(seq=last.seq + 1, at=timezone.now(), actor=None, actor_label="command line",
                       action="audit_rekey", subject="audit:chain",
                       data={"scheme": "hmac-sha256", "plain_until": last.seq}, prev_hash=last.hash)
    event.hash = _keyed_hash(event)
    event.save(force_insert=True)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_moderation_actions")]
    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
