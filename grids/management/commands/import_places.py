from pathlib import Path

from django.core.management.base import CommandError

from core.errors import DomainError
from core.management.base import MigratedCommand
from grids.services import places_import


class Command(MigratedCommand):
    help = ("Import a city's address list into the gazetteer: a CSV with the columns address, lat, lon (or 地址, "
            "纬度, 经度). Each address goes to the micro grid its point is in. Bad rows are reported with their "
            "line and reason and skipped; the good ones are written in one transaction.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, UTF-8 or GB18030")

    def handle(self, *args, path, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            result = places_import(actor=None, data=file.read_bytes(), filename=file.name)
        except DomainError as exc:
            raise CommandError(f"{file.name}: {exc.message} Nothing was imported.") from None
        for line, reason in result.skipped:
            self.stderr.write(f"  line {line}: {reason}")
        self.stdout.write(self.style.SUCCESS(
            f"Imported {file.name}: {result.created} addresses created, {result.updated} updated, "
            f"{len(result.skipped)} rows skipped."))
