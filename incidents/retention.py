"""Closing an incident, and erasing its evidence files a configured time later (audited).

A closed incident keeps its reports, claims, check results and releases: the register stays
reproducible from what the checks found. What goes, EVIDENCE_RETENTION_DAYS after closing, are
the uploaded files themselves (mails, exports, screenshots): they hold the most personal data
and are no longer needed once nobody can add or dispute evidence. Each Evidence row stays with
its sha256, size and kind, its file name emptied, so it never points at a missing file.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from incidents.drafts import draft_discard
from incidents.models import Evidence, Incident, ReportDraft
from incidents.services import draft_files_delete


class IncidentClosed(ValueError):
    """The incident is already closed."""


@transaction.atomic
def incident_close(*, incident: Incident, actor=None) -> Incident:
    """Close an incident (no new reports or evidence matter from now on) and audit it."""
    now = timezone.now()
    # Conditional: two admins closing at once close it once, and the first time stays.
    if not Incident.objects.filter(pk=incident.pk, closed_at__isnull=True).update(closed_at=now):
        raise IncidentClosed(f"incident {incident.slug} is already closed")
    audit_record(actor=actor, action=AuditAction.INCIDENT_CLOSE, subject=f"incident:{incident.slug}")
    incident.closed_at = now
    return incident


def evidence_erase_closed(*, closed_before: datetime) -> dict[str, int]:
    """Erase the evidence files of incidents closed before ``closed_before``; return files per slug."""
    erased = {}
    for incident in Incident.objects.filter(closed_at__lt=closed_before).order_by("pk"):
        count = incident_evidence_erase(incident=incident)
        if count:
            erased[incident.slug] = count
    return erased


@transaction.atomic
def incident_evidence_erase(*, incident: Incident) -> int:
    """Empty the file of every evidence row of one incident and delete the files on commit."""
    stored = Evidence.objects.filter(report__incident=incident).exclude(file="")
    names = list(stored.values_list("file", flat=True))
    if names:
        stored.update(file="")
        audit_record(actor=None, action=AuditAction.EVIDENCE_ERASE, subject=f"incident:{incident.slug}",
                     data={"files": len(names)})
        draft_files_delete(names=names)  # after commit: a rollback keeps rows and files together
    for draft in ReportDraft.objects.filter(incident=incident):
        draft_discard(draft=draft)  # drafts never became reports; they go with their files
    return len(names)
