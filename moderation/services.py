"""The decision service: the only way a report reaches a final status (docs/moderation.md).

Every function here locks the report first, checks who is acting and what they saw, writes
one audit row, and refuses with a ModerationRefused whose message the moderator reads.
"""

import re
import unicodedata
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import is_moderator
from audit.models import AuditAction
from audit.services import audit_record
from incidents.guidance import decision_meaning
from incidents.models import (
    Binding,
    Claim,
    ClaimKind,
    DecisionReason,
    Report,
    ReportMessage,
    ReportStatus,
)
from incidents.signals import reports_changed
from incidents.vocabulary import FRAUD_FLAGS
from moderation.models import Decision, DecisionKind, DecisionState, ReportHold, ReportTag
from moderation.selectors import report_version
from verification.services import reports_recompute

FINAL = frozenset({ReportStatus.VERIFIED, ReportStatus.PARTIALLY_VERIFIED, ReportStatus.REJECTED})
# The reason codes that fit each decided status; anything else is refused as a slip of the hand.
REASONS = {
    ReportStatus.VERIFIED: {DecisionReason.PROOF_SUFFICIENT},
    ReportStatus.PARTIALLY_VERIFIED: {DecisionReason.PROOF_PARTIAL, DecisionReason.CLAIM_INFLATED},
    ReportStatus.REJECTED: {DecisionReason.EVIDENCE_INSUFFICIENT, DecisionReason.EVIDENCE_FORGED,
                            DecisionReason.DUPLICATE_REPORT, DecisionReason.OUT_OF_SCOPE,
                            DecisionReason.CLAIM_INFLATED, DecisionReason.REPORTER_UNRESPONSIVE},
    ReportStatus.NEEDS_INFO: {DecisionReason.EVIDENCE_INSUFFICIENT, DecisionReason.PROOF_PARTIAL,
                              DecisionReason.CLAIM_INFLATED, DecisionReason.DUPLICATE_REPORT,
                              DecisionReason.OUT_OF_SCOPE},
}
NOTE_MAX = 2000


class ModerationRefused(Exception):
    """A moderator's action was refused; the message says why, in words for them."""


# --- Claiming a report -----------------------------------------------------------------------


@transaction.atomic
def report_claim(*, report_id: int, moderator) -> ReportHold:
    """Hold a report for review, for settings.MODERATION_CLAIM_MINUTES; refuse one held by another."""
    report = _may_act(_locked(report_id), moderator)
    now = timezone.now()
    held = ReportHold.objects.filter(report=report).select_related("moderator").first()
    if held and held.moderator_id != moderator.pk and held.expires_at > now:
        raise ModerationRefused(_("%(who)s holds this report until %(time)s UTC.") % {
            "who": moderator_name(held.moderator), "time": held.expires_at.strftime("%H:%M")})
    expires = now + timedelta(minutes=settings.MODERATION_CLAIM_MINUTES)
    hold, _created = ReportHold.objects.update_or_create(
        report=report, defaults={"moderator": moderator, "claimed_at": now, "expires_at": expires})
    audit_record(actor=moderator, action=AuditAction.MODERATOR_CLAIM, subject=f"report:{report.pk}",
                 data={"expires": expires.isoformat()})
    return hold


def reports_assign(*, report_ids: list[int], assignee, moderator) -> list[str]:
    """Hand reports to a moderator (a bulk action: it assigns, it never decides); return the refusals."""
    if not is_moderator(assignee):
        raise ModerationRefused(_("Reports can only be assigned to a moderator."))
    refusals = []
    for report_id in sorted(set(report_ids))[:ASSIGN_MAX]:
        try:
            _assign(report_id, assignee, moderator)
        except ModerationRefused as refused:
            refusals.append(f"#{report_id}: {refused}")
    return refusals


ASSIGN_MAX = 200  # one page of the queue and then some; a bulk action is not a migration


