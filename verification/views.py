from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from incidents.models import Evidence, EvidenceKind
from verification.evidence import EvidenceRefused, ticket_attest
from verification.mailview import MailFileError, mail_render
from verification.selectors import liaison_tickets


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
    evidence = get_object_or_404(Evidence, pk=evidence_id, kind=EvidenceKind.SUPPORT_EMAIL)
    try:
        mail = mail_render(evidence.file.read())
    except MailFileError as exc:
        mail, error = None, str(exc)
    else:
        error = ""
    results = evidence.check_results.order_by("check_name")
    return render(request, "verification/evidence_mail.html",
                  {"evidence": evidence, "mail": mail, "error": error, "results": results})
