"""The report form in steps: one server-rendered page per step over a draft kept between visits."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from incidents import drafts
from incidents.forms import (
    STEP_NAMES,
    STEPS,
    EvidenceUploadForm,
    chain_label,
    error_summary,
    step_form,
    step_form_stored,
    tx_hash_verdict,
)
from incidents.models import DraftUpload, Incident, ReportDraft
from incidents.secrets import SECRET_NOTICE, SecretRefused
from incidents.selectors import report_drafts_of
from incidents.services import EvidenceFileError
from incidents.throttles import write_refusal
from incidents.uploads import upload_too_large

# Steps whose choices come from the incident: they wait until one is chosen.
NEEDS_INCIDENT = ("account", "transfers")


@login_required
@require_http_methods(["GET", "POST"])
def draft_start(request):
    if request.method != "POST":
        return _render_start(request)
    try:
        draft = drafts.draft_start(reporter=request.user)
    except drafts.DraftLimitReached:
        refusal = _("You already have %(count)s unfinished reports. Finish or discard one before starting "
                    "another.") % {"count": drafts.DRAFTS_MAX_OPEN}
        return _render_start(request, refusal=refusal, status=400)
    # Started from an incident's page: that choice is made already, the form opens at step 2.
    incident = Incident.objects.published().filter(slug=request.POST.get("incident", "")).first()
    if incident is not None:
        draft = drafts.draft_step_save(draft=draft, step="incident", values={"incident": incident.pk})
    return redirect(_step_url(draft, drafts.draft_next_step(draft=draft)))


@login_required
@require_http_methods(["GET", "POST"])
def draft_step(request, draft_id: int, step: str):
    draft = _own_draft(request, draft_id)
    if step not in STEP_VIEWS:
        raise Http404
    if step in NEEDS_INCIDENT and draft.incident is None:
        return redirect(_step_url(draft, "incident"))
    return STEP_VIEWS[step](request, draft, step)


@login_required
@require_http_methods(["GET", "POST"])
def draft_discard(request, draft_id: int):
    draft = _own_draft(request, draft_id)
    if request.method == "POST":
        drafts.draft_discard(draft=draft)
        return redirect("incidents:draft-start")
    return render(request, "incidents/draft_discard.html", {"draft": draft})


@login_required
@require_POST
def draft_upload_remove(request, draft_id: int, upload_id: int):
    draft = _own_draft(request, draft_id)
    drafts.draft_upload_remove(upload=get_object_or_404(DraftUpload, pk=upload_id, draft=draft))
    return redirect(_step_url(draft, "evidence"))


@login_required
@require_POST  # never GET: what is typed (perhaps a key pasted by mistake) stays out of URLs and logs
def tx_hash_check(request):
    params = request.POST
    verdict = tx_hash_verdict(chain=_param(params, "chain"), tx_hash=_param(params, "tx_hash"))
    return render(request, "incidents/partials/tx_check.html", {"verdict": verdict})


def _param(params, name: str) -> str:
    """Return ``name`` from the parameters, also when a formset prefixed it (transfers-0-name)."""
    return next((value for key, value in params.items() if key == name or key.endswith(f"-{name}")), "")


# --- the steps ------------------------------------------------------------------------------


def _form_step(request, draft: ReportDraft, step: str):
    if request.method != "POST":
        return _render_step(request, draft, step, _stored_form(request, draft, step))
    form = step_form(step=step, incident=draft.incident, data=request.POST)
    if not form.is_valid():
        return _render_step(request, draft, step, form)
    draft = drafts.draft_step_save(draft=draft, step=step, values=form.to_draft())
    return redirect(_step_url(draft, _after(step)))


def _transfers_step(request, draft: ReportDraft, step: str):
    if request.method != "POST":
        form = _stored_form(request, draft, step, extra=int("add" in request.GET))
        return _render_step(request, draft, step, form)
    formset = step_form(step=step, incident=draft.incident, data=request.POST)
    if not formset.is_valid():
        return _render_step(request, draft, step, formset)
    draft = drafts.draft_step_save(draft=draft, step=step, values=formset.to_draft())
    if "add_transfer" in request.POST:  # the no-JavaScript way to get one more empty row
        return redirect(_step_url(draft, step) + "?add=1")
    return redirect(_step_url(draft, _after(step)))


def _evidence_step(request, draft: ReportDraft, step: str):
    if request.method != "POST":
        return _render_step(request, draft, step, EvidenceUploadForm())
    # Asked before request.FILES is touched, so an oversized body is never read.
    if upload_too_large(request):
        message = _("This file is too large: a file may hold at most %(size)s. Nothing was stored.") % {
            "size": filesizeformat(settings.EVIDENCE_MAX_BYTES)}
        return _render_step(request, draft, step, EvidenceUploadForm.refused(message), status=413)
    if request.FILES or "upload" in request.POST:
        refusal = write_refusal(request)
        if refusal:
            return refusal
        form = EvidenceUploadForm(request.POST, request.FILES)
        status = _upload_add(form, draft)
        if status:
            return _render_step(request, draft, step, form, status=status)
        if "upload" in request.POST:
            return redirect(_step_url(draft, step))
    draft = drafts.draft_step_save(draft=draft, step=step, values={})
    return redirect(_step_url(draft, _after(step)))


def _upload_add(form: EvidenceUploadForm, draft: ReportDraft) -> int | None:
    """Store the uploaded file in the draft; return the error status when it is refused."""
    if not form.is_valid():
        return 400
    file = form.cleaned_data["file"]
    try:
        drafts.draft_upload_add(draft=draft, kind=form.cleaned_data["kind"], data=file.read(),
                                original_name=file.name)
    except (EvidenceFileError, SecretRefused) as refused:
        form.add_error("file", str(refused))
        return refused.status
    return None


def _review_step(request, draft: ReportDraft, step: str):
    if request.method != "POST":
        return _render_review(request, draft)
    refusal = write_refusal(request)
    if refusal:
        return refusal
    try:
        report = drafts.draft_submit(draft=draft)
    except drafts.DraftIncomplete as incomplete:
        return redirect(_step_url(draft, incomplete.step) + "?missing=1")
    except (EvidenceFileError, SecretRefused) as refused:
        return _render_review(request, draft, refusal=str(refused), status=refused.status)
    except ReportDraft.DoesNotExist:  # submitted a moment ago by a second click
        return redirect("incidents:my-reports")
    return redirect(reverse("incidents:report-detail", args=[report.pk]))


STEP_VIEWS = {"incident": _form_step, "account": _form_step, "transfers": _transfers_step,
              "evidence": _evidence_step, "consent": _form_step, "review": _review_step}


# --- rendering ------------------------------------------------------------------------------


def _render_start(request, refusal: str = "", status: int = 200):
    open_drafts = [(draft, _step_url(draft, drafts.draft_next_step(draft=draft)))
                   for draft in report_drafts_of(user=request.user)]
    context = {"drafts": open_drafts, "notice": SECRET_NOTICE, "refusal": refusal}
    return render(request, "incidents/draft_start.html", context, status=status)


def _render_review(request, draft: ReportDraft, status: int = 200, **extra):
    answers = drafts.draft_review(draft=draft)
    transfers = [{**row, "chain_label": chain_label(row["chain"])} for row in answers["transfers"] or []]
    return _render_step(request, draft, "review", None, status=status, answers=answers,
                        transfers=transfers, complete=all(value is not None for value in answers.values()),
                        **extra)


def _render_step(request, draft: ReportDraft, step: str, form, status: int = 200, **extra):
    number = STEP_NAMES.index(step)
    context = {
        "draft": draft, "step": step, "step_number": number + 1, "step_label": STEPS[number][1],
        "steps": _step_links(draft, step), "form": form, "notice": SECRET_NOTICE,
        "errors": error_summary(form) if form is not None and form.is_bound else [],
        "missing": "missing" in request.GET, "uploads": draft.uploads.all(),
        "back_url": _step_url(draft, STEP_NAMES[number - 1]) if number else reverse("incidents:draft-start"),
        **extra,
    }
    return render(request, f"incidents/draft_{step}.html", context, status=status)


def _stored_form(request, draft: ReportDraft, step: str, extra: int = 0):
    """Return the step's form filled with the stored answers, showing their errors when sent back."""
    stored = draft.data.get(step)
    if stored is not None and "missing" in request.GET:
        form = step_form_stored(step=step, incident=draft.incident, stored=stored)
        form.is_valid()  # only to show what no longer holds
        return form
    return step_form(step=step, incident=draft.incident, initial=stored, extra=extra)


def _step_links(draft: ReportDraft, current: str) -> list[dict]:
    return [{"name": name, "label": label, "number": number, "url": _step_url(draft, name),
             "done": name in draft.data, "current": name == current}
            for number, (name, label) in enumerate(STEPS, start=1)]


def _after(step: str) -> str:
    return STEP_NAMES[STEP_NAMES.index(step) + 1]


def _step_url(draft: ReportDraft, step: str) -> str:
    return reverse("incidents:draft-step", args=[draft.pk, step])


def _own_draft(request, draft_id: int) -> ReportDraft:
    """Return the draft when it is the signed-in reporter's; anyone else's is not found."""
    return get_object_or_404(ReportDraft.objects.select_related("incident"), pk=draft_id,
                             reporter=request.user)