@transaction.atomic
def _assign(report_id: int, assignee, moderator) -> None:
    report = _may_act(_locked(report_id), moderator)
    if moderator_conflicted(report, assignee):
        raise ModerationRefused(_("%(who)s cannot take it: it is theirs, or it names their email address.")
                                % {"who": moderator_name(assignee)})
    now = timezone.now()
    held = ReportHold.objects.filter(report=report, expires_at__gt=now).select_related("moderator").first()
    if held and held.moderator_id not in (assignee.pk, moderator.pk):
        raise ModerationRefused(_("%(who)s holds it.") % {"who": moderator_name(held.moderator)})
    expires = now + timedelta(minutes=settings.MODERATION_CLAIM_MINUTES)
    ReportHold.objects.update_or_create(report=report, defaults={"moderator": assignee, "claimed_at": now,
                                                                 "expires_at": expires})
    audit_record(actor=moderator, action=AuditAction.MODERATOR_CLAIM, subject=f"report:{report.pk}",
                 data={"expires": expires.isoformat(), "assigned_to": assignee.pk})


def reports_tag(*, report_ids: list[int], tag: str, moderator, remove: bool = False) -> tuple[int, list[str]]:
    """Add a tag to reports, or remove it (a bulk action: it labels, it never decides).

    Return how many reports changed and the refusals. Each report changed writes one audit row;
    a report that already had (or lacked) the tag is left alone and writes none.
    """
    if not is_moderator(moderator):
        raise ModerationRefused(_("Only moderators tag reports."))
    name = tag_clean(tag)
    changed, refusals = 0, []
    for report_id in sorted(set(report_ids))[:ASSIGN_MAX]:
        try:
            changed += _tag(report_id, name, moderator, remove)
        except ModerationRefused as refused:
            refusals.append(f"#{report_id}: {refused}")
    return changed, refusals


def tag_clean(tag: str) -> str:
    """Return the tag as stored (lower case letters, digits and dashes), or refuse it."""
    name = unicodedata.normalize("NFKC", tag or "").strip().lower().replace(" ", "-")
    if not TAG_PATTERN.fullmatch(name):
        raise ModerationRefused(_("A tag is 1 to 40 lower-case letters, digits or dashes, such as "
                                  "“needs-translation”."))
    return name


TAG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


@transaction.atomic
def _tag(report_id: int, name: str, moderator, remove: bool) -> bool:
    report = _may_act(_locked(report_id), moderator)
    if remove:
        changed = ReportTag.objects.filter(report=report, name=name).delete()[0] > 0
    else:
        changed = ReportTag.objects.get_or_create(report=report, name=name,
                                                  defaults={"added_by": moderator})[1]
    if changed:
        audit_record(actor=moderator, action=AuditAction.REPORT_UNTAG if remove else AuditAction.REPORT_TAG,
                     subject=f"report:{report.pk}", data={"tag": name})
    return changed


@transaction.atomic
def report_release(*, report_id: int, moderator) -> None:
    """Give a held report back to the queue."""
    _locked(report_id)
    if ReportHold.objects.filter(report_id=report_id, moderator=moderator).delete()[0]:
        audit_record(actor=moderator, action=AuditAction.MODERATOR_RELEASE, subject=f"report:{report_id}")


def moderator_name(user) -> str:
    """Name a moderator to other moderators: their name, else their username (never an email)."""
    return user.get_full_name() or user.username


# --- Decisions -------------------------------------------------------------------------------


@transaction.atomic
def report_decide(*, report_id: int, moderator, status: str, reason: str, note: str,
                  version: str) -> Decision:
    """Decide a report: verified, partially verified, rejected, or needs info (a question)."""
    _reason_check(status, reason)
    note = _note_clean(note)
    report = _ready(report_id=report_id, moderator=moderator, version=version)
    _proof_check(report, status)
    decision = Decision(report=report, kind=DecisionKind.STATUS, status=status, reason=reason, note=note,
                        moderator=moderator, verified_loss_usd=report.verified_loss_usd,
                        report_version=version)
    return _take(decision, report, second_needed=status in FINAL and _large(report.verified_loss_usd))


@transaction.atomic
def flag_resolve(*, report_id: int, moderator, flag: str, reason: str, note: str, version: str) -> Decision:
    """Resolve a fraud flag: the verdict stops capping the tier for it; the flag stays visible."""
    _reason_check(None, reason)
    note = _note_clean(note)
    report = _ready(report_id=report_id, moderator=moderator, version=version)
    if flag not in FRAUD_FLAGS or flag not in report.flags:
        raise ModerationRefused(_("This report carries no fraud flag %(flag)s to resolve.") % {"flag": flag})
    if flag in report.resolved_flags:
        raise ModerationRefused(_("The flag %(flag)s is already resolved.") % {"flag": flag})
    decision = Decision(report=report, kind=DecisionKind.FLAG, flag=flag, reason=reason, note=note,
                        moderator=moderator, verified_loss_usd=report.verified_loss_usd,
                        report_version=version)
    return _take(decision, report, second_needed=_large(report.verified_loss_usd))


