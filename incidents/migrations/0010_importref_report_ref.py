"""Store each report's register pseudonym (report_ref), backfilled with the value exports gave it so far."""

import hashlib
import hmac

from django.conf import settings
from django.db import migrations, models

CHUNK = 2000


def backfill(apps, schema_editor):
    """Give every existing report the ref the register derived for it until now: HMAC of report:<id>."""
    Report = apps.get_model("incidents", "Report")
    if not Report.objects.filter(report_ref__isnull=True).exists():
        return
    key = settings.REPORT_REF_KEY
    if not key:
        raise RuntimeError("REPORT_REF_KEY must be set to store the pseudonyms of existing reports: use the "
                           "key their published releases were made with")
    key_id = hashlib.sha256(b"lossproof report_ref key id\0" + key.encode()).hexdigest()[:8]
    given: set[str] = set()
    last = 0
    while ids := list(Report.objects.filter(pk__gt=last, report_ref__isnull=True).order_by("pk")
                      .values_list("pk", flat=True)[:CHUNK]):
        rows = []
        for report_id in ids:
            ref, attempt = _derive(key, f"report:{report_id}"), 0
            while ref in given:  # never seen under a sound key; the unique index must hold all the same
                attempt += 1
                ref = _derive(key, f"report:{report_id}:{attempt}")
            given.add(ref)
            rows.append(Report(pk=report_id, report_ref=ref, report_ref_key=key_id))
        Report.objects.bulk_update(rows, ["report_ref", "report_ref_key"])
        last = ids[-1]


def _derive(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()[:16]


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0009_merge_20261206_0504"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="report_ref",
            field=models.CharField(blank=True, editable=False, max_length=16, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="report",
            name="report_ref_key",
            field=models.CharField(blank=True, editable=False, max_length=8),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
