from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REPORTER = "reporter", _("Reporter")
    MODERATOR = "moderator", _("Moderator")
    JOURNALIST = "journalist", _("Journalist")
    LIAISON = "liaison", _("Exchange liaison")


class User(AbstractUser):
    """A person who signs in; what they may do follows from ``role``."""

    email = models.EmailField(_("email address"))
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REPORTER)

    class Meta:
        constraints = [
            # Reporters claim imported rows by email, so two accounts may never share one.
            models.UniqueConstraint(
                Lower("email"), name="user_email_unique_ci", condition=~models.Q(email="")
            ),
        ]


class ApiToken(models.Model):
    """An API token; only its SHA-256 is kept, the token itself is shown once when issued."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    # The first characters, so that an admin can tell tokens apart without holding them.
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Set for moderators, liaisons and admins (settings.STAFF_TOKEN_DAYS); reporters' tokens do not expire.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