@transaction.atomic
def transfer_bind(*, report_id: int, claim_id: int, moderator, reason: str, note: str,
                  version: str) -> Decision:
    """Bind a transfer to this report by decision: it outranks a signature or a withdrawal mail."""
    _reason_check(None, reason)
    note = _note_clean(note)
    report = _ready(report_id=report_id, moderator=moderator, version=version)
    claim = _bindable(report, claim_id)
    value = max(report.verified_loss_usd, claim.usd_value or Decimal("0"))
    decision = Decision(report=report, kind=DecisionKind.BINDING, claim=claim, reason=reason, note=note,
                        moderator=moderator, verified_loss_usd=report.verified_loss_usd,
                        report_version=version)
    return _take(decision, report, second_needed=_large(value))


@transaction.atomic
def report_merge(*, duplicate_id: int, into_id: int, moderator, note: str, version: str) -> Decision:
    """Reject a duplicate as merged into another report of the incident, so that its loss counts once."""
    note = _note_clean(note)
    # Both reports locked in id order, the order every batch takes them: no deadlock between merges.
    locked = {r.pk: r for r in Report.objects.select_for_update().filter(pk__in=[duplicate_id, into_id])
              .order_by("pk")}
    kept = locked.get(into_id)
    if duplicate_id == into_id or kept is None or kept.status == ReportStatus.WITHDRAWN:
        raise ModerationRefused(_("Choose another report of this incident to merge into."))
    report = _ready(report_id=duplicate_id, moderator=moderator, version=version)
    if kept.incident_id != report.incident_id:
        raise ModerationRefused(_("Only reports of the same incident can be merged."))
    _may_act(kept, moderator)
    decision = Decision(report=report, kind=DecisionKind.STATUS, status=ReportStatus.REJECTED,
                        reason=DecisionReason.DUPLICATE_REPORT, note=note, merged_into=kept,
                        moderator=moderator, verified_loss_usd=report.verified_loss_usd,
                        report_version=version)
    return _take(decision, report, second_needed=_large(report.verified_loss_usd))


@transaction.atomic
def decision_confirm(*, decision_id: int, moderator, version: str, note: str = "") -> Decision:
    """Confirm a decision waiting for a second moderator: it takes effect now (it lifts no tier)."""
    decision, report = _pending(decision_id, moderator)
    current = report_version(report_id=report.pk)
    if version != current or decision.report_version != current:
        raise ModerationRefused(_("The report changed after this decision was proposed. Read it again, "
                                  "then send the decision back so that it is taken afresh."))
    _settle(decision, moderator, note, DecisionState.EFFECTIVE)
    _apply(decision, report)
    audit_record(actor=moderator, action=AuditAction.MODERATOR_CONFIRM, subject=f"report:{report.pk}",
                 data=_audit_data(decision))
    _reporter_tell(report, decision)
    return decision


@transaction.atomic
def decision_send_back(*, decision_id: int, moderator, note: str) -> Decision:
    """Send a proposed decision back: it never takes effect and the report returns to the queue."""
    note = _note_clean(note)
    decision, report = _pending(decision_id, moderator)
    _settle(decision, moderator, note, DecisionState.SENT_BACK)
    audit_record(actor=moderator, action=AuditAction.MODERATOR_SEND_BACK, subject=f"report:{report.pk}",
                 data=_audit_data(decision))
    return decision


# --- Checks every action makes ---------------------------------------------------------------


def _locked(report_id: int) -> Report:
    # The report before the audit lock, in the order every other writer takes them: no deadlock.
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise ModerationRefused(_("This report no longer exists."))
    return report


def _may_act(report: Report, moderator) -> Report:
    if not is_moderator(moderator):
        raise ModerationRefused(_("Only moderators decide on reports."))
    if moderator_conflicted(report, moderator):
        raise ModerationRefused(_("You cannot act on this report: it is yours, or it names your email "
                                  "address. Another moderator will take it."))
    if report.status == ReportStatus.WITHDRAWN:
        raise ModerationRefused(_("The reporter withdrew this report."))
    return report


