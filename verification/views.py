import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.models import AuditAction
from audit.services import audit_record
from incidents.models import Evidence, EvidenceKind, Report
from incidents.vocabulary import CheckName
from verification.evidence import (
    EvidenceRefused,
    leaked_key_submit,
    ownership_prove,
    report_challenge,
    ticket_attest,
)
from verification.mailview import MailFileError, mail_render
from verification.selectors import liaison_tickets

ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _binding(request):
    binding = getattr(request.user, "liaison", None)
    if binding is None:
        raise Http404  # the page does not exist for anyone but a bound liaison
    return binding


@login_required
def liaison_ticket_list(request):
    binding = _binding(request)
    reports = liaison_tickets(user=request.user)
    return render(request, "verification/liaison_tickets.html", {"binding": binding, "reports": reports})


@login_required
@require_POST
def liaison_ticket_answer(request, report_id: int):
    _binding(request)
    report = get_object_or_404(liaison_tickets(user=request.user), pk=report_id)
    try:
        ticket_attest(liaison=request.user, report=report, answer=request.POST.get("answer", ""))
    except EvidenceRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your answer on ticket %(ticket)s is recorded.") % {
            "ticket": report.support_ticket_id})
    return redirect("verification:liaison-tickets")


@login_required
def evidence_mail(request, evidence_id: int):
    """Show a support mail to staff as plain text: no HTML rendered, nothing remote loaded."""
    if not request.user.is_staff:
        raise Http404
    evidence = get_object_or_404(Evidence.objects.exclude(file=""), pk=evidence_id,
                                 kind=EvidenceKind.SUPPORT_EMAIL)  # an erased file has nothing to show
    results = list(evidence.check_results.order_by("check_name"))
    # The headers the exchange's aligned signature vouched for, as the mail check recorded them.
    signed = next((r.raw for r in results if r.check_name == CheckName.DKIM_SIGNATURE), {})
    try:
        mail = mail_render(evidence.file.read(), covered=frozenset(signed.get("covered_headers", [])))
    except MailFileError as exc:
        mail, error = None, str(exc)
    else:
        error = ""
    audit_record(actor=request.user, action=AuditAction.EVIDENCE_VIEW, subject=f"evidence:{evidence.pk}")
    return render(request, "verification/evidence_mail.html",
                  {"evidence": evidence, "mail": mail, "error": error, "results": results,
                   "ticket_status": signed.get("ticket_status", "")})


@login_required
def report_ownership(request, report_id: int):
    """Let a reporter prove ownership: sign the challenge, or send the hash of their API-key id."""
    report = get_object_or_404(Report.objects.active(), pk=report_id, reporter=request.user)
    address = (request.POST.get("address") or request.GET.get("address") or "").strip()
    if request.method == "POST":
        _ownership_post(request, report, address)
        return redirect(f"{request.path}?address={address}" if address else request.path)
    challenge = report_challenge(report=report, address=address) if ADDRESS_RE.match(address) else ""
    return render(request, "verification/report_ownership.html",
                  {"report": report, "address": address, "challenge": challenge})


def _ownership_post(request, report: Report, address: str) -> None:
    if request.POST.get("proof") == "signature":
        if not ADDRESS_RE.match(address):
            messages.error(request, _("Enter your wallet address (0x followed by 40 hex digits)."))
            return
        result = ownership_prove(report=report, address=address, signature=request.POST.get("signature", ""))
    else:
        result = leaked_key_submit(report=report, key_hash=request.POST.get("key_hash", ""))
    if result.outcome == "pass":
        messages.success(request, _("Proof accepted."))
    else:
        reasons = ", ".join(result.reasons)
        messages.error(request, _("Proof not accepted: %(reasons)s.") % {"reasons": reasons})
