"""The audit log: one row per moderator action, evidence view, export and erasure, hash-chained."""

import hashlib
import json
from datetime import UTC

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64  # the prev_hash of the first event


class AuditAction(models.TextChoices):
    EVIDENCE_VIEW = "evidence_view", _("Evidence viewed")
    EVIDENCE_DOWNLOAD = "evidence_download", _("Evidence downloaded")
    REPORT_ERASE = "report_erase", _("Report erased")
    EXPORT_PUBLISH = "export_publish", _("Release published")
    EXPORT_DRAFT = "export_draft", _("Draft export written")
    MODERATOR_DECISION = "moderator_decision", _("Moderator decision")
    MODERATOR_QUESTION = "moderator_question", _("Moderator question")
    TOKEN_ISSUE = "token_issue", _("API token issued")
    REPORT_REOPEN = "report_reopen", _("Decided report sent back to review")
    INCIDENT_CLOSE = "incident_close", _("Incident closed")
    EVIDENCE_ERASE = "evidence_erase", _("Evidence files erased after closing")


class AuditEvent(models.Model):
    """One audited action; ``hash`` covers its fields and the previous event's hash."""

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    # Nulled when the account is deleted; the label (id and role, never a name or an email)
    # stays, and it is the label that the hash covers.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    actor_label = models.CharField(max_length=100)
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    subject = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.CheckConstraint(condition=Q(seq__gte=1), name="audit_event_seq_positive"),
            models.CheckConstraint(condition=Q(action__in=AuditAction.values),
                                   name="audit_event_action_valid"),
            models.CheckConstraint(condition=Q(Exact(Length("hash"), 64), Exact(Length("prev_hash"), 64)),
                                   name="audit_event_hashes_sha256"),
            # Two events after the same one would fork the chain.
            models.UniqueConstraint(fields=["prev_hash"], name="audit_event_no_fork"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject}"

    def hash_compute(self) -> str:
        """Return the sha256 of this event's canonical serialisation, chained to prev_hash."""
        canonical = {"seq": self.seq, "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                     "actor_label": self.actor_label, "action": self.action, "subject": self.subject,
                     "data": self.data, "prev_hash": self.prev_hash}
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()
