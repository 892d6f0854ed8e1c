"""Who may do what: the roles that need a second factor, and who counts as a moderator."""

from accounts.models import Role

# These accounts read private evidence or speak for an exchange: a password alone is not enough.
SECOND_FACTOR_ROLES = frozenset({Role.MODERATOR, Role.LIAISON})


def is_moderator(user) -> bool:
    """Say whether the user works the moderation queue (a role, never the superuser flag)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.role == Role.MODERATOR)


def needs_second_factor(user) -> bool:
    """Say whether the account must sign in with a second factor: moderators, liaisons, admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role in SECOND_FACTOR_ROLES or user.is_staff or user.is_superuser


def has_second_factor(user) -> bool:
    """Say whether the account has enrolled a second factor (TOTP or a security key)."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists()


# Recovery codes come with a second factor and are not one on their own.
SECOND_FACTOR_TYPES = ("totp", "webauthn")
