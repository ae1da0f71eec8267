from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from amanat.geography.services import ImportRejectedError, parse_station_csv, station_import


class Command(BaseCommand):
    help = (
        "Import polling stations from a CSV with columns code,name,county_code[,district_code,address,"
        "latitude,longitude]. All or nothing: a bad row is reported by line and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"no such file: {file}")
        try:
            rows = parse_station_csv(path.read_text(encoding="utf-8"))
            result = station_import(actor=None, rows=rows, source=path.name)
        except ImportRejectedError as exc:
            raise CommandError(f"nothing was imported; the file has errors:\n{exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"stations: created {result.created}, updated {result.updated}"))
