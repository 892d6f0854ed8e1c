from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from registry import signing
from registry.services import release_check


class Command(BaseCommand):
    help = ("Check a release folder: every file's size and sha256 against manifest.json, and manifest.sig "
            "against the expected public key. Exits 0 with 'release OK', or 2 listing each problem.")

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, metavar="DIR")
        parser.add_argument("--public-key", metavar="PEM_OR_B64",
                            help="the key the release must be signed with: PEM, a PEM file, or base64 of "
                                 "the 32 raw bytes (default: the public half of the configured signing key; "
                                 "never the public_key.pem inside the folder)")

    def handle(self, *args, folder: Path, public_key: str | None, **options):
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder", returncode=2)
        key = self._expected_key(public_key)
        found = release_check(folder=folder, public_key=key)
        for warning in found.warnings:
            self.stderr.write(f"warning: {warning}")
        for problem in found.problems:
            self.stderr.write(f"problem: {problem}")
        if found.problems:
            raise CommandError(f"release check FAILED: {len(found.problems)} problem(s) in {folder}",
                               returncode=2)
        manifest = found.manifest
        self.stdout.write(f"{manifest['incident']['slug']} release {manifest['release']}, created "
                          f"{manifest['created_at']}: {len(manifest['files'])} files match the manifest, "
                          f"signed by {signing.public_key_b64(key)}")
        self.stdout.write(self.style.SUCCESS("release OK"))

    def _expected_key(self, value: str | None):
        """Return the key given on the command line, else the configured one (never created here)."""
        if value is not None:
            try:
                return signing.parse_public_key(value)
            except ValueError as exc:
                raise CommandError(f"--public-key: {exc}", returncode=2) from None
        try:
            key = signing.configured_public_key()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from None
        if key is None:
            raise CommandError("no signing key is configured here: pass the published key with --public-key",
                               returncode=2)
        return key
