"""Listen to reports_changed: mark the live summary stale once the sender's transaction commits."""

from django.db import transaction

from dashboards.services import summary_mark_stale_for_reports
from incidents.signals import reports_changed


def on_reports_changed(sender, *, report_ids, **kwargs) -> None:
    """Mark after the commit: the sender's locks are released and the rebuild reads what it wrote."""
    ids = list(report_ids)
    transaction.on_commit(lambda: summary_mark_stale_for_reports(report_ids=ids))


def connect() -> None:
    reports_changed.connect(on_reports_changed, dispatch_uid="dashboards-summary-stale")
