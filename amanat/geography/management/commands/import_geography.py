import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amanat.geography.services import (
    ImportRejectedError,
    geography_import,
    iran_division_rows,
    parse_division_csv,
)


class Command(BaseCommand):
    help = (
        "Load administrative divisions. `iran` loads Iran's 31 provinces, 448 counties and 1,099 districts "
        "with official codes (from django-iranian-cities); `csv FILE` imports any country's divisions from "
        "a CSV with columns level,code,name,name_en,parent_code. Re-running changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", choices=["iran", "csv"])
        parser.add_argument("file", nargs="?", help="the CSV file, for `csv`")

    def handle(self, *args: Any, source: str, file: str | None, **options: Any) -> None:
        started = time.perf_counter()
        try:
            if source == "iran":
                rows, label = iran_division_rows(), "iran (django-iranian-cities)"
            else:
                if not file:
                    raise CommandError("give the CSV file: amanat import-geography csv FILE")
                path = Path(file)
                if not path.is_file():
                    raise CommandError(f"no such file: {file}")
                rows, label = parse_division_csv(path.read_text(encoding="utf-8")), path.name
            result = geography_import(actor=None, rows=rows, source=label)
        except ImportRejectedError as exc:
            raise CommandError(f"nothing was imported; the file has errors:\n{exc}") from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"geography imported from {label} in {elapsed:.2f} s: created {result.created}, "
                f"updated {result.updated}, unchanged {result.unchanged}"
            )
        )