def moderator_conflicted(report: Report, moderator) -> bool:
    addresses = {address.lower() for address in (report.contact_email, report.exchange_email) if address}
    if report.reporter_id is not None and report.reporter_id == moderator.pk:
        return True
    return bool(moderator.email) and moderator.email.lower() in addresses


def _ready(*, report_id: int, moderator, version: str) -> Report:
    """Lock the report and refuse unless this moderator holds it and read its current state."""
    report = _may_act(_locked(report_id), moderator)
    hold = ReportHold.objects.filter(report=report).first()
    if hold is None or hold.moderator_id != moderator.pk or hold.expires_at <= timezone.now():
        raise ModerationRefused(_("Claim this report before deciding: your claim is missing or expired, "
                                  "or another moderator holds it."))
    if report_version(report_id=report.pk) != version:
        raise ModerationRefused(_("The report changed since you opened it (a check finished, the reporter "
                                  "added something, or another decision was taken). Nothing was saved: "
                                  "read it again, then decide."))
    if Decision.objects.filter(report=report, state=DecisionState.PENDING).exists():
        raise ModerationRefused(_("A decision on this report waits for a second moderator; it must be "
                                  "confirmed or sent back first."))
    return report


def _reason_check(status: str | None, reason: str) -> None:
    if status is not None and status not in REASONS:
        raise ModerationRefused(_("Choose verified, partially verified, rejected or needs info."))
    allowed = REASONS[status] if status is not None else set(DecisionReason.values)
    if reason not in allowed:
        raise ModerationRefused(_("This reason does not fit the decision; choose one of: %(reasons)s.") % {
            "reasons": ", ".join(sorted(allowed))})


