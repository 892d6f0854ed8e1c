"""How django-allauth creates accounts here: everyone who signs up is a reporter."""

from allauth.account.adapter import DefaultAccountAdapter

from accounts.models import Role


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user.role = Role.REPORTER  # other roles are given by an admin or `issue_token`, never by sign-up
        return super().save_user(request, user, form, commit=commit)
