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


class ReadOnlyAdmin:
    """What the checks and the reporters wrote: admins read it; only moderators' pages act on it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [field.name for field in self.model._meta.fields]


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


class ClaimInline(ReadOnlyAdmin, admin.TabularInline):
    model = Claim
    extra = 0
    fields = ("kind", "chain", "tx_hash", "log_index", "asset", "amount", "status", "binding", "reasons",
              "block_number", "block_time", "usd_value")


class EvidenceInline(ReadOnlyAdmin, admin.TabularInline):
    model = Evidence
    extra = 0
    fields = ("kind", "original_name", "sha256", "size", "detected_type")


class ReportMessageInline(ReadOnlyAdmin, admin.StackedInline):
    """Questions to the reporter and their answers; moderators ask from the review page."""

    model = ReportMessage
    extra = 0
    fields = ("from_moderator", "author", "created_at", "body")
    verbose_name = _("message to the reporter")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: statuses change through the moderators' decision service, claims never by hand.

    verification/admin.py registers a subclass in its place that adds the checks' inline.
    """

    list_display = ("id", "incident", "source", "status", "tier", "claimed_loss_usd",
                    "verified_loss_usd", "submitted_at")
    list_filter = ("incident", "status", "tier", "source")
    search_fields = ("id", "contact_email", "support_ticket_id", "claims__tx_hash")
    inlines = [ClaimInline, EvidenceInline, ReportMessageInline]
    date_hierarchy = "submitted_at"
    show_full_result_count = False


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
