"""Incident and report services: every write to these models goes through here."""

import hashlib
import unicodedata
from dataclasses import asdict
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditAction
from audit.services import audit_record
from incidents import hooks
from incidents.copying import copy_available, rows_copy, rows_insert
from incidents.images import image_decode, image_preview
from incidents.importers.incident_file import IncidentFileError, IncidentSpec
from incidents.models import Asset as AssetModel
from incidents.models import (
    AttackerAddress,
    Claim,
    ClaimKind,
    DkimKey,
    Evidence,
    EvidenceKind,
    Exchange,
    Incident,
    IncidentChain,
    Report,
    ReportMessage,
    ReportSource,
    ReportStatus,
    SafelistedAddress,
    evidence_preview_path,
)
from incidents.refs import report_ids_reserve, report_refs_derive, report_refs_store
from incidents.secret_files import secret_check_file
from incidents.secrets import secret_check_text
from incidents.selectors import imported_rows_for, rivals_of
from incidents.uploads import (
    XLSX,
    EvidenceFileError,
    EvidenceTooLarge,
    OwnerGone,
    evidence_detect_type,
    evidence_files_undone_on_error,
)


@transaction.atomic
def incident_load(*, spec: IncidentSpec) -> tuple[Incident, bool]:
    """Create or update (by slug) an incident and replace its lists with those of ``spec``."""
    fields = {key: value for key, value in asdict(spec).items()
              if key in {"title", "description", "window_start", "window_end", "tolerance"}}
    incident, created = Incident.objects.select_for_update().update_or_create(
        slug=spec.slug, defaults=fields
    )
    _replace(incident, IncidentChain, spec.chains)
    _replace(incident, AttackerAddress, spec.attacker_addresses)
    _replace(incident, SafelistedAddress, spec.safelisted_addresses)
    _replace(incident, AssetModel, spec.assets)
    _replace(incident, DkimKey, spec.dkim_keys)
    _sync_exchanges(incident, spec.exchanges)
    return incident, created


def _replace(incident: Incident, model, rows: list[dict]) -> None:
    model.objects.filter(incident=incident).delete()
    model.objects.bulk_create(model(incident=incident, **row) for row in rows)


def _sync_exchanges(incident: Incident, rows: list[dict]) -> None:
    """Upsert exchanges by name: reports point at them, so they cannot be recreated."""
    keep = []
    for row in rows:
        exchange, _ = Exchange.objects.update_or_create(
            incident=incident, name=row["name"], defaults=row
        )
        keep.append(exchange.pk)
    stale = Exchange.objects.filter(incident=incident).exclude(pk__in=keep)
    cited = stale.filter(Q(reports__isnull=False) | Q(claims__isnull=False)).values_list(
        "name", flat=True
    ).distinct()
    if cited:
        raise IncidentFileError(
            "exchanges", f"{', '.join(cited)} is cited by reports or claims and cannot be removed"
        )
    stale.delete()


@transaction.atomic
def report_create(
    *,
    incident: Incident,
    claims: list[dict],
    source: str = ReportSource.WEB,
    reporter=None,
    submitted_at=None,
    **fields,
) -> Report:
    """Create a submitted report and its transfer claims in one transaction."""
    report = Report.objects.create(
        incident=incident, reporter=reporter, source=source,
        submitted_at=submitted_at or timezone.now(), **fields,
    )
    Claim.objects.bulk_create(
        Claim(report=report, kind=claim.pop("kind", ClaimKind.TRANSFER), **claim) for claim in claims
    )
    transaction.on_commit(partial(hooks.report_stored, report_id=report.pk))
    return report


# What each kind may contain, checked by content, never by file name.
EVIDENCE_TYPES = {
    EvidenceKind.SUPPORT_EMAIL: {"message/rfc822"},
    EvidenceKind.TRADE_EXPORT: {"text/csv", XLSX},
    EvidenceKind.POLICE_REPORT: {"application/pdf", "image/png", "image/jpeg"},
    EvidenceKind.SCREENSHOT: {"image/png", "image/jpeg"},
    EvidenceKind.OTHER: {"application/pdf", "image/png", "image/jpeg", "text/csv", XLSX,
                         "message/rfc822"},
}


