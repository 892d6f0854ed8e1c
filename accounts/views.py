"""The admin's login is the site's login: one form, one throttle on failed attempts."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


def admin_login(request, extra_context=None):
    """Send the admin login to allauth's, which limits failures per account and per address."""
    # Django's own admin login form counts nothing: 40 wrong passwords then the right one got in.
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return redirect("admin:index")
        # Signed in without admin access: sending them to log in again would loop.
        raise PermissionDenied(_("This account has no access to the administration."))
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('account_login')}?{urlencode({'next': target})}")
