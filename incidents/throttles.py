"""One write rate per reporter, counted once for the API and the web pages."""

from functools import wraps

from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class ReporterWriteThrottle(UserRateThrottle):
    """Limit each user's writes; the rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["reports"]."""

    scope = "reports"
    default_rate = "60/hour"

    def get_rate(self):
        # Read at request time, not import time, so settings (and tests) can change it.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope, self.default_rate)

    def allow_request(self, request, view) -> bool:
        return request.method in SAFE_METHODS or super().allow_request(request, view)


def write_refusal(request):
    """Count one write by the asker; past their rate, return the 429 page that says when to return."""
    throttle = ReporterWriteThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = max(1, int(throttle.wait() or 1))
    message = _("Too many changes in a short time: nothing was stored. Try again in %(minutes)s "
                "minute(s).") % {"minutes": max(1, round(wait / 60))}
    response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(wait)
    return response


def write_throttled(view):
    """Answer a POST past the asker's write rate with 429 (the same count as the API's writes)."""

    @wraps(view)
    def throttled(request, *args, **kwargs):
        refusal = write_refusal(request) if request.method == "POST" else None
        return refusal or view(request, *args, **kwargs)

    return throttled
