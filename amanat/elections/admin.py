from django.contrib import admin

from amanat.audit.admin import AuditedModelAdmin
from amanat.elections.models import Contest, ElectionEvent


class ContestInline(admin.TabularInline):
    model = Contest
    extra = 0
    fields = ["kind", "title"]


@admin.register(ElectionEvent)
class ElectionEventAdmin(AuditedModelAdmin):
    list_display = ["name", "voting_day", "opens_on", "closes_on", "is_demo"]
    inlines = [ContestInline]
