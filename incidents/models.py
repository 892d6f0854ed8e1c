"""Incidents and what victims report about them (see docs/methodology.md, "Reports and their workflow")."""

from decimal import Decimal

from django.conf import settings
from django.core.files.storage import storages
from django.core.validators import MinValueValidator
from django.db import connections, models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from incidents.refs import report_ids_reserve, report_refs_assign, report_refs_give
from incidents.ticket_patterns import validate_ticket_pattern

ZERO = Decimal("0")


class IncidentQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published=True)


class Incident(models.Model):
    """One breach: a time window, the chains involved, who attacked and who is safe."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # How far a claimed loss may exceed the verified loss before `claim_exceeds_proof`.
    tolerance = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.25"))
    # Public dashboards, API and releases only ever show published incidents.
    published = models.BooleanField(default=False)
    # Set by incident_close (incidents.retention); evidence files are erased a configured time later.
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-window_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="incident_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(tolerance__gte=0) & Q(tolerance__lte=10), name="incident_tolerance_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class IncidentChain(models.Model):
    """A chain the incident touched, and how deep a transaction must be to count as final."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="chains")
    caip2 = models.CharField(max_length=64)
    # None means "use the node's `finalized` block" instead of a confirmation count.
    confirmations = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["caip2"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "caip2"], name="incident_chain_unique"),
        ]

    def __str__(self) -> str:
        return self.caip2


class IncidentAddress(models.Model):
    """An address an incident knows about; subclasses say whether it is hostile or safe."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    chain = models.CharField(max_length=64)
    address = models.CharField(max_length=100)  # canonical form, see incidents.chains
    label = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True
        ordering = ["chain", "address"]

    def __str__(self) -> str:
        return f"{self.chain} {self.address}"


class AttackerAddress(IncidentAddress):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attacker_addresses")

    class Meta(IncidentAddress.Meta):
        constraints = [
            models.UniqueConstraint(fields=["incident", "chain", "address"],
                                    name="attacker_address_unique"),
        ]


class SafelistedAddress(IncidentAddress):
    """Exchange hot wallets, bridges, routers: never labelled attacker, whatever else says so."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="safelisted_addresses")

    class Meta(IncidentAddress.Meta):
        verbose_name_plural = "safelisted addresses"
        constraints = [
            models.UniqueConstraint(fields=["incident", "chain", "address"],
                                    name="safelisted_address_unique"),
        ]


