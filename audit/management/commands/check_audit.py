import re

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_anchor_check, audit_head, audit_verify, release_heads

ANCHOR_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = ("Check the audit log's hash chain: every event's keyed hash, seq and link to the event "
            "before, and the heads that published releases recorded. "
            "Exits 0 with 'audit log intact: N events', or 2 listing each problem.")

    def add_arguments(self, parser):
        parser.add_argument("--expect", metavar="SEQ:HASH",
                            help="a last event noted by an earlier run; catches a cut-off or rewritten log")

    def handle(self, *args, expect: str | None, **options):
        problems = audit_verify() + self._anchor_problems(expect) + self._release_problems()
        for problem in problems:
            self.stderr.write(f"problem: {problem}")
        if problems:
            raise CommandError(f"audit log BROKEN: {len(problems)} problem(s)", returncode=2)
        head = audit_head()
        self.stdout.write(self.style.SUCCESS(f"audit log intact: {head.seq if head else 0} events"))
        if head:
            # A cut-off tail leaves an intact chain; only a head noted elsewhere reveals it.
            self.stdout.write(f"last event: seq {head.seq}, hash {head.hash} (note as --expect "
                              f"{head.seq}:{head.hash})")

    def _anchor_problems(self, expect: str | None) -> list[str]:
        if expect is None:
            return []
        found = ANCHOR_RE.match(expect)
        if found is None:
            raise CommandError("--expect takes SEQ:HASH, as printed by an earlier check", returncode=2)
        return audit_anchor_check(seq=int(found[1]), expected_hash=found[2])

    def _release_problems(self) -> list[str]:
        """Hold the log to the head each release manifest recorded (signed files outside the database)."""
        problems = []
        for folder, seq, expected in release_heads(storage=storages["releases"]):
            found = audit_anchor_check(seq=seq, expected_hash=expected)
            problems += [f"release {folder}: {problem}" for problem in found]
        return problems
