"""Response headers Django 5.2 does not set on its own."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

# No inline scripts, nothing from other origins: evidence and user text can never run code.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    """Add the Content-Security-Policy header to every response that lacks one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class RequestSizeLimitMiddleware:
    """Answer 413 to a body larger than any form or upload may be, before anything reads it.

    Django's CSRF check reads a POST body before the view runs, so a view's own size check
    would come after the whole body was spooled to disk. Views still check sizes themselves,
    with messages next to the field, for bodies just over a file's limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _content_length(request) > settings.EVIDENCE_MAX_BYTES + REQUEST_MARGIN_BYTES:
            return _too_large(request)
        return self.get_response(request)


# Room above one evidence file for multipart framing and the few fields sent with it.
REQUEST_MARGIN_BYTES = 1024 * 1024


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large(request: HttpRequest) -> HttpResponse:
    limit_mb = settings.EVIDENCE_MAX_BYTES / (1024 * 1024)
    message = _("This upload is too large. A file may hold at most %(limit).1f MB.") % {"limit": limit_mb}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    response = render(request, "413.html", {"message": message}, status=413)
    response["Connection"] = "close"  # the unread body must not be taken for the next request
    return response