def _note_clean(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ModerationRefused(_("Write a note: it says why, for the next moderator and the audit log."))
    if len(note) > NOTE_MAX:
        raise ModerationRefused(_("A note may hold at most %(max)s characters.") % {"max": NOTE_MAX})
    if any(unicodedata.category(char) == "Cc" and char not in "\n\r\t" for char in note):
        raise ModerationRefused(_("The note contains control characters; type it again as plain text."))
    return note


def _proof_check(report: Report, status: str) -> None:
    """Refuse to verify what the checks do not prove, or what a fraud flag still questions."""
    if status not in (ReportStatus.VERIFIED, ReportStatus.PARTIALLY_VERIFIED):
        return
    if report.verified_loss_usd <= 0:
        raise ModerationRefused(_("Nothing of this loss is proven (verified loss 0): it cannot be verified. "
                                  "Bind its transfer by decision, ask the reporter, or reject it."))
    open_flags = sorted((set(report.flags) & FRAUD_FLAGS) - set(report.resolved_flags))
    if open_flags:
        raise ModerationRefused(_("Resolve the fraud flags first: %(flags)s.") % {
            "flags": ", ".join(open_flags)})


def _bindable(report: Report, claim_id: int) -> Claim:
    claim = Claim.objects.filter(pk=claim_id, report=report, kind=ClaimKind.TRANSFER).first()
    if claim is None:
        raise ModerationRefused(_("This report has no such transfer."))
    if claim.binding == Binding.DECISION:
        raise ModerationRefused(_("This transfer is already bound to this report by decision."))
    rival = (Claim.objects.filter(chain=claim.chain, tx_hash=claim.tx_hash, log_index=claim.log_index,
                                  binding=Binding.DECISION).exclude(report=report).first())
    if rival is not None:
        raise ModerationRefused(_("This transfer is already bound by decision to report %(other)s.") % {
            "other": rival.report_id})
    return claim


def _large(value: Decimal) -> bool:
    return value > settings.DECISION_SECOND_REVIEW_USD


def _pending(decision_id: int, moderator) -> tuple[Decision, Report]:
    decision = Decision.objects.filter(pk=decision_id).first()
    if decision is None:
        raise ModerationRefused(_("This decision does not exist."))
    report = _may_act(_locked(decision.report_id), moderator)
    decision.refresh_from_db()  # under the report's lock now: a rival's confirmation is visible
    if decision.state != DecisionState.PENDING:
        raise ModerationRefused(_("This decision was already %(state)s.") % {
            "state": decision.get_state_display().lower()})
    if decision.moderator_id == moderator.pk:
        raise ModerationRefused(_("A second, different moderator must confirm your own decision."))
    return decision, report


# --- Taking effect -----------------------------------------------------------------------------


def _take(decision: Decision, report: Report, *, second_needed: bool) -> Decision:
    """Store the decision; apply it now, or leave it waiting for a second moderator."""
    action = AuditAction.MODERATOR_PROPOSAL if second_needed else _action(decision)
    decision.state = DecisionState.PENDING if second_needed else DecisionState.EFFECTIVE
    decision.save()
    if not second_needed:
        _apply(decision, report)
    ReportHold.objects.filter(report=report).delete()
    audit_record(actor=decision.moderator, action=action, subject=f"report:{report.pk}",
                 data=_audit_data(decision))
    if not second_needed:
        _reporter_tell(report, decision)
    return decision


_ACTIONS = {DecisionKind.STATUS: AuditAction.MODERATOR_DECISION, DecisionKind.FLAG: AuditAction.FLAG_RESOLVE,
            DecisionKind.BINDING: AuditAction.TRANSFER_BIND}


def _action(decision: Decision) -> AuditAction:
    return AuditAction.REPORT_MERGE if decision.merged_into_id else _ACTIONS[decision.kind]


def _apply(decision: Decision, report: Report) -> None:
    now = timezone.now()
    if decision.kind == DecisionKind.STATUS:
        _status_apply(decision, report, now)
    elif decision.kind == DecisionKind.FLAG:
        report.resolved_flags = sorted({*report.resolved_flags, decision.flag})
        Report.objects.filter(pk=report.pk).update(resolved_flags=report.resolved_flags, updated_at=now)
        reports_recompute(report_ids=[report.pk])
    else:
        Claim.objects.filter(pk=decision.claim_id).update(binding=Binding.DECISION, updated_at=now)
        reports_recompute(report_ids=[report.pk])


def _status_apply(decision: Decision, report: Report, now) -> None:
    if decision.status == ReportStatus.NEEDS_INFO:
        # The note is the question: the reporter answers it on their report page.
        ReportMessage.objects.create(report=report, author=decision.moderator, from_moderator=True,
                                     body=decision.note)
    Report.objects.filter(pk=report.pk).update(status=decision.status, decided_at=now,
                                               decision_reason=decision.reason, updated_at=now)
    report.status, report.decided_at, report.decision_reason = decision.status, now, decision.reason
    reports_changed.send(sender=Report, report_ids=[report.pk])


def _settle(decision: Decision, moderator, note: str, state: str) -> None:
    decision.state, decision.second_moderator = state, moderator
    decision.second_note, decision.settled_at = note.strip()[:NOTE_MAX], timezone.now()
    decision.save(update_fields=["state", "second_moderator", "second_note", "settled_at"])


def _audit_data(decision: Decision) -> dict:
    data = {"decision": decision.pk, "kind": decision.kind, "reason": decision.reason,
            "state": decision.state, "verified_loss_usd": str(decision.verified_loss_usd)}
    extra = {"status": decision.status, "flag": decision.flag, "claim": decision.claim_id,
             "merged_into": decision.merged_into_id, "proposed_by": decision.moderator_id}
    return {**data, **{key: value for key, value in extra.items() if value}}


# --- Telling the reporter ----------------------------------------------------------------------


def _reporter_tell(report: Report, decision: Decision) -> None:
    """Mail the reporter what was decided, why, and what would change it; sent once the decision commits."""
    if decision.kind != DecisionKind.STATUS:
        return
    address = report.contact_email or (report.reporter.email if report.reporter else "")
    if not address:
        return
    subject, body = decision_mail(report=report, decision=decision)
    transaction.on_commit(lambda: send_mail(subject, body, None, [address]), robust=True)


def decision_mail(*, report: Report, decision: Decision) -> tuple[str, str]:
    """Return the subject and plain-text body of the mail that tells a reporter about a decision."""
    meaning, change = decision_meaning(decision.reason)
    status = ReportStatus(decision.status).label
    subject = _("Your loss report %(id)s: %(status)s") % {"id": report.pk, "status": status}
    lines = [_("A moderator reviewed your loss report %(id)s for %(incident)s.") % {
        "id": report.pk, "incident": report.incident.title}, "",
        _("Decision: %(status)s.") % {"status": status}, meaning, "", change]
    if decision.status == ReportStatus.NEEDS_INFO:
        lines += ["", _("The moderator asks:"), decision.note, "",
                  _("Answer on your report's page; the report then returns to the moderators.")]
    return subject, "\n".join(str(line) for line in lines) + "\n"
