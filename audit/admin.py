from django.contrib import admin

from audit.models import AuditEvent

FIELDS = ("seq", "at", "actor_label", "action", "subject", "data", "prev_hash", "hash")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read the log; nobody adds, changes or deletes an event here."""

    # The actor FK is left out: its str() is the username, which may hold part of an email.
    fields = readonly_fields = FIELDS
    list_display = ("seq", "at", "actor_label", "action", "subject")
    list_filter = ("action",)
    search_fields = ("subject", "actor_label")
    ordering = ("-seq",)
    show_full_result_count = False  # the log grows without bound; counting it on every page is waste

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
