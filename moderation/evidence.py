"""Evidence as a moderator reads it: the mail as DKIM parsed it, exports as tables, images without EXIF."""

from dataclasses import dataclass

from incidents.images import IMAGE_TYPES
from incidents.models import Evidence, EvidenceKind
from incidents.services import evidence_preview_bytes
from incidents.uploads import EvidenceFileError
from moderation.selectors import signed_header_names
from verification.checks.trades import TradeFileError, parse_export
from verification.mailview import MailFileError, mail_read, mail_render

TRADE_ROWS_MAX = 500


@dataclass
class EvidenceView:
    kind: str  # mail | trades | image | file
    mail: object = None
    headers: list | None = None  # every header, in the mail's order, each value on one safe line
    signed: dict | None = None
    trades: list | None = None
    trades_total: int = 0
    export_format: str = ""
    error: str = ""


def evidence_view(*, evidence: Evidence) -> EvidenceView:
    """Read one evidence file for the review page; a file that cannot be read says why."""
    if evidence.kind == EvidenceKind.SUPPORT_EMAIL:
        return _mail_view(evidence)
    if evidence.kind == EvidenceKind.TRADE_EXPORT:
        return _trades_view(evidence)
    if evidence.detected_type in IMAGE_TYPES:
        return EvidenceView(kind="image")
    return EvidenceView(kind="file")


def _read(evidence: Evidence) -> bytes:
    with evidence.file.open("rb") as handle:
        return handle.read()


def _mail_view(evidence: Evidence) -> EvidenceView:
    signed = signed_header_names(evidence.check_results.all())
    try:
        raw = _read(evidence)
        reading = mail_read(raw)  # the one reading the checks used
        # Every header, not only the usual few: an added, unsigned one is what a forger relies on.
        names = list(dict.fromkeys(key.decode("ascii", "replace") for key, _value in reading.headers))
        headers = [(name, value) for name in names for value in reading.values(name)]
        return EvidenceView(kind="mail", mail=mail_render(raw, covered=frozenset(signed)), headers=headers,
                            signed=signed)
    except (MailFileError, FileNotFoundError) as exc:
        return EvidenceView(kind="mail", signed=signed, error=str(exc))


def _trades_view(evidence: Evidence) -> EvidenceView:
    incident = evidence.report.incident
    try:
        parsed = parse_export(_read(evidence), filename=evidence.original_name)
    except (TradeFileError, FileNotFoundError) as exc:
        return EvidenceView(kind="trades", error=str(exc))
    # The trades inside the incident's window are the ones that make (or not) the loss.
    rows = [(trade, incident.window_start <= trade.time <= incident.window_end)
            for trade in parsed.trades[:TRADE_ROWS_MAX]]
    return EvidenceView(kind="trades", trades=rows, trades_total=len(parsed.trades),
                        export_format=parsed.format)


def evidence_image(*, evidence: Evidence) -> bytes:
    """Return the stored preview (no EXIF or GPS), rendered once; raise FileNotFoundError if unreadable."""
    if not evidence.file:
        raise FileNotFoundError("the file was erased")
    try:
        return evidence_preview_bytes(evidence=evidence)
    except EvidenceFileError as exc:
        raise FileNotFoundError(str(exc)) from exc