def evidence_check_upload(*, kind: str, data: bytes, existing_count: int, existing_bytes: int) -> str:
    """Check an upload against the limits, its kind's types, image safety and secrets; return its type."""
    _limits_check(size=len(data), existing_count=existing_count, existing_bytes=existing_bytes)
    detected = evidence_detect_type(data)
    if kind not in EVIDENCE_TYPES or detected not in EVIDENCE_TYPES[kind]:
        raise EvidenceFileError(_type_refusal(kind, detected))
    if detected.startswith("image/"):
        image_decode(data)
    secret_check_file(data, detected_type=detected)
    return detected


# How people call the types Lossproof accepts, for refusal messages (lazy: read in the asker's language).
TYPE_NAMES = {
    "application/pdf": gettext_lazy("a PDF"), "image/png": gettext_lazy("a PNG image"),
    "image/jpeg": gettext_lazy("a JPEG image"),
    "text/csv": gettext_lazy("a CSV file"), XLSX: gettext_lazy("an Excel workbook (.xlsx)"),
    "message/rfc822": gettext_lazy("an email saved as .eml"),
}


def _type_refusal(kind: str, detected: str) -> str:
    if kind not in EVIDENCE_TYPES:
        return _("Choose what kind of file this is.")
    accepted = ", ".join(str(TYPE_NAMES[name]) for name in sorted(EVIDENCE_TYPES[kind]))
    found = TYPE_NAMES.get(detected, _("of a type Lossproof does not accept"))
    return _("This file cannot be added as “%(kind)s”: by its content it is %(found)s, whatever its "
             "name says. Accepted for this kind: %(accepted)s.") % {
        "kind": EvidenceKind(kind).label, "found": found, "accepted": accepted}


def _limits_check(*, size: int, existing_count: int, existing_bytes: int) -> None:
    bounds = {"max": settings.EVIDENCE_MAX_BYTES, "human": filesizeformat(settings.EVIDENCE_MAX_BYTES)}
    if size == 0:
        raise EvidenceFileError(_("This file is empty. A file must hold between 1 byte and %(max)s bytes "
                                  "(%(human)s).") % bounds)
    if size > settings.EVIDENCE_MAX_BYTES:
        raise EvidenceTooLarge(_("This file is too large. A file must hold between 1 byte and %(max)s "
                                 "bytes (%(human)s).") % bounds)
    if existing_count >= settings.EVIDENCE_MAX_FILES:
        raise EvidenceTooLarge(_("This report already has %(count)s files, the most it may hold. "
                                 "Remove one before adding another.") % {"count": existing_count})
    if existing_bytes + size > settings.EVIDENCE_MAX_REPORT_BYTES:
        raise EvidenceTooLarge(_("This file would take the report's files over %(limit)s in total.")
                               % {"limit": filesizeformat(settings.EVIDENCE_MAX_REPORT_BYTES)})


def evidence_attach(*, report: Report, kind: str, data: bytes, original_name: str = "") -> Evidence:
    """Store a file privately under its sha256 and queue its checks once the transaction commits."""
    # The clean-up block outside the transaction: a failed commit takes the file back as well.
    with evidence_files_undone_on_error(), transaction.atomic():
        return _evidence_attach(report=report, kind=kind, data=data, original_name=original_name)


def _evidence_attach(*, report: Report, kind: str, data: bytes, original_name: str) -> Evidence:
    evidence = upload_store(owner=report, files=report.evidence, row=partial(Evidence, report=report),
                            kind=kind, data=data, original_name=original_name)
    # An image's preview is rendered by the worker its checks are queued to (evidence_preview_store).
    transaction.on_commit(partial(hooks.evidence_stored, evidence_id=evidence.pk))
    report_reopen(report=report, actor=report.reporter, cause="evidence")
    return evidence


def evidence_preview_bytes(*, evidence: Evidence) -> bytes:
    """Return the stored preview of an image, rendering and keeping it first if none is stored yet."""
    if not evidence.preview:
        return evidence_preview_store(evidence=evidence)
    with evidence.preview.open("rb") as handle:
        return handle.read()


