"""The pre-aggregated live picture of an incident (the journalists' embargoed preview)."""

from django.db import models
from django.utils import timezone

from incidents.models import Incident
from registry.models import Release


class IncidentSummary(models.Model):
    """Live statistics of one incident, rebuilt by one coalescing task whenever they go stale."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="summary")
    # Set by summary_mark_stale (cheap, conditional), cleared by the rebuild that takes the work.
    stale = models.BooleanField(default=True)
    # When it last went stale (its creation, for a summary never built): the preview's lag is
    # counted from here, so a rebuild put off during a bulk check never lags more than the bound.
    stale_since = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # The next rebuild starts from scratch (first build, periodic sweep) rather than from the
    # reports listed in DirtyReport.
    full = models.BooleanField(default=True)
    stats = models.JSONField(default=dict)
    # What the incident's rows looked like when built: the periodic sweep compares it to now.
    fingerprint = models.CharField(max_length=64, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "incident summaries"

    def __str__(self) -> str:
        return f"summary of {self.incident_id}"


class DirtyReport(models.Model):
    """A report whose verdict or decision changed since the live summary last read it.

    One row per report, inserted without conflict: many workers marking reports at once never
    wait on a shared row. The rebuild takes the rows it reads and deletes them.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    report_id = models.BigIntegerField(unique=True)  # no foreign key: a deleted report stays listed

    def __str__(self) -> str:
        return f"report {self.report_id}"


class ReportFact(models.Model):
    """What the live summary needs of one report, as its register row says (registry.stats.Fact).

    Rewritten for the reports a rebuild takes (or all of them on a full one); the summary and the
    preview's filtered views are summed from these rows in SQL (dashboards.sums).
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    report_id = models.BigIntegerField(unique=True)  # no foreign key, as DirtyReport
    source = models.CharField(max_length=8)  # sheet | web | api
    exchange = models.CharField(max_length=100, null=True)  # noqa: DJ001 - None: none named, as the stats say
    tier = models.CharField(max_length=4)
    status = models.CharField(max_length=32)
    claimed = models.BigIntegerField()  # cents
    verified = models.BigIntegerField()  # cents
    day = models.DateField(null=True)
    asset = models.CharField(max_length=20, null=True)  # noqa: DJ001 - None: not stated
    ticket_status = models.CharField(max_length=32)
    ticket_cited = models.BooleanField()
    police = models.BooleanField()
    bound = models.BooleanField()
    contested = models.BooleanField()

    def __str__(self) -> str:
        return f"facts of report {self.report_id}"


class ReportFlow(models.Model):
    """One verified transfer of a report to an attacker address (a Fact's flows), for the address chart."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    report_id = models.BigIntegerField(db_index=True)
    target = models.CharField(max_length=300)  # "CHAIN ADDRESS": one column to group and exclude by
    usd = models.BigIntegerField()  # cents

    def __str__(self) -> str:
        return f"{self.target} of report {self.report_id}"


class ReleaseChart(models.Model):
    """One chart of a release, drawn once at publication in one language (SVG and its PNG copy)."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="charts")
    chart = models.CharField(max_length=40)
    language = models.CharField(max_length=10)
    svg = models.TextField()
    png = models.BinaryField(blank=True)  # empty until first asked for (dashboards.services)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "chart", "language"],
                                               name="release_chart_unique")]

    def __str__(self) -> str:
        return f"{self.release} {self.chart} ({self.language})"
