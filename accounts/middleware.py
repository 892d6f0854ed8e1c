"""Moderators, liaisons and admins reach nothing until this session was signed in with a second factor."""

from allauth.account.authentication import get_authentication_records
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.roles import has_second_factor, needs_second_factor

# Signing in and out, enrolling the second factor, and the language switch stay reachable.
OPEN_PREFIXES = ("/accounts/", "/i18n/", "/static/")


class SecondFactorMiddleware:
    """Send a privileged account to enrolment, or to the code prompt, before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not needs_second_factor(user) or request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        if session_has_second_factor(request):
            return self.get_response(request)
        return _refuse(request, enrolled=has_second_factor(user))


def session_has_second_factor(request) -> bool:
    """Say whether this session's sign-in included a second factor (a TOTP or recovery code)."""
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def _refuse(request, *, enrolled: bool):
    if request.path.startswith("/api/"):
        message = _("This account must sign in with its second factor before using the site's API.")
        return JsonResponse({"detail": message}, status=403)
    target = reverse("mfa_reauthenticate" if enrolled else "mfa_activate_totp")
    return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