def evidence_preview_store(*, evidence: Evidence) -> bytes:
    """Render an image's metadata-free preview once and keep it beside the original; return it."""
    with evidence.file.open("rb") as handle:
        rendered = image_preview(handle.read())
    storage = evidence.preview.storage
    name = storage.save(evidence_preview_path(evidence, ""), ContentFile(rendered))
    # The first render whose conditional UPDATE lands keeps its file; a file rendered twice at
    # once, or for evidence erased meanwhile, is deleted again.
    if not Evidence.objects.filter(pk=evidence.pk, preview="").update(preview=name):
        storage.delete(name)
    return rendered


def upload_store(*, owner, files, row, kind: str, data: bytes, original_name: str):
    """Check an upload against its owner's other ``files`` and store it as the row ``row`` builds.

    The owner is a report (evidence) or a draft (draft uploads): the same limits, checks and
    private storage under the file's sha256 apply to both. A failure before the commit takes
    the file back with the row.
    """
    with evidence_files_undone_on_error() as written, transaction.atomic():
        return _upload_store(owner, files, row, written, kind=kind, data=data, original_name=original_name)


def _upload_store(owner, files, row, written: list[str], *, kind: str, data: bytes, original_name: str):
    # Locking the owner makes two concurrent uploads count each other against the quota, and an
    # upload that lost the race against a withdrawal (or a discarded draft) writes nothing.
    if not type(owner).objects.select_for_update().filter(pk=owner.pk).exists():
        raise OwnerGone(_("This report no longer exists; nothing was stored."))
    totals = files.aggregate(count=Count("id"), size=Sum("size"))
    detected = evidence_check_upload(kind=kind, data=data, existing_count=totals["count"],
                                     existing_bytes=totals["size"] or 0)
    digest = hashlib.sha256(data).hexdigest()
    if files.filter(sha256=digest).exists():
        raise EvidenceFileError(_("This file is already attached to the report."))
    stored = row(kind=kind, sha256=digest, size=len(data), detected_type=detected,
                 original_name=safe_name(original_name))
    stored.file.save(digest, ContentFile(data), save=False)
    written.append(stored.file.name)
    stored.save()
    return stored


