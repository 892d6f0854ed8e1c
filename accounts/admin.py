from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiToken, User


@admin.register(User)
class LossproofUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "email")
    fieldsets = (*UserAdmin.fieldsets, ("Lossproof", {"fields": ("role",)}))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at")
    readonly_fields = ("prefix", "digest", "user", "created_at", "last_used_at")
    search_fields = ("user__email", "prefix")

    def has_add_permission(self, request) -> bool:
        return False  # tokens are issued by `manage.py issue_token`, which shows the token once
