from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from incidents.models import (
    Asset,
    AttackerAddress,
    Claim,
    DkimKey,
    Evidence,
    Exchange,
    Incident,
    IncidentChain,
    LeakedKeyHash,
    LiaisonBinding,
    Report,
    ReportMessage,
    SafelistedAddress,
    TicketAttestation,
)
from incidents.services import report_question_ask
from verification.models import CheckResult


class ChainInline(admin.TabularInline):
    model = IncidentChain
    extra = 0


class AttackerInline(admin.TabularInline):
    model = AttackerAddress
    extra = 0


class SafelistInline(admin.TabularInline):
    model = SafelistedAddress
    extra = 0


class AssetInline(admin.TabularInline):
    model = Asset
    extra = 0


class ExchangeInline(admin.TabularInline):
    model = Exchange
    extra = 0


class DkimKeyInline(admin.TabularInline):
    model = DkimKey
    extra = 0


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("slug", "title", "window_start", "window_end", "published")
    list_filter = ("published",)
    search_fields = ("slug", "title")
    inlines = [ChainInline, AttackerInline, SafelistInline, AssetInline, ExchangeInline, DkimKeyInline]


class ClaimInline(admin.TabularInline):
    model = Claim
    extra = 0
    fields = ("kind", "chain", "tx_hash", "log_index", "asset", "amount", "status", "reasons",
              "block_number", "block_time", "usd_value")
    # Verification writes these; an admin edit would break the audit trail of the checks.
    readonly_fields = ("status", "reasons", "block_number", "block_time", "usd_value")


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0
    fields = ("kind", "original_name", "sha256", "size", "detected_type")
    readonly_fields = fields
    can_delete = False


class CheckResultInline(admin.TabularInline):
    """Every check of every claim, with its raw data: what was asked and what came back."""

    model = CheckResult
    extra = 0
    fields = ("claim", "check_name", "outcome", "reasons", "provider", "attempts", "finished_at", "raw")
    readonly_fields = fields
    can_delete = False
    ordering = ("claim_id", "check_name")

    def has_add_permission(self, request, obj=None):
        return False


class ReportMessageInline(admin.StackedInline):
    """Questions to the reporter and their answers; staff may add a question, never edit one."""

    model = ReportMessage
    extra = 1
    fields = ("from_moderator", "author", "created_at", "body")
    readonly_fields = ("from_moderator", "author", "created_at")
    can_delete = False
    verbose_name = _("message to the reporter")

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("id", "incident", "source", "status", "tier", "claimed_loss_usd",
                    "verified_loss_usd", "submitted_at")
    list_filter = ("incident", "status", "tier", "source")
    search_fields = ("id", "contact_email", "support_ticket_id", "claims__tx_hash")
    # check_attempts at TASK_MAX_DELIVERIES: the sweep gave up on this report's checks.
    readonly_fields = ("tier", "flags", "verified_loss_usd", "source", "source_file", "source_row",
                       "decided_at", "created_at", "updated_at", "check_queued_until", "check_attempts")
    inlines = [ClaimInline, EvidenceInline, CheckResultInline, ReportMessageInline]
    date_hierarchy = "submitted_at"

    def save_formset(self, request, form, formset, change):
        if formset.model is not ReportMessage:
            return super().save_formset(request, form, formset, change)
        # A new message is a question: asking goes through the service, which also moves the
        # report to needs_info; the change message the admin logs reads these three lists.
        formset.new_objects = [
            report_question_ask(report=form.instance, moderator=request.user, body=row.cleaned_data["body"])
            for row in formset.extra_forms if row.has_changed() and not row.cleaned_data.get("DELETE")
        ]
        formset.changed_objects, formset.deleted_objects = [], []


@admin.register(LiaisonBinding)
class LiaisonBindingAdmin(admin.ModelAdmin):
    list_display = ("user", "exchange")
    autocomplete_fields = ("user",)


@admin.register(TicketAttestation)
class TicketAttestationAdmin(admin.ModelAdmin):
    """Liaisons' answers: kept as given, never edited."""

    list_display = ("ticket_id", "exchange", "answer", "answered_by", "answered_at")
    list_filter = ("answer", "exchange")
    readonly_fields = ("report", "exchange", "ticket_id", "answer", "answered_by", "answered_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LeakedKeyHash)
class LeakedKeyHashAdmin(admin.ModelAdmin):
    list_display = ("sha256", "incident")
    list_filter = ("incident",)
    search_fields = ("sha256",)
