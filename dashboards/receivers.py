"""Listen to the lower layers: reports changed (mark the summary stale), a release published (draw it)."""

import logging

from django.db import transaction

from dashboards.services import release_charts_render, summary_mark_stale_for_reports
from incidents.signals import reports_changed
from registry.signals import release_published

logger = logging.getLogger(__name__)


def on_reports_changed(sender, *, report_ids, **kwargs) -> None:
    """Mark after the commit: the sender's locks are released and the rebuild reads what it wrote."""
    ids = list(report_ids)
    transaction.on_commit(lambda: summary_mark_stale_for_reports(report_ids=ids))


def on_release_published(sender, *, release, **kwargs) -> None:
    """Draw the release's charts now, once; a failure leaves them to be drawn when first asked for."""
    try:
        release_charts_render(release=release)
    except Exception:  # the release itself is published and sound: never undo that over a drawing
        logger.exception("could not draw the charts of %s", release)


def connect() -> None:
    reports_changed.connect(on_reports_changed, dispatch_uid="dashboards-summary-stale")
    release_published.connect(on_release_published, dispatch_uid="dashboards-release-charts")
