"""Pages of incidents and of the reporter's own reports and files."""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditAction
from audit.services import audit_record
from incidents import services  # module-qualified: two views share their service's name
from incidents.guidance import (
    check_lines,
    decision_meaning,
    flag_notes,
    next_tier_hints,
    status_meaning,
    tier_meaning,
)
from incidents.images import IMAGE_TYPES
from incidents.models import Report
from incidents.report_forms import AnswerForm, EvidenceAddForm, WithdrawForm
from incidents.secrets import SecretRefused
from incidents.selectors import (
    evidence_visible,
    imported_rows_for,
    incident_list_visible,
    incident_summary,
    report_drafts_of,
    report_for_owner,
    report_list_for_reporter,
    report_pending,
    report_standing,
    report_version,
)
from incidents.throttles import write_throttled
from incidents.trade_rows import export_summary
from incidents.uploads import EvidenceFileError, upload_too_large

HTMX_STOP_POLLING = 286  # the status that tells htmx to stop an "every 3s" trigger
SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._ -]+")


def incident_list(request):
    incidents = incident_list_visible(user=request.user)
    return render(request, "incidents/incident_list.html", {"incidents": incidents})


def incident_detail(request, slug: str):
    incident = get_object_or_404(incident_list_visible(user=request.user), slug=slug)
    context = {
        "incident": incident,
        "summary": incident_summary(incident=incident),
        "attackers": incident.attacker_addresses.all(),
        "exchanges": incident.exchanges.all(),
        "chains": incident.chains.all(),
    }
    return render(request, "incidents/incident_detail.html", context)


# --- The reporter's own reports -------------------------------------------------------------


@login_required
def my_reports(request):
    context = {"reports": report_list_for_reporter(user=request.user),
               "drafts": report_drafts_of(user=request.user),
               "imported": imported_rows_for(user=request.user)}
    return render(request, "incidents/my_reports.html", context)


@login_required
@require_POST
def report_take_over(request, report_id: int):
    """Make a row of the old sheet, filed with the user's confirmed address, their own report."""
    try:
        services.report_take_over(report_id=report_id, user=request.user)
    except services.TakeOverRefused as refused:
        messages.error(request, str(refused))
        return redirect("incidents:my-reports")
    messages.success(request, _("The row is your report now: you can add evidence, answer and withdraw it."))
    return redirect("incidents:report-detail", report_id=report_id)


def _owned_report(request, report_id: int) -> Report:
    # Someone else's report answers exactly like a missing one: 404, never 403.
    return get_object_or_404(report_for_owner(user=request.user), pk=report_id)


def _checks_context(report: Report) -> dict:
    return {
        "report": report,
        "pending": report_pending(report=report),
        "version": report_version(report=report),
        "status_meaning": status_meaning(report.status),
        # What the moderators decided and what evidence would change it, in plain words.
        "decision": decision_meaning(report.decision_reason) if report.decision_reason else None,
        "tier_meaning": tier_meaning(report.tier),
        "flags": flag_notes(report.flags),
        "hints": next_tier_hints(report_standing(report=report)),
        "claims": [(claim, check_lines(claim.check_results.all())) for claim in report.claims.all()],
        "evidence": [(item, check_lines(item.check_results.all()), export_summary(item.check_results.all()))
                     for item in report.evidence.all()],
        "report_checks": check_lines(report.report_checks),
        "image_types": IMAGE_TYPES,
    }


def _report_page(request, report: Report, *, status: int = 200, **forms):
    questions = [m for m in report.messages.all() if m.from_moderator]
    context = {**_checks_context(report), "conversation": report.messages.all(),
               "can_answer": bool(questions), "evidence_form": EvidenceAddForm(),
               "answer_form": AnswerForm(), **forms}
    return render(request, "incidents/report_detail.html", context, status=status)


@login_required
@require_GET
def report_detail(request, report_id: int):
    return _report_page(request, _owned_report(request, report_id))


