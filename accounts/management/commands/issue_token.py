"""Print a new API token for a user (created if needed) with the given role."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.models import Role
from accounts.services import token_issue


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
        self.stdout.write(token_issue(email=email, role=role))
