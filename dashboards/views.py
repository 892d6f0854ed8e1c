"""The public dashboard of a published incident, its charts, embeds, release pages and methodology."""

import hashlib
import secrets
from decimal import Decimal

from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import http_date, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from config.middleware import CONTENT_SECURITY_POLICY
from dashboards.charts import (
    CHARTS,
    SERIES_LABELS,
    chart_csv,
    chart_json,
    chart_png,
    chart_rows,
    chart_svg,
    row_label,
)
from dashboards.forms import FilterForm
from dashboards.models import ReleaseChart
from dashboards.selectors import (
    FILTERED_SECONDS,
    Picture,
    can_preview,
    picture_filtered,
    picture_preview,
    picture_public,
)
from dashboards.services import release_chart_png
from incidents import views as incident_views
from incidents.models import Incident
from registry.models import Release
from registry.stats import TooFewReports

# Only the embed page may be framed, by any site: it shows nothing the public page does not.
EMBED_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "svg": "image/svg+xml",
           "png": "image/png"}


@require_GET
def dashboard(request, slug: str):
    """The incident's landing page: its latest release's picture, or the live preview for journalists."""
    incident = Incident.objects.filter(slug=slug).first()
    if incident is None or not incident.published:
        return incident_views.incident_detail(request, slug)  # staff see unpublished ones; others 404
    view = _view(request, incident)
    charts = "" if view["too_few"] else _charts_html(request, view)
    context = {**view, "charts_html": charts, "filters_html": _filters_html(request, view),
               "can_preview": can_preview(request.user),
               "proven": sum(view["stats"]["by_tier"].get(tier, 0) for tier in ("T2", "T3", "T4"))}
    return _cached(request, view, lambda: _page(request, view, context))


def _page(request, view: dict, context: dict) -> HttpResponse:
    """Render the dashboard, or, for an anonymous reader of a whole picture, reuse its page.

    Anonymous readers of one unfiltered picture, address and language get the same page but for the CSRF
    token of its two forms: it is rendered once with a placeholder, which each answer replaces with
    the reader's own token. A page naming its reader (signed in) or carrying a one-time message is
    always rendered for that request.
    """
    whole = request.META.get("QUERY_STRING", "") in ("", view["querystring"]) and not view["filters"].active()
    if request.user.is_authenticated or len(get_messages(request)) or not whole:
        return render(request, "dashboards/dashboard.html", context)
    parts = [view["picture"].version, request.get_full_path(), get_language() or "", request.get_host()]
    key = "dashboards:page:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    stored = cache.get(key)
    if stored is None:
        # A fresh random stand-in per rendering: no text of the page can be mistaken for it.
        placeholder = secrets.token_hex(16)
        html = render_to_string("dashboards/dashboard.html", {**context, "csrf_token": placeholder},
                                request=request)
        stored = (placeholder, html)
        cache.set(key, stored, timeout=_keep_for(view))
    placeholder, html = stored
    return HttpResponse(html.replace(placeholder, get_token(request)))


@require_GET
def chart_page(request, slug: str, chart: str):
    """One chart on its own page: the permalink, with the filters in the URL."""
    view, spec = _chart_view(request, slug, chart)
    context = {**view, "chart": _chart_context(request, view, spec)}
    return _cached(request, view, lambda: render(request, "dashboards/chart_page.html", context))


@require_GET
@xframe_options_exempt
def chart_embed(request, slug: str, chart: str):
    """The chart alone, for an iframe on another site: the only page whose CSP allows framing."""
    view, spec = _chart_view(request, slug, chart)
    context = {**view, "chart": _chart_context(request, view, spec)}
    response = _cached(request, view, lambda: render(request, "dashboards/chart_embed.html", context),
                       shared=True)
    response["Content-Security-Policy"] = EMBED_POLICY
    return response


@require_GET
def chart_file(request, slug: str, chart: str, fmt: str):
    """The chart's numbers (CSV, JSON) or drawing (SVG, PNG), exactly as on its page."""
    if fmt not in FORMATS:
        raise Http404
    view, spec = _chart_view(request, slug, chart)
    rows = chart_rows(spec, view["stats"])
    return _cached(request, view, lambda: _file(spec, rows, view, fmt), suffix=fmt, shared=True)


