"""The moderator's pages: the queue, the review page, and the forms that call the decision service.

Every page answers 404 to anyone but a moderator, and a moderator reaches them only after
signing in with a second factor (accounts.middleware). Each works without JavaScript.
"""

import csv
import json
from datetime import timedelta
from functools import wraps
from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.middleware import session_has_second_factor
from accounts.models import Role, User
from accounts.roles import is_moderator
from audit.models import AuditAction
from audit.services import audit_record
from incidents.guidance import check_sentence, decision_meaning, flag_notes, tier_meaning
from incidents.models import ClaimStatus, Evidence, ReportStatus
from incidents.vocabulary import FRAUD_FLAGS
from moderation import services
from moderation.evidence import IMAGE_TYPES, evidence_image, evidence_view
from moderation.forms import BindForm, DecisionForm, FlagForm, QueueFilterForm, SecondReviewForm
from moderation.models import Decision, DecisionState, ReportHold
from moderation.selectors import (
    COUNTS_SECONDS,
    moderators_holding,
    queue_acted,
    queue_counts,
    queue_generation,
    queue_reports,
    related_reports,
    report_for_review,
    report_history,
    report_version,
    tag_names,
)
from verification.selectors import provider_calls_between

PAGE_SIZE = 50
CSV_MAX_ROWS = 100_000


def moderator_page(view):
    """Let moderators in; everyone else gets 404, as if the page did not exist."""
    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_moderator(request.user):
            raise Http404
        if not session_has_second_factor(request):  # the middleware sends them to enrol first
            raise Http404
        response = view(request, *args, **kwargs)
        if request.method == "POST":  # every moderator action: their next queue view is recounted
            queue_acted(moderator_id=request.user.pk)
        return response
    return wrapper


# --- Queue -------------------------------------------------------------------------------------


def _filtered(request):
    form = QueueFilterForm(request.GET, holders=moderators_holding())
    filters = form.filters()
    return form, filters, queue_reports(filters=filters, moderator=request.user)


@moderator_page
@require_GET
def queue(request):
    form, filters, reports = _filtered(request)
    counts = queue_counts(reports=reports, filters=filters, moderator=request.user)
    page = _Counted(reports, PAGE_SIZE, total=counts["total"]).get_page(request.GET.get("page"))
    query = {k: v for k, v in request.GET.lists() if k != "page"}
    back = urlencode({**query, "page": page.number}, doseq=True)
    _label_statuses(page.object_list, ReportStatus.choices)
    return render(request, "moderation/queue.html", {
        "form": form, "filters": filters, "page": page, "counts": counts,
        "count_links": _count_links(query, counts), "counts_seconds": COUNTS_SECONDS,
        "fraud_flags": FRAUD_FLAGS, "query": urlencode(query, doseq=True), "back": back,
        "moderators": User.objects.filter(role=Role.MODERATOR, is_active=True).order_by("username"),
        "tag_names": tag_names(), "generation": queue_generation(),
    })


def _label_statuses(items, choices) -> None:
    """Give each row its status label, translated once per page (get_status_display hashes every
    choice's lazy label on each call, a tenth of the page's time at 50 rows)."""
    labels = {value: str(label) for value, label in choices}
    for item in items:
        item.status_label = labels.get(item.status, item.status)


