"""What one evidence upload may be, and the errors that say why one is refused."""

from django.conf import settings

# Room for the multipart boundaries, part headers and the few form fields sent with one file.
MULTIPART_MARGIN_BYTES = 256 * 1024


class EvidenceFileError(ValueError):
    """An upload that cannot be stored; the message says why and what is accepted."""

    status = 400


class EvidenceTooLarge(EvidenceFileError):
    """A file too big, one file too many, or a report whose evidence quota is used up."""

    status = 413


def upload_too_large(request) -> bool:
    """Tell whether the request body is larger than one evidence upload may be."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False  # Django reads no body from a request with an unreadable length
    return length > settings.EVIDENCE_MAX_BYTES + MULTIPART_MARGIN_BYTES
