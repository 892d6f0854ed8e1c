"""The dashboard benchmark's server: the product's WSGI app, plus the live-ORM baseline under /_live/.

Only bench/dashboard_load.py runs it (gunicorn ``--pythonpath bench dashboard_live_wsgi:application``),
so that the baseline is served by the same processes, over the same HTTP, under the same load:

- ``/_live/stats/``: the stats API's headline and breakdowns summed live with plain ORM aggregation
  (reports, claimed, verified; by tier, status, exchange; verified claims by asset and day);
- ``/_live/chart/``: the filtered chart's numbers live (by exchange, tier T2 and above).
"""

import json

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from config.wsgi import application as product
from incidents.models import Claim, Report, ReportStatus

SUMS = {"n": Count("id"), "claimed": Sum("claimed_loss_usd"), "verified": Sum("verified_loss_usd")}


def live_stats(slug: str) -> dict:
    reports = Report.objects.filter(incident__slug=slug).exclude(status=ReportStatus.WITHDRAWN).order_by()
    verified = Claim.objects.filter(report__in=reports, status="verified").order_by()
    return {
        "head": reports.aggregate(**SUMS),
        "by_tier": list(reports.values("tier").annotate(**SUMS)),
        "by_status": list(reports.values("status").annotate(**SUMS)),
        "by_exchange": list(reports.values("exchange__name").annotate(**SUMS)),
        "by_asset": list(verified.values("asset").annotate(n=Count("report_id", distinct=True),
                                                            usd=Sum("usd_value"))),
        "by_day": list(verified.annotate(day=TruncDate("block_time")).values("day").annotate(
            n=Count("report_id", distinct=True), usd=Sum("usd_value"))),
    }


def live_chart(slug: str) -> dict:
    reports = Report.objects.filter(incident__slug=slug, tier__gte="T2").exclude(
        status=ReportStatus.WITHDRAWN).order_by()
    return {"by_exchange": list(reports.values("exchange__name").annotate(**SUMS))}


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if not path.startswith("/_live/"):
        return product(environ, start_response)
    numbers = live_stats("bench") if path == "/_live/stats/" else live_chart("bench")
    body = json.dumps(numbers, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