class _Counted(Paginator):
    """A paginator given the view's total (the counts' one), so that it does not count a second time."""

    def __init__(self, object_list, per_page, *, total: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = total  # Paginator.count is a cached_property


@moderator_page
@require_GET
def queue_csv(request):
    """Stream the filtered queue as CSV: ids, amounts and states, no personal data."""
    _form, _filters, reports = _filtered(request)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(CSV_HEADER)
        for report in reports[:CSV_MAX_ROWS].iterator(chunk_size=2000):
            yield writer.writerow(_csv_row(report))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="moderation-queue.csv"'
    return response


def _count_links(query: dict, counts: dict) -> list[tuple[str, int, str]]:
    """Link each count to the current view narrowed to it (the filter replaced, the rest kept).

    A status is named by its label, as in the table; tiers and flags by their register codes.
    """
    statuses = {value: str(label) for value, label in ReportStatus.choices}
    links = []
    for key, group in (("status", "by_status"), ("tier", "by_tier"), ("flag", "by_flag")):
        for value, n in counts[group].items():
            narrowed = {**query, key: [value]}
            label = statuses.get(value, value) if key == "status" else value
            links.append((label, n, urlencode(narrowed, doseq=True)))
    return links


CSV_HEADER = ["report_id", "incident", "exchange", "status", "tier", "flags", "claimed_loss_usd",
              "verified_loss_usd", "submitted_at", "contested", "awaiting_second_review"]


class _Echo:
    def write(self, value):
        return value


def _csv_row(report) -> list:
    return [report.pk, report.incident.slug, report.exchange.name if report.exchange else "", report.status,
            report.tier, ";".join(report.flags), report.claimed_loss_usd or "", report.verified_loss_usd,
            report.submitted_at.isoformat(), "yes" if report.contested else "no",
            "yes" if report.pending else "no"]


# --- Review page --------------------------------------------------------------------------------


@moderator_page
@require_GET
def review(request, report_id: int):
    return _review_page(request, report_id)


def _review_page(request, report_id: int, *, status: int = 200, **forms):
    report = report_for_review(report_id=report_id)
    if report is None or report.status == ReportStatus.WITHDRAWN:
        raise Http404
    version = report_version(report_id=report.pk)
    hold = ReportHold.objects.filter(report=report, expires_at__gt=timezone.now()).select_related(
        "moderator").first()
    decisions = list(report.decisions.all())
    _label_statuses(report.claims.all(), ClaimStatus.choices)
    context = {
        "report": report, "version": version, "hold": hold,
        "held_by_me": bool(hold and hold.moderator_id == request.user.pk),
        "conflicted": services.moderator_conflicted(report, request.user),
        "tier_meaning": tier_meaning(report.tier), "flags": flag_notes(report.flags),
        "open_fraud_flags": [f for f in report.flags if f in FRAUD_FLAGS and f not in report.resolved_flags],
        "claims": [(claim, _check_rows(claim.check_results.all())) for claim in report.claims.all()],
        "report_checks": _check_rows(report.report_checks),
        "evidence": [(item, _check_rows(item.check_results.all())) for item in report.evidence.all()],
        "provider_calls": _provider_calls(report),
        "related": related_reports(report=report), "history": report_history(report=report),
        "decisions": decisions,
        "pending": next((d for d in decisions if d.state == DecisionState.PENDING), None),
        "decision_form": forms.get("decision_form") or DecisionForm(initial=_preset(request, version)),
        "second_form": SecondReviewForm(initial={"version": version}),
        "flag_reasons": FlagForm.base_fields["reason"].choices,
        "decision_meaning": decision_meaning(report.decision_reason) if report.decision_reason else None,
        **_neighbours(request, report.pk),
    }
    return render(request, "moderation/review.html", context, status=status)


def _preset(request, version: str) -> dict:
    status = request.GET.get("decide", "")
    reasons = {"verified": "proof_sufficient", "partially_verified": "proof_partial",
               "rejected": "evidence_insufficient", "needs_info": "evidence_insufficient"}
    return {"version": version, "status": status if status in reasons else "",
            "reason": reasons.get(status, "")}


def _check_rows(results) -> list[dict]:
    return [{"result": r, "sentence": check_sentence(r.check_name, r.outcome, r.reasons),
             "raw": json.dumps(r.raw, indent=2, sort_keys=True, default=str)}
            for r in sorted(results, key=lambda r: (r.claim_id or 0, r.check_name))]


def _provider_calls(report) -> list:
    """Return the chain requests made while this report's transfers were checked."""
    results = [r for c in report.claims.all() for r in c.check_results.all()]
    if not results:
        return []
    chains = {c.chain for c in report.claims.all() if c.chain}
    start = min(r.started_at for r in results) - timedelta(seconds=2)
    end = max(r.finished_at for r in results) + timedelta(seconds=2)
    return provider_calls_between(chains=chains, start=start, end=end, limit=50)


def _neighbours(request, report_id: int) -> dict:
    """Find the previous and next report on the queue page the moderator came from (j and k)."""
    back = request.GET.get("q", "")
    params = dict(parse_qsl(back))
    if not back:
        return {"back": "", "previous_id": None, "next_id": None}
    form = QueueFilterForm(_as_querydict(back), holders=moderators_holding())
    reports = queue_reports(filters=form.filters(), moderator=request.user)
    # The page's ids only, read off the sort's index: counting the view is not needed for j and k.
    number = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
    ids = list(reports.values_list("pk", flat=True)[(number - 1) * PAGE_SIZE:number * PAGE_SIZE])
    at = ids.index(report_id) if report_id in ids else -1
    return {"back": back, "previous_id": ids[at - 1] if at > 0 else None,
            "next_id": ids[at + 1] if 0 <= at < len(ids) - 1 else None}


def _as_querydict(query: str) -> QueryDict:
    return QueryDict(query)


# --- Actions ------------------------------------------------------------------------------------


def _back(request, report_id: int, anchor: str = ""):
    url = reverse("moderation:review", args=[report_id])
    back = request.POST.get("q", "")
    return redirect(f"{url}?{urlencode({'q': back})}{anchor}" if back else f"{url}{anchor}")


def _act(request, report_id: int, action, success: str, anchor: str = ""):
    try:
        action()
    except services.ModerationRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, success)
    return _back(request, report_id, anchor)


