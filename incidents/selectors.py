"""Reusable reads of incidents and reports."""

from django.db.models import Count, Q, QuerySet, Sum

from incidents.models import Incident, Report, ReportStatus


def incident_list_visible(*, user) -> QuerySet[Incident]:
    """Published incidents for everyone; staff also see unpublished ones."""
    incidents = Incident.objects.all()
    return incidents if user.is_staff else incidents.published()


def incident_summary(*, incident: Incident) -> dict:
    """Return report counts by status and tier, and claimed and verified totals."""
    reports = Report.objects.active().filter(incident=incident)
    totals = reports.aggregate(
        reports=Count("id"),
        claimed=Sum("claimed_loss_usd"),
        verified=Sum("verified_loss_usd"),
        decided=Count("id", filter=Q(decided_at__isnull=False)),
    )
    by_status = dict(reports.values_list("status").annotate(n=Count("id")).order_by())
    by_tier = dict(reports.values_list("tier").annotate(n=Count("id")).order_by())
    return {
        **totals,
        "by_status": [(label, by_status.get(value, 0)) for value, label in ReportStatus.choices
                      if value != ReportStatus.WITHDRAWN],
        "by_tier": sorted(by_tier.items()),
    }
