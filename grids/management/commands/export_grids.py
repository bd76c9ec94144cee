import json
import sys

from core.management.base import MigratedCommand
from grids.models import Grid
from grids.selectors import grids_geojson


class Command(MigratedCommand):
    help = "Export grids as a GeoJSON FeatureCollection (readable again by import_grids)."

    def add_arguments(self, parser):
        parser.add_argument("--level", choices=Grid.Level.values, help="only this level")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, level=None, output=None, **options):
        grids = Grid.objects.all()
        if level:
            grids = grids.filter(level=level)
        text = json.dumps(grids_geojson(grids), ensure_ascii=False)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
            self.stdout.write(self.style.SUCCESS(f"Wrote {grids.count()} grids to {output}."))
        else:
            sys.stdout.write(text + "\n")
