"""Admin for users: what an operator needs to find, unlock, lock out and clean up accounts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from core.errors import FieldErrors, PermissionDenied
from users import api_tokens, services
from users.authentication import request_user
from users.models import ApiToken, AuditEntry, ExternalIdentity, User


class ExternalIdentityInline(admin.TabularInline):
    model = ExternalIdentity
    extra = 0
    readonly_fields = ("issuer", "subject", "created_at")
    can_delete = True


class ChatUserChangeForm(UserChangeForm):
    def clean_avatar(self) -> object:
        """A new avatar meets the API's policy (users.services.avatar_check: size, formats), or the
        form shows why not; ``save_model`` then saves it through the same service."""
        avatar = self.cleaned_data.get("avatar")
        if isinstance(avatar, UploadedFile):
            try:
                services.avatar_check(avatar)
            except FieldErrors as exc:
                raise forms.ValidationError(exc.fields.get("avatar", [exc.detail])) from None
        return avatar


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = ChatUserChangeForm
    list_display = (
        "username",
        "display_name",
        "email",
        "role",
        "is_bot",
        "is_active",
        "is_staff",
        "date_joined",
        "last_login",
    )
    list_filter = ("role", "is_bot", "is_active", "is_staff", "is_superuser", "date_joined", "last_login")
    search_fields = ("username", "display_name", "email", "city", "postal_code")
    ordering = ("username",)
    date_hierarchy = "date_joined"
    inlines = [ExternalIdentityInline]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("Chat profile", {"fields": ("display_name", "avatar", "postal_code", "city", "preferences")}),
        ("Workspace", {"fields": ("role", "is_bot", "bot_owner")}),
    )
    add_fieldsets = (
        *(DjangoUserAdmin.add_fieldsets or ()),
        ("Chat profile", {"classes": ("wide",), "fields": ("display_name", "email", "postal_code", "city")}),
    )
    actions = [
        "deactivate_users",
        "activate_users",
        "sign_out_everywhere",
        "make_admin",
        "make_moderator",
        "make_member",
        "make_guest",
    ]

    @admin.action(description="Deactivate selected users (closes their sockets)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with self._refusals_as_messages(request):
            changed = services.user_set_active(actor=request_user(request), users=queryset, active=False)
            self.message_user(request, f"Deactivated {changed} user(s).", messages.SUCCESS)

    @admin.action(description="Activate selected users")
    def activate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with self._refusals_as_messages(request):
            changed = services.user_set_active(actor=request_user(request), users=queryset, active=True)
            self.message_user(request, f"Activated {changed} user(s).", messages.SUCCESS)

    @admin.action(description="Sign out everywhere (revoke refresh tokens, close sockets)")
    def sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with self._refusals_as_messages(request), transaction.atomic():
            actor = request_user(request)
            revoked = sum(
                services.user_sign_out_everywhere(actor=actor, user=user, via=AuditEntry.Via.ADMIN) for user in queryset
            )
            self.message_user(request, f"Revoked {revoked} refresh token(s).", messages.SUCCESS)

    def _set_role(self, request: HttpRequest, queryset: QuerySet[User], role: str) -> None:
        with self._refusals_as_messages(request), transaction.atomic():
            actor = request_user(request)
            for user in queryset:
                services.user_set_role(actor=actor, user=user, role=role, via=AuditEntry.Via.ADMIN)
            self.message_user(request, f"{queryset.count()} user(s) are now {role}s.", messages.SUCCESS)

    @admin.action(description="Make selected users workspace admins")
    def make_admin(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, User.Role.ADMIN)

    @admin.action(description="Make selected users workspace moderators")
    def make_moderator(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, User.Role.MODERATOR)

    @admin.action(description="Make selected users members")
    def make_member(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, User.Role.MEMBER)

    @admin.action(description="Make selected users guests (they see only rooms they were added to)")
    def make_guest(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._set_role(request, queryset, User.Role.GUEST)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or services.user_can_manage(actor=request_user(request), user=obj))

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or services.user_can_manage(actor=request_user(request), user=obj))

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        fields = (*super().get_readonly_fields(request, obj), "is_bot", "bot_owner")
        return fields if request.user.is_superuser else (*fields, "is_superuser")

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Admin flags and the avatar go through the service, which checks who may change them, closes
        # a deactivated user's sockets and removes a replaced avatar; it saves the other fields too.
        data = {
            name: getattr(obj, name) for name in (*services.ADMIN_FIELDS, "role", "avatar") if name in form.changed_data
        }
        for name in data:
            setattr(obj, name, form.initial[name])  # the stored value, which the service checks against
        with _as_django_refusal():
            services.user_update(actor=request_user(request), user=obj, data=data, via=AuditEntry.Via.ADMIN)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        with _as_django_refusal():
            services.user_delete(actor=request_user(request), user=obj, via=AuditEntry.Via.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        with _as_django_refusal(), transaction.atomic():
            for user in queryset:
                services.user_delete(actor=request_user(request), user=user, via=AuditEntry.Via.ADMIN)

    @contextmanager
    def _refusals_as_messages(self, request: HttpRequest) -> Iterator[None]:
        try:
            yield
        except PermissionDenied as exc:
            self.message_user(request, exc.detail, messages.ERROR)


@contextmanager
def _as_django_refusal() -> Iterator[None]:
    """A service's refusal becomes Django's PermissionDenied: the admin answers 403, and the
    surrounding transaction rolls back."""
    try:
        yield
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.detail) from None


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be looked at and deleted (revoked) here; only their owners create them (the API)."""

    list_display = ("name", "user", "prefix", "scopes", "expires_at", "last_used_at", "created_at")
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "scopes", "expires_at", "last_used_at", "created_at")
    exclude = ("digest",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        with _as_django_refusal():
            api_tokens.api_token_revoke(actor=request_user(request), token_id=obj.pk, via=AuditEntry.Via.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        with _as_django_refusal(), transaction.atomic():
            for token in queryset:
                api_tokens.api_token_revoke(actor=request_user(request), token_id=token.pk, via=AuditEntry.Via.ADMIN)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: nobody edits or deletes history here."""

    list_display = ("created_at", "actor_username", "action", "target_type", "target_label", "room_slug", "via")
    list_filter = ("action", "via", "created_at")
    search_fields = ("actor_username", "target_label", "room_slug", "reason")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
