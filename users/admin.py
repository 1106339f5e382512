"""Admin for users: what an operator needs to find, unlock, lock out and clean up accounts."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from users import services
from users.models import ExternalIdentity, User


class ExternalIdentityInline(admin.TabularInline):
    model = ExternalIdentity
    extra = 0
    readonly_fields = ("issuer", "subject", "created_at")
    can_delete = True


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "city", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined", "last_login")
    search_fields = ("username", "display_name", "email", "city", "postal_code")
    ordering = ("username",)
    date_hierarchy = "date_joined"
    inlines = [ExternalIdentityInline]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Chat profile", {"fields": ("display_name", "avatar", "postal_code", "city", "preferences")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Chat profile", {"classes": ("wide",), "fields": ("display_name", "email", "postal_code", "city")}),
    )
    actions = ["deactivate_users", "activate_users", "sign_out_everywhere"]

    @admin.action(description="Deactivate selected users (closes their sockets)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = services.user_set_active(actor=request.user, users=list(queryset), active=False)
        self.message_user(request, f"Deactivated {changed} user(s).", messages.SUCCESS)

    @admin.action(description="Activate selected users")
    def activate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = services.user_set_active(actor=request.user, users=list(queryset), active=True)
        self.message_user(request, f"Activated {changed} user(s).", messages.SUCCESS)

    @admin.action(description="Sign out everywhere (revoke refresh tokens, close sockets)")
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        revoked = sum(services.user_sign_out_everywhere(user=user) for user in queryset)
        self.message_user(request, f"Revoked {revoked} refresh token(s).", messages.SUCCESS)
