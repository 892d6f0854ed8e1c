"""Print a new API token for a user (created if needed) with the given role."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.models import Role, User
from accounts.services import TokenRefused, token_issue


class Command(BaseCommand):
    help = "Print a new API token for EMAIL, creating the user with --role if they do not exist."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Role.values)

    def handle(self, *args, email: str, role: str, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address.") from None
        before = User.objects.filter(email__iexact=email).values_list("role", flat=True).first()
        try:
            token = token_issue(email=email, role=role)
        except TokenRefused as exc:
            # The role stays given (the refusal comes after it), so the person can sign in and enrol.
            raise CommandError(str(exc), returncode=3) from None
        if before and before != role:
            # Said on stderr, so that `TOKEN=$(manage.py issue_token …)` still captures the token only.
            self.stderr.write(f"{email}'s role changed from {before} to {role}.")
        self.stdout.write(token)