def safe_name(name: str) -> str:
    """Keep a display name only: no path, no control characters, bounded length."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:200]


def reports_import(*, incident: Incident, rows: list) -> list[int]:
    """Create checked sheet rows (incidents.importers.sheet.SheetRow) as reports; queue checks on commit.

    Return the new reports' ids. On PostgreSQL, chunks without evidence files are written with COPY.
    """
    with evidence_files_undone_on_error() as written, transaction.atomic():
        return _reports_import(incident, rows, written)


def _reports_import(incident: Incident, rows: list, written: list[str]) -> list[int]:
    leased = not any(row.evidence for row in rows)
    if leased:  # each row written in flight for its first check already (_in_flight)
        report_ids = (_reports_copy if copy_available() else _reports_insert)(incident, rows)
    else:
        report_ids = _reports_with_files(incident, rows, written)
    # Queued in batches once committed; with the broker down, the re-check sweep catches up.
    transaction.on_commit(partial(hooks.reports_imported, report_ids=report_ids, leased=leased))
    return report_ids


def _reports_with_files(incident: Incident, rows: list, written: list[str]) -> list[int]:
    reports = Report.objects.bulk_create(
        Report(incident=incident, source=ReportSource.IMPORT, **row.fields) for row in rows
    )
    Claim.objects.bulk_create(Claim(report=report, kind=ClaimKind.TRANSFER, **claim)
                              for report, row in zip(reports, rows, strict=True) for claim in row.claims)
    for report, row in zip(reports, rows, strict=True):
        for evidence in row.evidence:
            stored = evidence_attach(report=report, kind=evidence.kind, data=evidence.read(),
                                     original_name=evidence.name)
            written.append(stored.file.name)
    return [report.pk for report in reports]


def _reports_copy(incident: Incident, rows: list) -> list[int]:
    """Store the rows as bulk_create would, with COPY (PostgreSQL): ids and refs first, then claims."""
    report_ids = report_ids_reserve(len(rows), using="default")
    refs, key_id = report_refs_derive(report_ids)
    origin = {"incident_id": incident.pk, "source": ReportSource.IMPORT, "report_ref_key": key_id,
              **_in_flight()}
    values = ({**origin, **_attnames(row.fields), "id": pk, "report_ref": refs[pk]}
              for pk, row in zip(report_ids, rows, strict=True))
    rows_copy(Report, values, given=REPORT_COPY_FIELDS)
    rows_copy(Claim, _claim_values(report_ids, rows), given=CLAIM_COPY_FIELDS)
    return report_ids


def _reports_insert(incident: Incident, rows: list) -> list[int]:
    """Store the rows as bulk_create would, one executemany per table: reports, then their refs, claims."""
    if not rows:
        return []
    origin = {"incident_id": incident.pk, "source": ReportSource.IMPORT, **_in_flight()}
    rows_insert(Report, ({**origin, **_attnames(row.fields)} for row in rows), given=REPORT_INSERT_FIELDS)
    # Found again by their place in the sheet, which a constraint keeps unique (report_import_row_unique).
    stored = dict(Report.objects.filter(incident=incident, source=ReportSource.IMPORT,
                                        source_file=rows[0].fields["source_file"],
                                        source_row__in=[row.row for row in rows])
                  .values_list("source_row", "pk"))
    report_ids = [stored[row.row] for row in rows]
    report_refs_store(report_ids)
    rows_insert(Claim, _claim_values(report_ids, rows), given=CLAIM_COPY_FIELDS)
    return report_ids


def _in_flight() -> dict:
    """A new row's one-in-flight marker for its first check (verification.leases), written with the
    row: claiming 2,000 rows just written would lock and rewrite each of them once more."""
    return {"check_queued_until": timezone.now() + timedelta(seconds=settings.VERIFY_LEASE_SECONDS),
            "check_attempts": 1}


def _claim_values(report_ids: list[int], rows: list):
    return ({"report_id": report_id, "kind": ClaimKind.TRANSFER, **claim}
            for report_id, row in zip(report_ids, rows, strict=True) for claim in row.claims)


# What a sheet row sets (incidents.importers.sheet.SheetImport._row); every other field takes its default.
REPORT_COPY_FIELDS = ("id", "incident_id", "source", "report_ref", "report_ref_key", "reporter_name",
                      "contact_email", "exchange_id", "claimed_loss_usd", "loss_date", "support_ticket_id",
                      "police_report", "notes", "exchange_email", "import_fingerprint", "source_file",
                      "source_row", "submitted_at", "check_queued_until", "check_attempts")
# Without COPY, the ids come from the INSERT and the refs after it.
REPORT_INSERT_FIELDS = tuple(name for name in REPORT_COPY_FIELDS
                             if name not in ("id", "report_ref", "report_ref_key"))
CLAIM_COPY_FIELDS = ("report_id", "kind", "chain", "tx_hash", "from_address")


def _attnames(fields: dict) -> dict:
    """Return a row's Report fields keyed as columns: the exchange as its id."""
    exchange = fields.get("exchange")
    return {**{name: value for name, value in fields.items() if name != "exchange"},
            "exchange_id": exchange.pk if exchange is not None else None}


@transaction.atomic
def report_withdraw(*, report: Report, actor=None) -> None:
    """Erase a report with its claims, evidence, checks, messages and attestations, then its files."""
    # The lock evidence_attach also takes: an upload landing meanwhile would leave its file behind.
    Report.objects.select_for_update().filter(pk=report.pk).exists()
    files = list(Evidence.objects.filter(report_id=report.pk).values_list("file", "preview"))
    # Counts only: the audit row must not keep what the erasure removes.
    audit_record(actor=actor, action=AuditAction.REPORT_ERASE, subject=f"report:{report.pk}",
                 data={"claims": Claim.objects.filter(report_id=report.pk).count(), "evidence": len(files)})
    # Every model hanging on a report cascades (claims, evidence, check results, messages,
    # attestations), so one delete erases it all; the register reads reports from the database.
    rivals = rivals_of(report_ids=[report.pk])
    Report.objects.filter(pk=report.pk).delete()
    draft_files_delete(names=[name for pair in files for name in pair])  # originals and previews
    if rivals:  # a transfer or ticket it competed for may now count for another report
        hooks.reports_rivals_lost(report_ids=sorted(rivals))


def draft_files_delete(*, names: list[str]) -> None:
    """Delete files from evidence storage once the surrounding transaction commits."""
    storage = Evidence._meta.get_field("file").storage  # drafts' uploads live in the same storage
    names = [name for name in names if name]

    def delete() -> None:
        for name in names:
            storage.delete(name)

    # After commit only: a rolled-back erasure must not leave rows pointing at missing files.
    # Robust: the rows are gone by then, so a storage hiccup is logged, not shown to the reporter.
    transaction.on_commit(delete, robust=True)


