import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from incidents.models import Incident, LeakedKeyHash

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_LINES = 5_000_000


class Command(BaseCommand):
    help = ("Import SHA-256 hashes of leaked public API-key ids (one lowercase hex hash per line). "
            "Never import the keys themselves.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--incident", required=True, metavar="SLUG")

    def handle(self, *args, path: Path, incident: str, **options):
        target = Incident.objects.filter(slug=incident).first()
        if target is None:
            raise CommandError(f"no incident with slug {incident!r}", returncode=2)
        hashes = _read(path)
        with transaction.atomic():
            LeakedKeyHash.objects.bulk_create(
                (LeakedKeyHash(incident=target, sha256=h) for h in hashes),
                batch_size=5000, ignore_conflicts=True,
            )
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Read {len(hashes)} leaked-key hashes for {incident}."))


def _read(path: Path) -> set[str]:
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read the file: {exc}", returncode=2) from None
    if len(lines) > MAX_LINES:
        raise CommandError(f"{path}: more than {MAX_LINES} lines", returncode=2)
    hashes = set()
    for number, line in enumerate(lines, start=1):
        value = line.strip().lower()
        if not value:
            continue
        if not SHA256_RE.match(value):
            # Do not echo the line: it may be a raw key pasted by mistake.
            raise CommandError(f"{path}: line {number} is not a SHA-256 hash (64 hex digits); "
                               "import hashes of key ids, never the keys", returncode=2)
        hashes.add(value)
    return hashes