@moderator_page
@require_POST
def assign(request):
    """Assign the ticked reports of the queue to a moderator; nothing here decides."""
    ids = [int(pk) for pk in request.POST.getlist("report") if pk.isdigit()]
    assignee = User.objects.filter(pk=request.POST.get("assignee", "") or 0).first()
    try:
        refusals = services.reports_assign(report_ids=ids, assignee=assignee, moderator=request.user)
    except services.ModerationRefused as refused:
        messages.error(request, str(refused))
    else:
        for refusal in refusals:
            messages.error(request, refusal)
        assigned = len(set(ids)) - len(refusals)
        messages.success(request, _("%(count)d report(s) assigned.") % {"count": assigned})
    back = request.POST.get("q", "")
    return redirect(reverse("moderation:queue") + (f"?{back}" if back else ""))


@moderator_page
@require_POST
def tag(request):
    """Add a tag to the ticked reports of the queue, or remove it; nothing here decides."""
    ids = [int(pk) for pk in request.POST.getlist("report") if pk.isdigit()]
    remove = request.POST.get("tag_action") == "remove"
    if not ids:
        messages.error(request, _("Tick the reports to tag first."))
    else:
        try:
            changed, refusals = services.reports_tag(report_ids=ids, tag=request.POST.get("tag", ""),
                                                     moderator=request.user, remove=remove)
        except services.ModerationRefused as refused:
            messages.error(request, str(refused))
        else:
            for refusal in refusals:
                messages.error(request, refusal)
            done = _("Tag removed from %(count)d report(s).") if remove else _("%(count)d report(s) tagged.")
            messages.success(request, done % {"count": changed})
    back = request.POST.get("q", "")
    return redirect(reverse("moderation:queue") + (f"?{back}" if back else ""))


@moderator_page
@require_POST
def claim(request, report_id: int):
    return _act(request, report_id, lambda: services.report_claim(
        report_id=report_id, moderator=request.user), _("You hold this report now."))


@moderator_page
@require_POST
def release(request, report_id: int):
    return _act(request, report_id, lambda: services.report_release(
        report_id=report_id, moderator=request.user), _("You released this report."))


@moderator_page
def decide(request, report_id: int):
    if request.method != "POST":
        return redirect(reverse("moderation:review", args=[report_id]) + "#decide")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _review_page(request, report_id, status=400, decision_form=form)
    try:
        decision = services.report_decide(report_id=report_id, moderator=request.user, **form.cleaned_data)
    except services.ModerationRefused as refused:
        form.add_error(None, str(refused))
        return _review_page(request, report_id, status=409, decision_form=form)
    if decision.state == DecisionState.PENDING:
        messages.success(request, _("Your decision waits for a second moderator: the verified loss is "
                                    "above the two-person threshold."))
    else:
        messages.success(request, _("Decision saved; the reporter is told."))
    return _back(request, report_id)


