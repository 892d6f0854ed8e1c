from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ApiToken, Role, User
from accounts.services import role_grant


@admin.register(User)
class LossproofUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_active")
    search_fields = ("username", "email")
    fieldsets = (*UserAdmin.fieldsets, ("Lossproof", {"fields": ("role",)}))
    actions = ["make_moderator"]

    @admin.action(description=gettext_lazy("Make the selected accounts moderators"))
    def make_moderator(self, request, queryset):
        # Moderators work on their own pages; an admin account stays an admin, never both.
        admins = queryset.filter(is_superuser=True) | queryset.filter(is_staff=True)
        if admins.exists():
            self.message_user(request, _("Admins cannot be moderators; give the person a separate account."),
                              messages.ERROR)
            return
        for user in queryset:
            role_grant(user=user, role=Role.MODERATOR, actor=request.user)
        self.message_user(request, _("%(count)d account(s) are now moderators; each enrols a second factor "
                                     "at their next sign-in.") % {"count": queryset.count()})


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at")
    readonly_fields = ("prefix", "digest", "user", "created_at", "last_used_at")
    search_fields = ("user__email", "prefix")

    def has_add_permission(self, request) -> bool:
        return False  # tokens are issued by `manage.py issue_token`, which shows the token once
