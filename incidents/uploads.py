"""What one evidence upload may be, and the errors that say why one is refused."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

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

