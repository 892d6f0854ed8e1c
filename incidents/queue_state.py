"""What the moderators' queue sorts and filters on, stored on each report (docs/moderation.md, "Queue").

The queue's first page must not read every report's flags and claims to find which ones carry an
open fraud flag or a contested transfer. Both are stored on Report and indexed with the queue's
sorts; the verdict sets them whenever it stores a report (``verification.services`` computes them
with ``report_queue_state`` from the claim statuses it just weighed), which is also the only place
flags and claim statuses change.
``reports_queue_state_refresh`` recomputes them from the database for writes that bypass the
verdict (data migrations, fixtures).
"""

from collections.abc import Iterable

from incidents.models import Claim, ClaimStatus, Report
from incidents.vocabulary import FRAUD_FLAGS

QUEUE_STATE_FIELDS = ["open_fraud_flags", "contested"]


def report_queue_state(*, flags: Iterable[str], resolved_flags: Iterable[str],
                       claim_statuses: Iterable[str]) -> dict[str, int | bool]:
    """Return the stored queue columns for a report with these flags and claim statuses."""
    open_flags = (set(flags) & FRAUD_FLAGS) - set(resolved_flags or ())
    return {"open_fraud_flags": len(open_flags),
            "contested": any(status == ClaimStatus.CONTESTED for status in claim_statuses)}


def reports_queue_state_refresh(*, report_ids: Iterable[int] | None = None, batch: int = 2000) -> int:
    """Recompute the queue columns from the database (all reports without ids); return rows changed."""
    reports = Report.objects.order_by("pk")
    if report_ids is not None:
        reports = reports.filter(pk__in=list(report_ids))
    changed, last = 0, 0
    while True:
        rows = list(reports.filter(pk__gt=last).values_list(
            "pk", "flags", "resolved_flags", *QUEUE_STATE_FIELDS)[:batch])
        if not rows:
            return changed
        last = rows[-1][0]
        ids = [row[0] for row in rows]
        contested = set(Claim.objects.filter(report_id__in=ids, status=ClaimStatus.CONTESTED)
                        .values_list("report_id", flat=True))
        stale = []
        for pk, flags, resolved, open_flags, was_contested in rows:
            state = report_queue_state(flags=flags or [], resolved_flags=resolved or [],
                                       claim_statuses=[ClaimStatus.CONTESTED] if pk in contested else [])
            if (state["open_fraud_flags"], state["contested"]) != (open_flags, was_contested):
                stale.append(Report(pk=pk, **state))
        Report.objects.bulk_update(stale, QUEUE_STATE_FIELDS, batch_size=500)
        changed += len(stale)
