from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from amanat.accounts.models import ApiToken, Organisation, User
from amanat.accounts.services import api_tokens_forget_users
from amanat.audit.admin import AuditedModelAdmin


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "province", "county", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "name_en"]
    raw_id_fields = ["province", "county"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    list_display = ["username", "get_full_name", "organisation", "role", "province", "county", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    raw_id_fields = ["organisation", "province", "county"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Amanat"), {"fields": ("organisation", "role", "province", "county")}),
    )

    def after_change(self) -> None:
        # A token's requests must see the user's new role, jurisdiction or deactivation.
        api_tokens_forget_users()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    # Tokens are issued and revoked only through the audited services (the profile page or the API).
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_add_permission(self, request: object) -> bool:
        return False
