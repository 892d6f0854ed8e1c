import time
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from config.progress import Progress
from config.queues import ROUTES, queue_name
from incidents.models import Claim, ClaimKind, Incident, Report, ReportStatus
from verification import selectors, services
from verification.evidence import evidence_verify
from verification.heartbeat import worker_alive
from verification.tasks import chunks, evidence_verification_enqueue, reports_enqueue, verify_reports_task

BUSY = (ReportStatus.SUBMITTED, ReportStatus.CHECKING)
# Report ids per query when polling: well under SQLite's 32,766 variables with the busy ids added.
POLL_SLICE = 5000


class Command(BaseCommand):
    # The system checks import every URL module (and their crypto libraries): seconds at each start
    # of a command that only reads and writes rows; `manage.py check` and migrate still run them.
    requires_system_checks: list = []
    help = "Queue verification of every unchecked report; --wait blocks until done and prints a summary."

    def add_arguments(self, parser):
        parser.add_argument("--incident", metavar="SLUG", help="only this incident's reports")
        parser.add_argument("--wait", action="store_true", help="wait for the work and print a summary")
        parser.add_argument("--timeout", type=float, default=1800.0,
                            help="seconds --wait waits at most (default 1800)")

    def handle(self, *args, incident: str | None, wait: bool, timeout: float, **options):
        scope = self._incident(incident)
        # Before the selection: a check that finishes after it, even one already in flight, is fresh.
        started = timezone.now()
        selected = list(selectors.reports_to_verify(incident=scope).values_list("id", "status"))
        ids = [pk for pk, _ in selected]
        busy = {pk for pk, status in selected if status in BUSY}
        files = list(selectors.evidence_to_verify(incident=scope).values_list("id", flat=True))
        if not ids and not files:
            self.stdout.write("Nothing to verify: every report has been checked.")
            return
        in_process = wait and not self._worker_answers()
        if files:
            self._evidence(files, in_process=in_process)
        if not ids:
            return
        if in_process:
            self.stdout.write("No worker answered; verifying in this process instead.")
            for batch in chunks(ids, settings.VERIFY_BATCH_SIZE):
                services.reports_verify(report_ids=batch)
        else:
            # Reports already queued or being checked are waited on, not queued a second time.
            queued = reports_enqueue(report_ids=ids, unchecked_only=True)
            in_flight = len(ids) - len(queued)
            self.stdout.write(f"Queued {len(queued)} reports for verification"
                              + (f"; {in_flight} already in flight or done." if in_flight else "."))
            if not wait:
                return
            self._wait_for(ids, timeout, started, busy=busy)
        self._summary(ids)

    def _evidence(self, evidence_ids: list[int], *, in_process: bool) -> None:
        """Check evidence files left without results (mails, trade exports) before the reports."""
        for evidence_id in evidence_ids:
            if in_process:
                evidence_verify(evidence_id=evidence_id)
            else:
                evidence_verification_enqueue(evidence_id=evidence_id)
        self.stdout.write(f"{'Checked' if in_process else 'Queued'} {len(evidence_ids)} evidence files.")

    def _incident(self, slug: str | None) -> Incident | None:
        if slug is None:
            return None
        try:
            return Incident.objects.get(slug=slug)
        except Incident.DoesNotExist:
            raise CommandError(f"no incident with slug {slug!r}", returncode=2) from None

    def _worker_answers(self, timeout: float = 2.0) -> bool:
        """Say whether a worker recorded its heartbeat recently, waiting at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        base = verify_reports_task.app.conf.task_default_queue
        queue = queue_name(base, ROUTES[verify_reports_task.name])  # where the batches go
        while not worker_alive(queue=queue):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def _wait_for(self, ids: list[int], timeout: float, started, *, busy: set[int]) -> None:
        """Wait until every transfer was read since queuing and no report is new or checking.

        A report new or checking when selected is done once it is neither: its check wrote its
        claims in the transaction that moved it on, whatever time the worker stamped them with
        (a worker's clock reading can precede this command's start and its commit follow it).
        Each poll asks only about the reports not done yet: the busy ones through one range query
        (no list of ids to build, send and parse: that cost this command a third of a core while
        the workers needed it), the others in slices the database accepts (SQLite allows 32,766
        variables a query), so 100,000 reports cost what one indexed range read costs.
        """
        deadline = time.monotonic() + timeout
        claims = _claims_per_report(ids)
        total = sum(claims.values())
        progress = Progress(label="verify", total=total, stream=self.stdout, unit="claims")
        remaining = ids
        while True:
            remaining, unread = _not_done(remaining, started, busy, claims)
            progress.advance_to(total - unread)
            if not remaining:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"verification did not finish within {timeout:.0f} s")
            # Closer to the end, a shorter wait: the last batch's end is seen within 0.1 s.
            time.sleep(0.1 if unread <= settings.VERIFY_BATCH_SIZE else 0.5)
        progress.close()

    def _summary(self, ids: list[int]) -> None:
        claims, tiers = Counter(), Counter()
        for part in chunks(ids, POLL_SLICE):
            claims.update(services.claims_summary(report_ids=part))
            tiers.update(dict(Report.objects.filter(pk__in=part).values_list("tier")
                              .annotate(n=Count("id")).order_by()))
        self.stdout.write(f"Verified {len(ids)} reports.")
        self.stdout.write("Claims by status: " + _counts(claims))
        self.stdout.write("Reports by tier: " + _counts(tiers))


def _claims_per_report(ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for part in chunks(ids, POLL_SLICE):
        counts.update(Claim.objects.filter(report_id__in=part, kind=ClaimKind.TRANSFER)
                      .values_list("report_id").annotate(n=Count("id")).order_by())
    return counts


def _not_done(ids: list[int], started, busy: set[int], claims: dict[int, int]) -> tuple[list[int], int]:
    """Return the reports among ``ids`` still waited on, and how many of their transfers are unread.

    A report new or checking when selected is waited on while it still is: one range query finds
    those, with no list of ids to send (a poll costs what the busy rows cost, not what 100,000
    ids in IN lists cost to build and parse). A report selected for its unchecked claims is
    waited on until each of its transfers was read since ``started``.
    """
    still_busy = _busy_among(ids)
    others = [pk for pk in ids if pk not in busy and pk not in still_busy]
    fresh = _fresh_claims(others, started)
    late = {pk: claims.get(pk, 0) - fresh.get(pk, 0) for pk in others}
    waiting = still_busy | {pk for pk, left in late.items() if left > 0}
    unread = sum(claims.get(pk, 0) for pk in still_busy) + sum(left for left in late.values() if left > 0)
    return sorted(waiting), unread


def _busy_among(ids: list[int]) -> set[int]:
    """Return the reports among ``ids`` that are new or checking now."""
    if not ids:
        return set()
    wanted = set(ids)
    rows = (Report.objects.filter(pk__gte=min(ids), pk__lte=max(ids), status__in=BUSY)
            .values_list("pk", flat=True))
    return {pk for pk in rows.iterator(chunk_size=POLL_SLICE) if pk in wanted}


def _fresh_claims(ids: list[int], started) -> dict[int, int]:
    """Count, per report, the transfers read since ``started`` (in slices the database accepts)."""
    fresh: dict[int, int] = {}
    for part in chunks(ids, POLL_SLICE):
        read = Claim.objects.filter(report_id__in=part, kind=ClaimKind.TRANSFER, checked_at__gte=started)
        fresh.update(read.values_list("report_id").annotate(n=Count("id")).order_by())
    return fresh


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "none"