class Asset(models.Model):
    """A token or native coin the incident involved; ``contract`` is empty for the native coin."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assets")
    chain = models.CharField(max_length=64)
    symbol = models.CharField(max_length=20)
    decimals = models.PositiveSmallIntegerField(validators=[MinValueValidator(0)])
    # NULL, not "", marks the native coin: the unique constraints below rely on it.
    contract = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001

    class Meta:
        ordering = ["chain", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "chain", "symbol"], name="asset_symbol_unique"),
            models.UniqueConstraint(
                fields=["incident", "chain", "contract"], name="asset_contract_unique",
                condition=Q(contract__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["incident", "chain"], name="asset_one_native_per_chain",
                condition=Q(contract__isnull=True),
            ),
            models.CheckConstraint(condition=Q(decimals__lte=36), name="asset_decimals_range"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} on {self.chain}"


class Exchange(models.Model):
    """An exchange whose customers were hit, with the domains its support mail comes from."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="exchanges")
    name = models.CharField(max_length=100)
    support_domains = models.JSONField(default=list)
    # The first group captures the ticket id, e.g. "Ticket #(\d{8})".
    ticket_id_regex = models.CharField(max_length=300, blank=True, validators=[validate_ticket_pattern])

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "name"], name="exchange_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class DkimKey(models.Model):
    """An archived DKIM public key, so mails signed before a key rotation can still be checked."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="dkim_keys")
    domain = models.CharField(max_length=253)
    selector = models.CharField(max_length=100)
    public_key = models.TextField()  # base64 of the p= value
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["domain", "selector", "valid_from"]
        verbose_name = "DKIM key"
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "domain", "selector", "public_key"], name="dkim_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="dkim_key_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


class ReportStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    CHECKING = "checking", _("Checking")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    NEEDS_INFO = "needs_info", _("Needs information")
    VERIFIED = "verified", _("Verified")
    PARTIALLY_VERIFIED = "partially_verified", _("Partially verified")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DecisionReason(models.TextChoices):
    PROOF_SUFFICIENT = "proof_sufficient", _("The proof is sufficient")
    PROOF_PARTIAL = "proof_partial", _("Part of the loss is proven")
    EVIDENCE_INSUFFICIENT = "evidence_insufficient", _("The evidence is not enough")
    EVIDENCE_FORGED = "evidence_forged", _("The evidence is forged")
    DUPLICATE_REPORT = "duplicate_report", _("The loss is already reported")
    OUT_OF_SCOPE = "out_of_scope", _("Outside this incident")
    CLAIM_INFLATED = "claim_inflated", _("The claim exceeds what happened")
    REPORTER_UNRESPONSIVE = "reporter_unresponsive", _("The reporter did not answer")


class Tier(models.TextChoices):
    T0 = "T0", _("T0 self-reported")
    T1 = "T1", _("T1 documented")
    T2 = "T2", _("T2 loss proven")
    T3 = "T3", _("T3 exchange-confirmed")
    T4 = "T4", _("T4 corroborated")


class ReportSource(models.TextChoices):
    WEB = "web", _("Web form")
    API = "api", _("API")
    IMPORT = "import", _("Imported sheet")


class Consent(models.TextChoices):
    PSEUDONYMOUS = "pseudonymous", _("Publish pseudonymously")
    NAMED = "named", _("Publish with my name")


class ReportQuerySet(models.QuerySet):
    def active(self):
        """Reports that still count: every status but withdrawn."""
        return self.exclude(status=ReportStatus.WITHDRAWN)

    def bulk_create(self, objs, *args, **kwargs):
        """Create the reports and give each its register pseudonym (incidents.refs), as save() does.

        On PostgreSQL the ids are taken from the sequence first, so the refs go in the INSERT itself.
        """
        objs = list(objs)
        plain = not (args or kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"))
        if plain and objs and connections[self.db].vendor == "postgresql" and all(o.pk is None for o in objs):
            for report, pk in zip(objs, report_ids_reserve(len(objs), using=self.db), strict=True):
                report.pk = pk
            report_refs_give(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        report_refs_assign(created)  # where the INSERT could not carry them
        return created


class Report(models.Model):
    """One victim's account of their losses in one incident."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="reports",
    )
    # Private: never in a public output unless consent is NAMED (name only).
    reporter_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="reports")
    # Indexed by the queue's indexes (status first) and report_tier below, without the
    # pattern-matching copies a CharField's db_index adds on PostgreSQL: every verdict rewrites
    # each index of its report's row, and a check of a report writes the row twice.
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.SUBMITTED)
    tier = models.CharField(max_length=2, choices=Tier.choices, default=Tier.T0)
    flags = models.JSONField(default=list, blank=True)
    claimed_loss_usd = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    verified_loss_usd = models.DecimalField(max_digits=20, decimal_places=2, default=ZERO)
    loss_date = models.DateField(null=True, blank=True)  # the reporter's word, not a valuation date
    support_ticket_id = models.CharField(max_length=100, blank=True)
    # The ticket status verification settled on (mails, answers, earlier reports); read by the
    # register, the report page and moderators, so that all show the one outcome.
    ticket_status = models.CharField(max_length=20, default="none", blank=True)
    # Private: the address the exchange writes to, when not contact_email (matched by mail checks).
    exchange_email = models.EmailField(blank=True)
    police_report = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    consent_publish = models.CharField(max_length=16, choices=Consent.choices,
                                       default=Consent.PSEUDONYMOUS)
    consent_law_enforcement = models.BooleanField(default=False)
    # SHA-256 of the public API-key id, hashed in the reporter's browser; the id never arrives.
    api_key_id_sha256 = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=8, choices=ReportSource.choices, default=ReportSource.WEB)
    source_file = models.CharField(max_length=255, blank=True)
    source_row = models.PositiveIntegerField(null=True, blank=True)
    # sha256 of the imported row's normalised content: re-importing a sheet creates nothing twice.
    # Read per incident only: report_import_fingerprint_unique is its index.
    import_fingerprint = models.CharField(max_length=64, blank=True)
    # Sheet order decides which of two reports is "later"; web reports use submitted_at.
    submitted_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # Written by moderation's decision service only; published in the register.
    decision_reason = models.CharField(max_length=24, choices=DecisionReason.choices, blank=True)
    resolved_flags = models.JSONField(default=list, blank=True)  # fraud flags a moderator cleared
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The in-flight marker (verification.leases): a check of this report is queued or running
    # until then, so the re-check sweep and `verify` queue it no second time meanwhile.
    check_queued_until = models.DateTimeField(null=True, blank=True, db_index=True)
    # Times it was queued since a check last ran to its end; the sweep gives up at the limit.
    check_attempts = models.PositiveSmallIntegerField(default=0)
    # The register's pseudonym, derived once when the report is stored (incidents.refs) and then
    # kept, with the id of the REPORT_REF_KEY that made it: rotating the key changes no stored ref.
    # Unique through a constraint, not unique=True: on PostgreSQL that would add a second,
    # pattern-matching index nobody reads (refs are looked up whole), rewritten on every report UPDATE.
    # NULL, not "", until the id it derives from exists: the constraint ignores NULLs.
    report_ref = models.CharField(max_length=16, null=True, blank=True, editable=False)  # noqa: DJ001
    report_ref_key = models.CharField(max_length=8, blank=True, editable=False)
    # What the moderators' queue sorts and filters on, stored by the verdict whenever it stores the
    # report (incidents.queue_state), so that the queue reads an index, not every report's flags
    # and claims: the fraud flags no moderator has resolved, and whether a transfer is contested.
    open_fraud_flags = models.PositiveSmallIntegerField(default=0)
    contested = models.BooleanField(default=False)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["submitted_at", "source_row", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(claimed_loss_usd__isnull=True) | Q(claimed_loss_usd__gte=0),
                name="report_claimed_loss_not_negative",
            ),
            models.CheckConstraint(condition=Q(verified_loss_usd__gte=0),
                                   name="report_verified_loss_not_negative"),
            models.CheckConstraint(
                condition=~Q(source=ReportSource.IMPORT)
                | (~Q(source_file="") & Q(source_row__isnull=False)),
                name="report_import_has_origin",
            ),
            models.UniqueConstraint(
                fields=["incident", "source_file", "source_row"], name="report_import_row_unique",
                condition=Q(source=ReportSource.IMPORT),
            ),
            models.UniqueConstraint(
                fields=["incident", "import_fingerprint"], name="report_import_fingerprint_unique",
                condition=~Q(import_fingerprint=""),
            ),
            models.UniqueConstraint(fields=["report_ref"], name="report_ref_unique"),
        ]
        # The queue's sorts within a status (moderation.selectors.SORTS): its first page is read off
        # one of these in order, whatever the number of reports.
        indexes = [
            models.Index(fields=["status", "-open_fraud_flags", "-verified_loss_usd", "submitted_at", "id"],
                         name="report_queue_flags"),
            models.Index(fields=["status", "-verified_loss_usd", "submitted_at", "id"],
                         name="report_queue_loss"),
            models.Index(fields=["status", "submitted_at", "id"], name="report_queue_age"),
            models.Index(fields=["tier"], name="report_tier"),
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if not self.report_ref:  # first stored: its pseudonym needs its id
            report_refs_assign([self])

    @property
    def source_label(self) -> str:
        """Where the report came from, as the register's `source` column spells it."""
        if self.source == ReportSource.IMPORT:
            return f"{self.source_file}:{self.source_row}"
        return self.source


class ClaimKind(models.TextChoices):
    TRANSFER = "transfer", _("Transfer")
    TRADE_LOSS = "trade_loss", _("Trade loss")


class ClaimStatus(models.TextChoices):
    VERIFIED = "verified", _("Verified")
    MISMATCH = "mismatch", _("Mismatch")
    NOT_FOUND = "not_found", _("Not found")
    REVERTED = "reverted", _("Reverted")
    OUTSIDE_WINDOW = "outside_window", _("Outside the window")
    DUPLICATE = "duplicate", _("Claimed by another report")
    UNCONFIRMED = "unconfirmed", _("Not yet confirmed")
    UNCHECKED = "unchecked", _("Not checked yet")
    CONTESTED = "contested", _("Cited by several reports, bound by none")


class Binding(models.TextChoices):
    """What proves a transfer is this reporter's loss; ranked: a decision outranks a signature."""

    NONE = "", _("Not bound")
    WITHDRAWAL_MAIL = "withdrawal_mail", _("Named in the exchange's withdrawal mail to the reporter")
    SIGNATURE = "signature", _("Challenge signed by the sending address")
    DECISION = "decision", _("Bound by a moderator's decision")


class Claim(models.Model):
    """One alleged loss inside a report: a transfer on a chain, or a trade loss at an exchange."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="claims")
    kind = models.CharField(max_length=10, choices=ClaimKind.choices, default=ClaimKind.TRANSFER)
    # Transfer fields, as the reporter stated them (canonical forms, see incidents.chains).
    chain = models.CharField(max_length=64, blank=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    log_index = models.PositiveIntegerField(null=True, blank=True)
    asset = models.CharField(max_length=20, blank=True)
    amount = models.DecimalField(max_digits=40, decimal_places=18, null=True, blank=True)
    from_address = models.CharField(max_length=100, blank=True)
    to_address = models.CharField(max_length=100, blank=True)
    # Trade-loss fields.
    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="claims")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    # What the checks established (written by verification only).
    status = models.CharField(max_length=16, choices=ClaimStatus.choices,
                              default=ClaimStatus.UNCHECKED)  # indexed by claim_status (Meta)
    # The status the claim's own checks give, before other reports citing the same transfer are
    # weighed (contested, duplicate); kept so that a rival's change recomputes without the chain.
    checked_status = models.CharField(max_length=16, choices=ClaimStatus.choices,
                                      default=ClaimStatus.UNCHECKED)
    # The sender the chain shows (EVM: the tx's from; ERC-20: the Transfer log's from): whose
    # signature binds the transfer.
    chain_sender = models.CharField(max_length=100, blank=True)
    binding = models.CharField(max_length=16, choices=Binding.choices, blank=True, default="")
    reasons = models.JSONField(default=list, blank=True)
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_time = models.DateTimeField(null=True, blank=True)
    usd_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    # True once the block is deep enough that a reorganisation is no longer expected; the
    # re-check schedule (verification.tasks) stops looking at settled claims.
    settled = models.BooleanField(default=False)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["report_id", "id"]
        indexes = [
            # Read by the duplicate check: who else cites this transfer?
            models.Index(fields=["chain", "tx_hash", "log_index"], name="claim_transfer_idx"),
            models.Index(fields=["status"], name="claim_status"),  # no pattern-matching copy
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "chain", "tx_hash", "log_index"], name="claim_transfer_unique",
                condition=Q(kind=ClaimKind.TRANSFER, log_index__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["report", "chain", "tx_hash"], name="claim_transfer_unique_no_log",
                condition=Q(kind=ClaimKind.TRANSFER, log_index__isnull=True),
            ),
            models.CheckConstraint(
                condition=~Q(kind=ClaimKind.TRANSFER) | (~Q(chain="") & ~Q(tx_hash="")),
                name="claim_transfer_has_chain_and_tx",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ClaimKind.TRADE_LOSS) | Q(exchange__isnull=False),
                name="claim_trade_loss_has_exchange",
            ),
            models.CheckConstraint(condition=Q(amount__isnull=True) | Q(amount__gte=0),
                                   name="claim_amount_not_negative"),
            models.CheckConstraint(condition=Q(usd_value__isnull=True) | Q(usd_value__gte=0),
                                   name="claim_usd_value_not_negative"),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True) | Q(period_end__isnull=True)
                | Q(period_end__gte=F("period_start")),
                name="claim_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == ClaimKind.TRANSFER:
            return f"{self.chain} {self.tx_hash}"
        return f"trade loss at {self.exchange}"


class EvidenceKind(models.TextChoices):
    SUPPORT_EMAIL = "support_email", _("Support-ticket email (.eml)")
    TRADE_EXPORT = "trade_export", _("Trade-history export")
    POLICE_REPORT = "police_report", _("Police report")
    SCREENSHOT = "screenshot", _("Screenshot")
    OTHER = "other", _("Other")


def evidence_storage():
    """Return the private storage evidence lives in (settings.STORAGES["evidence"])."""
    return storages["evidence"]


def evidence_path(instance: "Evidence", filename: str) -> str:
    """Store under a generated name: the reporter's file name never reaches the file system."""
    return f"{instance.report_id}/{instance.sha256}"


def evidence_preview_path(instance: "Evidence", filename: str) -> str:
    """Store an image's preview beside its original, under a generated name too."""
    return f"{instance.report_id}/{instance.sha256}.preview.png"


class StoredFile(models.Model):
    """What Lossproof keeps of an upload besides the file: its kind, name, hash, size and type."""

    kind = models.CharField(max_length=16, choices=EvidenceKind.choices)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    detected_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]}"


