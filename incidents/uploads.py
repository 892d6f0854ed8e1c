"""What one evidence upload may be (its type read from its content), and the errors that refuse one."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Text-looking starts of formats Lossproof does not accept, so that a GIF/script polyglot or a
# shell script with a comma in it is never taken for a CSV.
FOREIGN_MAGIC = (b"GIF87a", b"GIF89a", b"#!", b"<?", b"{\\rtf", b"%!PS", b"BZh", b"\x1f\x8b")

# Room for the multipart boundaries, part headers and the few form fields sent with one file.
MULTIPART_MARGIN_BYTES = 256 * 1024


class EvidenceFileError(ValueError):
    """An upload that cannot be stored; the message says why and what is accepted."""

    status = 400


class EvidenceTooLarge(EvidenceFileError):
    """A file too big, one file too many, or a report whose evidence quota is used up."""

    status = 413


class OwnerGone(EvidenceFileError):
    """The report (or draft) was erased while the file was on its way."""

    status = 404


def upload_too_large(request) -> bool:
    """Tell whether the request body is larger than one evidence upload may be."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django reads no body from a request with an unreadable length
    return length > settings.EVIDENCE_MAX_BYTES + MULTIPART_MARGIN_BYTES


# The list of the outermost block; inner blocks (one import chunk inside a --strict import)
# add to it, so files are deleted whenever the transaction that held their rows is rolled back.
_written: ContextVar[list[str] | None] = ContextVar("evidence_files_written", default=None)


@contextmanager
def evidence_files_undone_on_error():
    """Yield a list for the names of evidence files stored in the block; delete them if it fails.

    A rolled-back transaction takes the rows back but not the files written meanwhile; without
    this they would stay on disk, unowned, and SQLite would hand their report id to the next report.
    """
    from incidents.models import Evidence

    outer = _written.get()
    if outer is not None:
        yield outer  # an enclosing block owns the clean-up, and its transaction the rows
        return
    written: list[str] = []
    token = _written.set(written)
    try:
        yield written
    except BaseException:
        storage = Evidence._meta.get_field("file").storage
        for name in written:
            storage.delete(name)
        raise
    finally:
        _written.reset(token)


def evidence_detect_type(data: bytes) -> str:
    """Return the content type the bytes really have, or "" when it is none Lossproof accepts."""
    head = data[:4096]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    # Excel writes the content-types part first, openpyxl last: the zip's directory at the end names it.
    if head.startswith(b"PK\x03\x04") and b"[Content_Types].xml" in data[:65536] + data[-65536:]:
        return XLSX
    if b"\x00" in head or head.startswith(FOREIGN_MAGIC):
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
