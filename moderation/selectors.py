"""Reads for the moderator's pages and the decision service."""

import hashlib
import json

from incidents.models import Claim, Evidence, Report, ReportMessage

# What a moderator reads before deciding; a change to any of these makes a decision stale.
VERSION_FIELDS = ("status", "tier", "flags", "verified_loss_usd", "resolved_flags", "decided_at",
                  "decision_reason", "claimed_loss_usd", "support_ticket_id", "exchange_id", "updated_at")


def report_version(*, report_id: int) -> str:
    """Return a fingerprint of what a moderator reads about a report (four small queries)."""
    report = Report.objects.filter(pk=report_id).values_list(*VERSION_FIELDS).first()
    claims = Claim.objects.filter(report_id=report_id).order_by("pk").values_list(
        "pk", "status", "binding", "usd_value")
    evidence = Evidence.objects.filter(report_id=report_id).order_by("pk").values_list("pk", flat=True)
    messages = ReportMessage.objects.filter(report_id=report_id).order_by("pk").values_list("pk", flat=True)
    state = [report, list(claims), list(evidence), list(messages)]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:20]