class Evidence(StoredFile):
    """An uploaded file, kept privately and identified by its sha256."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="evidence")
    claim = models.ForeignKey(Claim, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="evidence")
    file = models.FileField(upload_to=evidence_path, storage=evidence_storage, max_length=200)
    # The metadata-free copy of an image, rendered once (at upload, or on the first view of an
    # older file) and served by the preview view: decoding the original per request is costly.
    preview = models.FileField(upload_to=evidence_preview_path, storage=evidence_storage, max_length=200,
                               blank=True)
    # The same in-flight marker as on Report, for this file's checks (verification.leases).
    check_queued_until = models.DateTimeField(null=True, blank=True)
    check_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["report_id", "id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.UniqueConstraint(fields=["report", "sha256"], name="evidence_unique_per_report"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"),
                                   name="evidence_sha256_hex"),
        ]


class LeakedKeyHash(models.Model):
    """SHA-256 of a leaked public API-key id (never the key itself), imported by admins."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="leaked_key_hashes")
    sha256 = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "sha256"], name="leaked_key_hash_unique"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="leaked_key_hash_hex"),
        ]

    def __str__(self) -> str:
        return self.sha256[:12]


class LiaisonBinding(models.Model):
    """Binds an exchange liaison to the one exchange whose tickets they may confirm or deny."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="liaison")
    exchange = models.ForeignKey(Exchange, on_delete=models.CASCADE, related_name="liaisons")

    def __str__(self) -> str:
        return f"{self.user} for {self.exchange}"


class AttestationAnswer(models.TextChoices):
    ATTESTED = "attested", _("Attested: the exchange knows this ticket")
    DENIED = "denied", _("Denied: the exchange has no such ticket")


class TicketAttestation(models.Model):
    """A liaison's answer about a ticket id a report cites; every answer is kept, newest wins."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attestations")
    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, related_name="attestations")
    ticket_id = models.CharField(max_length=100)
    answer = models.CharField(max_length=8, choices=AttestationAnswer.choices)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report_id", "-answered_at", "-id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.answer}"


def draft_upload_path(instance: "DraftUpload", filename: str) -> str:
    return f"drafts/{instance.draft_id}/{instance.sha256}"


class ReportDraft(models.Model):
    """A report being written in the browser, kept between visits until submitted or discarded."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="report_drafts")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+")
    # The cleaned answers of each finished step, keyed by step name (see incidents.forms).
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"Draft {self.pk} by {self.reporter}"


class DraftUpload(StoredFile):
    """A file attached to a draft; checked like evidence and becomes evidence on submission."""

    draft = models.ForeignKey(ReportDraft, on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(upload_to=draft_upload_path, storage=evidence_storage, max_length=200)

    class Meta:
        ordering = ["draft_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "sha256"], name="draft_upload_unique"),
        ]


class ReportMessage(models.Model):
    """A moderator's question or the reporter's answer, kept with the report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               related_name="+")
    from_moderator = models.BooleanField(default=False)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["report_id", "created_at", "id"]

    def __str__(self) -> str:
        return f"{'Question' if self.from_moderator else 'Answer'} on report {self.report_id}"
