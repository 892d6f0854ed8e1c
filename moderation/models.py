"""Moderators' work on reports: who holds a report for review, and every decision taken on one."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from incidents.models import Claim, DecisionReason, Report, ReportStatus


class DecisionKind(models.TextChoices):
    STATUS = "status", _("Status decision")
    FLAG = "flag", _("Fraud flag resolved")
    BINDING = "binding", _("Transfer bound by decision")


class DecisionState(models.TextChoices):
    PENDING = "pending", _("Waiting for a second moderator")
    EFFECTIVE = "effective", _("In effect")
    SENT_BACK = "sent_back", _("Sent back by the second moderator")


class Decision(models.Model):
    """One moderator decision on a report, kept for good: later decisions add rows, never edit one."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=8, choices=DecisionKind.choices, default=DecisionKind.STATUS)
    status = models.CharField(max_length=20, choices=ReportStatus.choices, blank=True)
    reason = models.CharField(max_length=24, choices=DecisionReason.choices)
    note = models.TextField(max_length=2000)
    flag = models.CharField(max_length=32, blank=True)  # the fraud flag a FLAG decision resolves
    claim = models.ForeignKey(Claim, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The report this one was merged into (a duplicate_report rejection), so the loss counts once.
    merged_into = models.ForeignKey(Report, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="merged_duplicates")
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                  related_name="+")
    state = models.CharField(max_length=10, choices=DecisionState.choices, default=DecisionState.EFFECTIVE)
    # Read by the two-person rule: the verified loss when the decision was taken.
    verified_loss_usd = models.DecimalField(max_digits=20, decimal_places=2)
    # The report's fingerprint when decided; a confirmation of a changed report is refused.
    report_version = models.CharField(max_length=64)
    second_moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                         blank=True, related_name="+")
    second_note = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)  # confirmed or sent back

    class Meta:
        ordering = ["report_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["report"], condition=Q(state=DecisionState.PENDING),
                                    name="decision_one_pending_per_report"),
            models.CheckConstraint(condition=~Q(second_moderator=F("moderator")),
                                   name="decision_second_moderator_differs"),
            models.CheckConstraint(condition=~Q(kind=DecisionKind.STATUS) | ~Q(status=""),
                                   name="decision_status_named"),
            models.CheckConstraint(condition=~Q(kind=DecisionKind.FLAG) | ~Q(flag=""),
                                   name="decision_flag_named"),
        ]

    def __str__(self) -> str:
        return f"Decision {self.pk} on report {self.report_id} ({self.get_state_display()})"


class ReportHold(models.Model):
    """A moderator's claim on a report: only they decide on it until it expires."""

    report = models.OneToOneField(Report, on_delete=models.CASCADE, related_name="hold")
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Report {self.report_id} held by {self.moderator_id} until {self.expires_at}"


class ReportTag(models.Model):
    """A moderator's label on a report ("needs-translation", "police-asked"…): it sorts the work
    between moderators and decides nothing; tags are added and removed from the queue in bulk."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="moderation_tags")
    name = models.SlugField(max_length=40, allow_unicode=False)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["report", "name"], name="report_tag_once")]
        indexes = [models.Index(fields=["name", "report"], name="report_tag_by_name")]

    def __str__(self) -> str:
        return f"Report {self.report_id} tagged {self.name}"
