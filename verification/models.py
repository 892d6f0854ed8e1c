"""What the checks found, and the reference data they judge against."""

from django.db import models
from django.db.models import Q

from incidents.models import Claim, Evidence, Report
from incidents.vocabulary import Outcome  # defined low so that incidents reads it too


class CheckResult(models.Model):
    """One automatic verification step and its stored result, with the raw data it judged."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="check_results")
    # Indexed by the partial indexes in Meta only: a transfer claim writes about nine rows per
    # check, and a full index on a column that is mostly empty (evidence) or already leads a
    # unique index (claim) cost every one of them an entry more.
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="check_results", db_index=False)
    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="check_results", db_index=False)
    check_name = models.CharField(max_length=40)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reasons = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)  # what was asked and what came back
    provider = models.CharField(max_length=200, blank=True)  # endpoint or key source consulted
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["report_id", "claim_id", "evidence_id", "check_name"]
        indexes = [
            models.Index(fields=["evidence"], name="check_result_evidence",
                         condition=Q(evidence__isnull=False)),
            # A report's own results (mails, signatures, trade exports), read by every verdict: a
            # few rows among the claims' many, found without visiting the claims' rows.
            models.Index(fields=["report"], name="check_result_report_own", condition=Q(claim__isnull=True)),
        ]
        constraints = [
            # Re-delivered tasks overwrite, never add: exactly one result per check and subject.
            models.UniqueConstraint(
                fields=["claim", "check_name"], name="check_result_one_per_claim",
                condition=Q(claim__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["evidence", "check_name"], name="check_result_one_per_evidence",
                condition=Q(claim__isnull=True, evidence__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["report", "check_name"], name="check_result_one_per_report",
                condition=Q(claim__isnull=True, evidence__isnull=True),
            ),
            models.CheckConstraint(condition=Q(finished_at__gte=models.F("started_at")),
                                   name="check_result_times_ordered"),
            models.CheckConstraint(condition=Q(attempts__gte=1), name="check_result_attempted"),
        ]

    def __str__(self) -> str:
        return f"{self.check_name}: {self.outcome}"

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class Price(models.Model):
    """A daily USD price (UTC date), imported with `import_prices`; the only valuation source."""

    date = models.DateField()
    symbol = models.CharField(max_length=20)
    usd = models.DecimalField(max_digits=30, decimal_places=12)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "date"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "date"], name="price_one_per_symbol_day"),
            models.CheckConstraint(condition=Q(usd__gt=0), name="price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.date}: {self.usd} USD"


class WorkerHeartbeat(models.Model):
    """The last sign of life from each Celery worker; read by `verify` and the operations page."""

    hostname = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()
    queues = models.JSONField(default=list, blank=True)  # read by `verify`: who consumes its queue

    def __str__(self) -> str:
        return f"{self.hostname} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class ProviderCall(models.Model):
    """One HTTP request to a chain endpoint: what was asked, whether it worked, how long it took."""

    chain = models.CharField(max_length=64)
    provider = models.CharField(max_length=200)  # scheme://host:port only, never a key-bearing path
    methods = models.JSONField(default=dict)  # method -> calls in the batch
    ok = models.BooleanField()
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField()
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.provider} {'ok' if self.ok else 'failed'} in {self.duration_ms} ms"


class TaskDelivery(models.Model):
    """How often a task message has been delivered; read to stop a task that keeps crashing."""

    task_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    deliveries = models.PositiveIntegerField(default=0)
    # Set when the task was abandoned after too many deliveries; shown to moderators in the admin.
    gave_up = models.BooleanField(default=False, db_index=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} [{self.task_id}] x{self.deliveries}"
