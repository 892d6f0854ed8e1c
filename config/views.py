"""Error pages that must render when the database itself is the problem."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


def server_error(request) -> HttpResponse:
    """Answer 503 when the database is unreachable, 500 otherwise; never show internals.

    Django calls this inside its exception handler, so the exception is still sys.exc_info().
    The pages are standalone: rendering base.html would ask the database who the user is.
    """
    # The error may come before LocaleMiddleware ran, in a thread that last served another language.
    translation.activate(translation.get_language_from_request(request))
    unavailable = isinstance(sys.exc_info()[1], OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    if unavailable:
        logger.warning("database unavailable while serving %s", request.path)
    if request.path.startswith("/api/"):
        detail = _("The service is briefly unavailable; try again in a minute.") if unavailable \
            else _("Something went wrong on our side; it has been logged.")
        response = JsonResponse({"detail": detail}, status=status)
    else:
        page = render_to_string(f"{status}.html", {"LANGUAGE_CODE": translation.get_language()})
        response = HttpResponse(page, status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

