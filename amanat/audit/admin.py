from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from amanat.audit.models import AuditAction, AuditEntry
from amanat.audit.services import audit_record, snapshot


class AuditedModelAdmin(admin.ModelAdmin):
    """Admin for reference data: every save and delete writes its audit entry in the same transaction."""

    def _where(self, obj: models.Model) -> tuple[int | None, int | None]:
        jurisdiction = getattr(obj, "jurisdiction", None)
        return getattr(jurisdiction, "province_id", None), getattr(jurisdiction, "county_id", None)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            before = snapshot(type(obj)._base_manager.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                entity=obj,
                before=before,
                after=snapshot(obj),
            )
            self.after_change()

    def after_change(self) -> None:
        """Called in the transaction of every save and delete: what caches a copy drops it here."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            before, (province_id, county_id), pk, label = snapshot(obj), self._where(obj), obj.pk, str(obj)
            super().delete_model(request, obj)
            audit_record(
                actor=request.user,
                action=AuditAction.DELETE,
                entity_type=obj._meta.label,
                entity_id=pk,
                entity_label=label,
                before=before,
                province_id=province_id,
                county_id=county_id,
            )
            self.after_change()

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["seq", "created_at", "actor_label", "action", "entity_type", "entity_label"]
    list_filter = ["action", "entity_type"]
    search_fields = ["actor_label", "entity_label", "entity_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
