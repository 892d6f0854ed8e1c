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
