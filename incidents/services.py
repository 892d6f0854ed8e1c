"""Incident and report services: every write to these models goes through here."""

import hashlib
from dataclasses import asdict
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

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
    ReportSource,
    SafelistedAddress,
)
from verification.tasks import evidence_verification_enqueue, verification_enqueue

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    transaction.on_commit(partial(verification_enqueue, report_id=report.pk))
    return report



class EvidenceFileError(ValueError):
    """An upload that cannot be stored; the message says why and what is accepted."""


# What each kind may contain, checked by content, never by file name.
EVIDENCE_TYPES = {
    EvidenceKind.SUPPORT_EMAIL: {"message/rfc822"},
    EvidenceKind.TRADE_EXPORT: {"text/csv", XLSX},
    EvidenceKind.POLICE_REPORT: {"application/pdf", "image/png", "image/jpeg"},
    EvidenceKind.SCREENSHOT: {"image/png", "image/jpeg"},
    EvidenceKind.OTHER: {"application/pdf", "image/png", "image/jpeg", "text/csv", XLSX,
                         "message/rfc822"},
}


def evidence_detect_type(data: bytes) -> str:
    """Return the content type the bytes really have, or "" when it is none Lossproof accepts."""
    head = data[:4096]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"PK\x03\x04") and b"[Content_Types].xml" in data[:65536]:
        return XLSX
    if b"\x00" in head:
        return ""
    return _text_type(head)


def _text_type(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first_lines = text.splitlines()[:60]
    headers = ("from:", "dkim-signature:", "received:")
    if any(line.lower().startswith(headers) for line in first_lines) and "" in first_lines:
        return "message/rfc822"
    if "<html" in text.lower() or "<svg" in text.lower() or "<script" in text.lower():
        return ""  # markup is never accepted as evidence
    return "text/csv" if ("," in text or ";" in text) else ""


@transaction.atomic
def evidence_attach(*, report: Report, kind: str, data: bytes, original_name: str = "") -> Evidence:
    """Store a file privately under its sha256 and queue its checks once the transaction commits."""
    if len(data) == 0 or len(data) > settings.EVIDENCE_MAX_BYTES:
        raise EvidenceFileError(f"A file must hold between 1 byte and {settings.EVIDENCE_MAX_BYTES} bytes.")
    detected = evidence_detect_type(data)
    if kind not in EVIDENCE_TYPES or detected not in EVIDENCE_TYPES[kind]:
        allowed = ", ".join(sorted(EVIDENCE_TYPES.get(kind, set()))) or "none"
        raise EvidenceFileError(f"This file is not accepted as {kind}: its content is "
                                f"{detected or 'of an unknown type'}; accepted: {allowed}.")
    digest = hashlib.sha256(data).hexdigest()
    if report.evidence.filter(sha256=digest).exists():
        raise EvidenceFileError("This file is already attached to the report.")
    evidence = Evidence(report=report, kind=kind, sha256=digest, size=len(data), detected_type=detected,
                        original_name=_safe_name(original_name))
    evidence.file.save(digest, ContentFile(data), save=False)
    evidence.save()
    transaction.on_commit(partial(evidence_verification_enqueue, evidence_id=evidence.pk))
    return evidence


def _safe_name(name: str) -> str:
    """Keep a display name only: no path, no control characters, bounded length."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:200]


@transaction.atomic
def reports_import(*, incident: Incident, rows: list) -> list[Report]:
    """Create checked sheet rows (incidents.importers.sheet.SheetRow) as reports; queue checks on commit."""
    import logging  # imports kept local: this function was appended as one self-contained addition

    from kombu.exceptions import OperationalError

    from verification.tasks import chunks, verify_reports_task

    reports = Report.objects.bulk_create(
        Report(incident=incident, source=ReportSource.IMPORT, **row.fields) for row in rows
    )
    Claim.objects.bulk_create(Claim(report=report, kind=ClaimKind.TRANSFER, **claim)
                              for report, row in zip(reports, rows, strict=True) for claim in row.claims)
    for report, row in zip(reports, rows, strict=True):
        for evidence in row.evidence:
            evidence_attach(report=report, kind=evidence.kind, data=evidence.read(),
                            original_name=evidence.name)

    def queue() -> None:
        for batch in chunks([report.pk for report in reports], settings.VERIFY_BATCH_SIZE):
            try:
                verify_reports_task.delay(batch)
            except OperationalError:  # stop asking a broker that is down; the re-check sweep catches up
                logging.getLogger(__name__).warning(
                    "broker unavailable; imported reports from id %s on wait for the re-check sweep",
                    batch[0])
                return

    transaction.on_commit(queue)
    return reports
