from typing import Any

from django.core.management.base import BaseCommand, CommandError

from amanat.audit.models import AuditEntry
from amanat.audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Check the audit log's hash chain; name the first edited, deleted or reordered entry."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = list(audit_chain_verify())
        if problems:
            problem = problems[0]
            raise CommandError(f"audit chain broken at entry {problem.seq}: {problem.reason}")
        count = AuditEntry.all_entries.count()
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {count} entries verified"))