def _drawn(spec, view, fmt: str) -> bytes | str | None:
    """Return the release's chart as drawn at publication, when the URL asks for exactly that."""
    if fmt not in ("svg", "png") or not view["picture"].citable or view["filters"].active():
        return None
    stored = ReleaseChart.objects.filter(release=view["release"], chart=spec.slug,
                                         language=get_language()).first()
    if stored is None:
        return None
    return release_chart_png(chart=stored) if fmt == "png" else stored.svg


def _file(spec, rows, view, fmt: str) -> HttpResponse:
    body = _drawn(spec, view, fmt)
    response = HttpResponse(_draw(spec, rows, view, fmt) if body is None else body, content_type=FORMATS[fmt])
    name = f"{view['incident'].slug}-{spec.slug}-{view['release_label']}.{fmt}"
    response["Content-Disposition"] = f'{"inline" if fmt == "svg" else "attachment"}; filename="{name}"'
    return response


def _draw(spec, rows, view, fmt: str) -> bytes | str:
    """Draw the chart (or write its numbers) for this request: filtered views and the preview."""
    if fmt == "csv":
        return chart_csv(spec, rows)
    if fmt == "json":
        return chart_json(spec, rows, _meta(view))
    svg = chart_svg(spec, rows, cite=view["cite"])
    return chart_png(svg) if fmt == "png" else svg


def _meta(view: dict) -> dict:
    stats = view["stats"]
    return {"incident": view["incident"].slug, "release": stats["release"], "as_of": stats["as_of"],
            "preview": view["preview"], "manifest_sha256": view["release"].manifest_sha256
            if view["release"] and not view["preview"] else None, "filters": view["filters"].query()}


def _chart_view(request, slug: str, chart: str):
    incident = get_object_or_404(Incident.objects.published(), slug=slug)
    spec = CHARTS.get(chart)
    if spec is None:
        raise Http404
    view = _view(request, incident)
    if view["too_few"]:
        raise Http404(_("Fewer than 5 reports match these filters."))
    return view, spec


# --- What every page of one incident shares --------------------------------------------------


def _view(request, incident: Incident) -> dict:
    """Pick the picture (release, preview) from the URL, apply the filters, and say how to cite it."""
    picture = _picture(request, incident)
    form = FilterForm(request.GET or None, stats=picture.stats)
    filters = form.filters()
    try:
        stats, too_few = picture_filtered(picture=picture, filters=filters), False
    except TooFewReports:
        stats, too_few = picture.stats, True
    query = {**filters.query(), **_pin(picture)}
    return {"incident": incident, "picture": picture, "release": picture.release, "preview": picture.preview,
            "stats": stats, "form": form, "filters": filters, "too_few": too_few, "query": query,
            "querystring": urlencode(query), "cite": picture.cite, "headline": _headline(stats),
            "release_label": f"release-{picture.release.number}" if picture.citable else
            ("preview" if picture.preview else "unreleased")}


def _picture(request, incident: Incident) -> Picture:
    if request.GET.get("preview") == "1" and can_preview(request.user):
        return picture_preview(incident=incident)
    number = request.GET.get("release", "")
    if number and not number.isdigit():
        raise Http404
    picture = picture_public(incident=incident, number=int(number) if number else None)
    if number and picture.release is None:
        raise Http404
    return picture


def _pin(picture: Picture) -> dict:
    """Pin a permalink to the release it shows, so that it never moves; a preview stays a preview."""
    if picture.preview:
        return {"preview": "1"}
    return {"release": str(picture.release.number)} if picture.release else {}


def _headline(stats: dict) -> dict:
    claimed, verified = Decimal(stats["claimed_loss_usd"]), Decimal(stats["verified_loss_usd"])
    share = (verified / claimed * 100) if claimed else Decimal(0)
    return {"share_proven": f"{share:.1f}"}


def _charts_html(request, view: dict) -> str:
    """Render every chart's block once per picture, filters, language and host, then reuse it."""
    parts = [view["picture"].version, view["querystring"], get_language() or "", request.get_host()]
    key = "dashboards:charts:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    html = cache.get(key)
    if html is None:
        charts = [_chart_context(request, view, spec) for spec in CHARTS.values()]
        html = render_to_string("dashboards/_charts.html", {"charts": charts, "cite": view["cite"]})
        cache.set(key, html, timeout=_keep_for(view))
    return mark_safe(html)  # noqa: S308 - rendered above by our own escaping template


