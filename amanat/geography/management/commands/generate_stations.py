import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from amanat.geography.services import station_generate


class Command(BaseCommand):
    help = (
        "Create a SYNTHETIC, seeded, reproducible set of polling stations spread over every county "
        "(codes SYN-<county>-<n>, flagged is_synthetic) for demonstrations and benchmarks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--total", type=int, default=60_000)
        parser.add_argument("--seed", type=int, default=1405)

    def handle(self, *args: Any, total: int, seed: int, **options: Any) -> None:
        started = time.perf_counter()
        try:
            result = station_generate(actor=None, total=total, seed=seed)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"synthetic stations: {result.created['stations']} created, "
                f"{result.unchanged['stations']} already present ({elapsed:.2f} s)"
            )
        )