@moderator_page
@require_POST
def flag_resolve(request, report_id: int):
    form = FlagForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason and write a note to resolve a flag."))
        return _back(request, report_id, "#flags")
    return _act(request, report_id, lambda: services.flag_resolve(
        report_id=report_id, moderator=request.user, **form.cleaned_data), _("Flag resolved."), "#flags")


@moderator_page
@require_POST
def bind(request, report_id: int):
    form = BindForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason and write a note to bind a transfer."))
        return _back(request, report_id, "#claims")
    data = form.cleaned_data
    return _act(request, report_id, lambda: services.transfer_bind(
        report_id=report_id, claim_id=data["claim"], moderator=request.user, reason=data["reason"],
        note=data["note"], version=data["version"]), _("Transfer bound to this report."), "#claims")


@moderator_page
@require_POST
def merge(request, report_id: int):
    """Reject this report as a duplicate of another report of the incident (duplicate_report)."""
    into = request.POST.get("into", "")
    if not into.isdigit():
        messages.error(request, _("Choose the report to merge into."))
        return _back(request, report_id, "#related")
    return _act(request, report_id, lambda: services.report_merge(
        duplicate_id=report_id, into_id=int(into), moderator=request.user, note=request.POST.get("note", ""),
        version=request.POST.get("version", "")), _("Merged: this report is rejected as a duplicate."))


@moderator_page
@require_POST
def confirm(request, report_id: int, decision_id: int):
    form = SecondReviewForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    return _act(request, report_id, lambda: services.decision_confirm(
        decision_id=_decision_of(report_id, decision_id), moderator=request.user,
        version=data.get("version", ""), note=data.get("note", "")),
        _("Decision confirmed; it is in effect."))


@moderator_page
@require_POST
def send_back(request, report_id: int, decision_id: int):
    note = request.POST.get("note", "")
    return _act(request, report_id, lambda: services.decision_send_back(
        decision_id=_decision_of(report_id, decision_id), moderator=request.user, note=note),
        _("Decision sent back; the report is in the queue again."))


def _decision_of(report_id: int, decision_id: int) -> int:
    get_object_or_404(Decision, pk=decision_id, report_id=report_id)
    return decision_id


# --- Evidence -----------------------------------------------------------------------------------


def _evidence(evidence_id: int) -> Evidence:
    return get_object_or_404(Evidence.objects.select_related("report__incident")
                             .exclude(report__status=ReportStatus.WITHDRAWN), pk=evidence_id)


@moderator_page
@require_GET
def evidence(request, evidence_id: int):
    """Show one file beside its checks: the mail with its signed headers marked, an export as a table."""
    item = _evidence(evidence_id)
    audit_record(actor=request.user, action=AuditAction.EVIDENCE_VIEW, subject=f"evidence:{item.pk}")
    return render(request, "moderation/evidence.html", {
        "evidence": item, "view": evidence_view(evidence=item),
        "checks": _check_rows(item.check_results.all()), "back": request.GET.get("q", "")})


@moderator_page
@require_GET
def evidence_preview(request, evidence_id: int):
    item = _evidence(evidence_id)
    if item.detected_type not in IMAGE_TYPES:
        raise Http404
    try:
        image = evidence_image(evidence=item)
    except FileNotFoundError:
        raise Http404 from None
    audit_record(actor=request.user, action=AuditAction.EVIDENCE_VIEW, subject=f"evidence:{item.pk}")
    return _private(HttpResponse(image, content_type="image/png"))


@moderator_page
@require_GET
def evidence_download(request, evidence_id: int):
    item = _evidence(evidence_id)
    try:
        handle = item.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    audit_record(actor=request.user, action=AuditAction.EVIDENCE_DOWNLOAD, subject=f"evidence:{item.pk}")
    return _private(FileResponse(handle, as_attachment=True, filename=f"evidence-{item.pk}",
                                 content_type="application/octet-stream"))


def _private(response):
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
