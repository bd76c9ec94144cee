from pathlib import Path

from django.core.management.base import CommandError

from core.management.base import MigratedCommand
from grids.services import GridImportError, grids_import_geojson


class Command(MigratedCommand):
    help = "Import grids (large / small / micro) from a GeoJSON FeatureCollection: all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", help="GeoJSON file; each feature has properties code, name, level, parent, …")

    def handle(self, *args, path, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            record = grids_import_geojson(actor=None, data=file.read_bytes(), filename=file.name)
        except GridImportError as exc:
            for error in exc.errors:
                self.stderr.write(f"  {error}")
            raise CommandError(f"{len(exc.errors)} problem(s) in {file.name}; nothing was imported.") from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported {file.name}: {record.created} grids created, {record.updated} updated."))
