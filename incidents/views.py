from django.shortcuts import get_object_or_404, render

from incidents.selectors import incident_list_visible, incident_summary


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


# --- Placeholders replaced by the reporter's journey (issue 6) ------------------------------
from django.http import Http404  # noqa: E402


def _todo(request, **kwargs):
    raise Http404


my_reports = _todo
report_detail = report_checks = report_evidence_add = report_answer = report_withdraw = _todo
evidence_download = evidence_preview = _todo
