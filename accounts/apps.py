from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from accounts import checks  # noqa: F401 (registers the deployment checks)

        authenticator_added.connect(_second_factor_enrolled, dispatch_uid="accounts.second_factor_enrolled")


def _second_factor_enrolled(sender, request, user, authenticator, **kwargs):
    """Count enrolment as this session's second factor: the person just typed a valid code, or their
    security key just signed the enrolment challenge."""
    from allauth.account.internal.flows.login import record_authentication

    if authenticator.type in (authenticator.Type.TOTP, authenticator.Type.WEBAUTHN):
        record_authentication(request, user, "mfa", type=authenticator.type, id=authenticator.pk)