def _filters_html(request, view: dict) -> str:
    """Render the filter form once per picture, query and language (a query the form would not
    write itself, with errors or unknown parameters, is rendered for its request alone).

    Its widgets are most of a page's rendering time, and depend on nothing else.
    """
    typed = urlencode(sorted(request.GET.lists()), doseq=True)
    if typed not in ("", urlencode(sorted(view["query"].items()))):  # errors, unknown or repeated parameters
        return mark_safe(render_to_string("dashboards/_filters.html", view))  # noqa: S308 - our template
    parts = [view["picture"].version, typed, get_language() or ""]
    key = "dashboards:filters:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    html = cache.get(key)
    if html is None:
        html = render_to_string("dashboards/_filters.html", view)
        cache.set(key, html, timeout=_keep_for(view))
    return mark_safe(html)  # noqa: S308 - rendered above by our own escaping template


def _keep_for(view: dict) -> int | None:
    """How long a rendered part of a page stays cached: a release's whole picture for good (one entry
    per release, language and host), a narrowed one or the preview for a while, so that no stream
    of different addresses can fill the cache."""
    if not view["picture"].citable:
        return 60
    return FILTERED_SECONDS if view["filters"].active() else None


def _chart_context(request, view: dict, spec) -> dict:
    rows = chart_rows(spec, view["stats"])
    slug, qs = view["incident"].slug, view["querystring"]
    suffix = f"?{qs}" if qs else ""

    def url(name: str, **kwargs) -> str:
        return reverse(f"dashboards:{name}", kwargs={"slug": slug, "chart": spec.slug, **kwargs}) + suffix

    links = {fmt: url("chart-file", fmt=fmt) for fmt in FORMATS}
    embed = request.build_absolute_uri(url("chart-embed"))
    return {"spec": spec, "rows": [{"label": row_label(spec, row), "row": row,
                                    "cells": [row[name] for name in spec.values]} for row in rows],
            "columns": [{"name": name, "label": SERIES_LABELS[name]} for name in spec.values],
            "links": links, "permalink": url("chart-page"),
            "embed_url": embed, "embed_code": f'<iframe src="{embed}" width="740" height="480" '
                                              f'title="{spec.title}" loading="lazy"></iframe>'}


def _cached(request, view: dict, build, suffix: str = "html", shared: bool = False) -> HttpResponse:
    """Answer 304 when the reader has this version; otherwise build it, with ETag and caching headers."""
    picture = view["picture"]
    tag = hashlib.sha256("|".join([picture.version, view["querystring"], get_language() or "", suffix,
                                   str(request.user.is_authenticated)]).encode()).hexdigest()[:32]
    etag = f'"{tag}"'
    response = HttpResponseNotModified() if request.headers.get("If-None-Match") == etag else build()
    response["ETag"] = etag
    if picture.built_at:
        response["Last-Modified"] = http_date(picture.built_at.timestamp())
    response["Cache-Control"] = _cache_control(request, picture, shared)
    response["Vary"] = "Accept-Language, Cookie"
    return response


def _cache_control(request, picture: Picture, shared: bool) -> str:
    if picture.preview or request.user.is_authenticated:
        return "private, no-store"  # embargoed numbers, or a page naming its reader
    if not shared:
        return "private, no-cache"  # full pages carry a CSRF token: revalidate (ETag, 304) instead
    # A pinned release never changes; "the latest" changes at the next publication.
    return "public, max-age=86400" if "release" in request.GET else "public, max-age=60"


# --- Releases and methodology ----------------------------------------------------------------


@require_GET
def release_detail(request, slug: str, number: int):
    """One release: its totals beside the previous release's, its changelog, and any later release."""
    incident = get_object_or_404(Incident.objects.published(), slug=slug)
    releases = Release.objects.filter(incident=incident).defer("facts")
    release = get_object_or_404(releases, number=number)
    context = {"incident": incident, "release": release,
               "previous": releases.filter(number=number - 1).first(),
               "next": releases.filter(number=number + 1).first(),
               "latest": releases.order_by("-number").first()}
    return render(request, "dashboards/release_detail.html", context)


@require_GET
def methodology(request):
    """The definitions each dashboard figure links to."""
    return render(request, "dashboards/methodology.html")
