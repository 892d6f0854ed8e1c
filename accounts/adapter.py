"""How django-allauth creates accounts here (everyone who signs up is a reporter) and keeps second factors."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from accounts.models import Role
from accounts.roles import SECOND_FACTOR_TYPES, needs_second_factor


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user.role = Role.REPORTER  # other roles are given by an admin or `issue_token`, never by sign-up
        return super().save_user(request, user, form, commit=commit)


class MFAAdapter(DefaultMFAAdapter):
    def can_delete_authenticator(self, authenticator) -> bool:
        # Moderators, liaisons and admins keep their second factor; they may replace it, not drop it.
        # Their TOTP stays; a security key goes only while another second factor remains.
        if needs_second_factor(authenticator.user):
            if authenticator.type == authenticator.Type.TOTP:
                return False
            if authenticator.type == authenticator.Type.WEBAUTHN:
                others = type(authenticator).objects.filter(
                    user_id=authenticator.user_id, type__in=SECOND_FACTOR_TYPES).exclude(pk=authenticator.pk)
                if not others.exists():
                    return False
        return super().can_delete_authenticator(authenticator)
