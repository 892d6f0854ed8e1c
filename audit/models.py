"""The audit log: one row per moderator action, evidence view, export and erasure, hash-chained."""

import hashlib
import hmac
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
    ROLE_GRANT = "role_grant", _("Role given")
    MODERATOR_CLAIM = "moderator_claim", _("Report claimed for review")
    MODERATOR_RELEASE = "moderator_release", _("Report claim released")
    MODERATOR_PROPOSAL = "moderator_proposal", _("Decision awaiting a second moderator")
    MODERATOR_CONFIRM = "moderator_confirm", _("Decision confirmed by a second moderator")
    MODERATOR_SEND_BACK = "moderator_send_back", _("Decision sent back by a second moderator")
    FLAG_RESOLVE = "flag_resolve", _("Fraud flag resolved")
    TRANSFER_BIND = "transfer_bind", _("Transfer bound by decision")
    REPORT_TAKEOVER = "report_takeover", _("Imported row taken over by its reporter")
    REPORT_MERGE = "report_merge", _("Duplicate report merged")
    REPORT_TAG = "report_tag", _("Report tagged by a moderator")
    REPORT_UNTAG = "report_untag", _("Moderator's tag removed from a report")
    # From this event on, each hash is an HMAC under AUDIT_KEY; events before it stay plain sha256.
    AUDIT_REKEY = "audit_rekey", _("Audit chain keyed")


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

    def hash_compute(self, *, keyed: bool = True) -> str:
        """Return the HMAC (or, before the re-key event, the sha256) of this event, chained to prev_hash."""
        canonical = {"seq": self.seq, "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                     "actor_label": self.actor_label, "action": self.action, "subject": self.subject,
                     "data": self.data, "prev_hash": self.prev_hash}
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        if not keyed:
            return hashlib.sha256(text).hexdigest()
        # The key lives outside the database: write access to the table is not enough to re-chain it.
        return hmac.new(settings.AUDIT_KEY.encode(), text, hashlib.sha256).hexdigest()