MESSAGE_MAX = 5000


def _message_body_clean(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValueError(_("Write a message first."))
    if len(body) > MESSAGE_MAX:
        raise ValueError(_("A message may hold at most %(max)s characters; this one has %(count)s.")
                         % {"max": f"{MESSAGE_MAX:,}", "count": f"{len(body):,}"})
    if any(unicodedata.category(char) == "Cc" and char not in "\n\r\t" for char in body):
        raise ValueError(_("This message contains control characters. "
                           "Type it again or paste it as plain text."))
    return body


@transaction.atomic
def report_answer(*, report: Report, author, body: str) -> ReportMessage:
    """Store the reporter's answer and hand a report waiting on it back to moderators."""
    secret_check_text(body or "")  # first: no other refusal may send a secret back into the page
    body = _message_body_clean(body)
    message = ReportMessage.objects.create(report=report, author=author, from_moderator=False, body=body)
    if not report_reopen(report=report, actor=author, cause="answer"):
        _status_move(report, frm=[ReportStatus.NEEDS_INFO], to=ReportStatus.NEEDS_REVIEW)
    return message


# Statuses a moderator's decision leaves; new evidence or an answer sends such a report back to review.
DECIDED = [ReportStatus.VERIFIED, ReportStatus.PARTIALLY_VERIFIED, ReportStatus.REJECTED]


def report_reopen(*, report: Report, actor, cause: str) -> bool:
    """Send a decided report back to review, audited; its decision stays in the moderation history."""
    previous = Report.objects.filter(pk=report.pk).values_list("status", flat=True).first()
    moved = Report.objects.filter(pk=report.pk, status__in=DECIDED).update(
        status=ReportStatus.NEEDS_REVIEW, decided_at=None, decision_reason="", updated_at=timezone.now())
    if not moved:
        return False
    report.status, report.decided_at, report.decision_reason = ReportStatus.NEEDS_REVIEW, None, ""
    audit_record(actor=actor, action=AuditAction.REPORT_REOPEN, subject=f"report:{report.pk}",
                 data={"cause": cause, "from": previous})
    return True


@transaction.atomic
def report_question_ask(*, report: Report, moderator, body: str) -> ReportMessage:
    """Store a moderator's question and put the report in needs_info until the reporter answers."""
    # The report before the audit lock, in the order report_withdraw takes them: no deadlock.
    Report.objects.select_for_update().filter(pk=report.pk).exists()
    # No secret check: moderators quote transaction hashes, which the text check would refuse.
    body = _message_body_clean(body)
    message = ReportMessage.objects.create(report=report, author=moderator, from_moderator=True, body=body)
    audit_record(actor=moderator, action=AuditAction.MODERATOR_QUESTION, subject=f"report:{report.pk}",
                 data={"message": message.pk})
    movable = [status for status in ReportStatus if status != ReportStatus.WITHDRAWN]
    _status_move(report, frm=movable, to=ReportStatus.NEEDS_INFO)
    return message


def _status_move(report: Report, *, frm: list[str], to: str) -> None:
    # A conditional UPDATE, so that a decision made meanwhile is not overwritten by a stale copy.
    moved = Report.objects.filter(pk=report.pk, status__in=frm).update(status=to, updated_at=timezone.now())
    if moved:
        report.status = to


class TakeOverRefused(Exception):
    """The row is not the user's to take over; the message says why."""


@transaction.atomic
def report_take_over(*, report_id: int, user) -> Report:
    """Make an imported row the user's own report, when its contact address is one they verified."""
    locked = Report.objects.select_for_update().filter(pk=report_id).first()
    if locked is None or not imported_rows_for(user=user).filter(pk=report_id).exists():
        raise TakeOverRefused(_("This row is not yours to take over: it is someone's already, or its "
                                "contact address is not one you confirmed."))
    Report.objects.filter(pk=report_id).update(reporter=user, updated_at=timezone.now())
    locked.reporter = user
    audit_record(actor=user, action=AuditAction.REPORT_TAKEOVER, subject=f"report:{report_id}",
                 data={"source": locked.source_label})
    return locked
