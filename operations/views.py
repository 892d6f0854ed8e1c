"""Probes for orchestrators, metrics for Prometheus, and the operator page for admins."""

import hmac

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from operations.health import readiness
from operations.metrics import metrics_text
from operations.selectors import snapshot


@never_cache
@require_GET
def healthz(request):
    """Answer 200 while the process serves requests; touches nothing else."""
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def readyz(request):
    """Answer 200 when the database, broker and storage answer; 503 naming the ones that do not."""
    parts = readiness()
    failed = [name for name, part in parts.items() if not part["ok"]]
    body = {"status": "unavailable" if failed else "ready", "failed": failed, "checks": parts}
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
@require_GET
def metrics(request):
    """Prometheus metrics, for a scraper holding METRICS_TOKEN (open without one only in DEBUG)."""
    if not _may_scrape(request):
        response = HttpResponse(_("A bearer token (METRICS_TOKEN) is required.") + "\n", status=401,
                                content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_text(snapshot()), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return settings.DEBUG
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@staff_member_required
@never_cache
@require_GET
def overview(request):
    """The operator page: readiness, queues, unchecked reports, providers, beat, workers, files."""
    if not request.user.is_superuser:
        raise PermissionDenied  # moderators are staff too; this page is for admins
    return render(request, "operations/overview.html", {"parts": readiness(), "data": snapshot()})
