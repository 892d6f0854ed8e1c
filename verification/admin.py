from django.contrib import admin

from incidents import admin as incidents_admin
from incidents.models import Report
from verification.models import CheckResult, Price, TaskDelivery, WorkerHeartbeat


class CheckResultInline(incidents_admin.ReadOnlyAdmin, admin.TabularInline):
    """Every check of every claim, with its raw data: what was asked and what came back."""

    model = CheckResult
    extra = 0
    fields = ("claim", "check_name", "outcome", "reasons", "provider", "attempts", "finished_at", "raw")
    ordering = ("claim_id", "check_name")


# incidents cannot import verification (docs/architecture.md): the report's admin page gets its
# checks here, from the app above, between the files and the messages as before.
admin.site.unregister(Report)


@admin.register(Report)
class ReportAdmin(incidents_admin.ReportAdmin):
    inlines = [incidents_admin.ClaimInline, incidents_admin.EvidenceInline, CheckResultInline,
               incidents_admin.ReportMessageInline]


@admin.register(CheckResult)
class CheckResultAdmin(admin.ModelAdmin):
    list_display = ("report", "claim", "check_name", "outcome", "provider", "attempts", "finished_at")
    list_filter = ("check_name", "outcome")
    readonly_fields = [f.name for f in CheckResult._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("symbol", "date", "usd")
    list_filter = ("symbol",)
    date_hierarchy = "date"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("hostname", "seen_at")


@admin.register(TaskDelivery)
class TaskDeliveryAdmin(admin.ModelAdmin):
    """Tasks delivered more than once; those given up on need a person to look at them."""

    list_display = ("name", "args", "deliveries", "gave_up", "last_seen")
    list_filter = ("gave_up", "name")
    readonly_fields = ("task_id", "name", "args", "deliveries", "gave_up", "first_seen", "last_seen")
