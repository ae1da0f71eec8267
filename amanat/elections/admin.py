from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from amanat.audit.admin import AuditedModelAdmin
from amanat.elections.models import Contest, ElectionEvent
from amanat.elections.selectors import election_calendar_forget


class ContestInline(admin.TabularInline):
    """Read-only: contests are added on the event page, which also records the counties taking part."""

    model = Contest
    extra = 0
    fields = ["kind", "title"]
    readonly_fields = ["kind", "title"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ElectionEvent)
class ElectionEventAdmin(AuditedModelAdmin):
    list_display = ["name", "voting_day", "opens_on", "closes_on", "is_demo"]
    inlines = [ContestInline]

    def after_change(self) -> None:
        election_calendar_forget()