@login_required
@require_GET
def report_checks(request, report_id: int):
    """Serve the live part of the report page; 204 while nothing changed, so htmx keeps it as is."""
    live_update = request.headers.get("HX-Request") == "true"
    if live_update and not report_list_for_reporter(user=request.user).filter(pk=report_id).exists():
        return HttpResponse(status=HTMX_STOP_POLLING)  # withdrawn in another tab: stop asking
    report = _owned_report(request, report_id)
    context = _checks_context(report)
    if context["pending"] and request.GET.get("v") == context["version"]:
        return HttpResponse(status=204)
    return render(request, "incidents/partials/report_checks.html", {**context, "live_update": live_update})


@login_required
@require_POST
@write_throttled
def report_evidence_add(request, report_id: int):
    # Bodies far over the limit never get here (config.middleware.RequestSizeLimitMiddleware).
    report = _owned_report(request, report_id)
    if upload_too_large(request):
        return _report_page(request, report, status=413, evidence_form=EvidenceAddForm.too_large())
    form = EvidenceAddForm(request.POST, request.FILES)
    if not form.is_valid():
        return _report_page(request, report, status=400, evidence_form=form)
    upload = form.cleaned_data["file"]
    try:
        # One byte over the limit is enough for the service to refuse; memory stays bounded.
        data = upload.read(settings.EVIDENCE_MAX_BYTES + 1)
        services.evidence_attach(report=report, kind=form.cleaned_data["kind"], data=data,
                                 original_name=upload.name)
    except (EvidenceFileError, SecretRefused) as exc:
        form.add_error("file", str(exc))
        return _report_page(request, report, status=exc.status, evidence_form=form)
    messages.success(request, _("The file was added. Its checks start in a moment."))
    return redirect(reverse("incidents:report-detail", args=[report.pk]) + "#evidence")


@login_required
@require_POST
@write_throttled
def report_answer(request, report_id: int):
    report = _owned_report(request, report_id)
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            services.report_answer(report=report, author=request.user, body=form.cleaned_data["body"])
        except ValueError as exc:
            form.refuse(exc)
    if not form.is_valid():
        return _report_page(request, report, status=400, answer_form=form)
    messages.success(request, _("Your answer was sent to the moderators."))
    return redirect(reverse("incidents:report-detail", args=[report.pk]) + "#conversation")


@login_required
def report_withdraw(request, report_id: int):
    """Confirm, then erase the report for good."""
    report = get_object_or_404(report_list_for_reporter(user=request.user), pk=report_id)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        services.report_withdraw(report=report, actor=request.user)
        messages.success(request, _("Your report was withdrawn and erased, with its files."))
        return redirect("incidents:my-reports")
    return render(request, "incidents/report_withdraw.html", {"report": report, "form": form})


# --- Evidence files ----------------------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    # Never sniffed into something executable, never run as a page, never kept by a shared cache.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _download_name(evidence) -> str:
    name = SAFE_NAME_RE.sub("_", evidence.original_name).strip(" ._")
    return name or f"evidence-{evidence.pk}"


@login_required
@require_GET
def evidence_download(request, evidence_id: int):
    """Serve the original file byte for byte, always as a download."""
    evidence = get_object_or_404(evidence_visible(user=request.user), pk=evidence_id)
    return evidence_attachment(evidence=evidence, actor=request.user)


def evidence_attachment(*, evidence, actor) -> HttpResponse:
    """Answer the original file as a download and record who took it (404 if the file is gone)."""
    if not evidence.file:
        raise Http404  # erased after its incident closed
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    audit_record(actor=actor, action=AuditAction.EVIDENCE_DOWNLOAD, subject=f"evidence:{evidence.pk}")
    return _private(FileResponse(handle, as_attachment=True, filename=_download_name(evidence),
                                 content_type="application/octet-stream"))


@login_required
@require_GET
def evidence_preview(request, evidence_id: int):
    """Serve a re-encoded copy of an image without its EXIF or GPS data."""
    evidence = get_object_or_404(evidence_visible(user=request.user).exclude(file=""), pk=evidence_id,
                                 detected_type__in=IMAGE_TYPES)
    try:
        preview = services.evidence_preview_bytes(evidence=evidence)
    except (FileNotFoundError, EvidenceFileError):
        raise Http404 from None
    audit_record(actor=request.user, action=AuditAction.EVIDENCE_VIEW, subject=f"evidence:{evidence.pk}")
    response = HttpResponse(preview, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="preview-{evidence.pk}.png"'
    return _private(response)
