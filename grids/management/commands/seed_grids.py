
from core.management.base import MigratedCommand
from grids.demo import seed_grid_layer


class Command(MigratedCommand):
    help = ("Load a generated grid layer (30 police areas / 180 small / 2160 micro grids by default) with a "
            "gazetteer, “2+X” teams, units and patrol geography. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--large", type=int, default=30, help="number of police areas (72 micro grids each)")

    def handle(self, *args, large, **options):
        seed_grid_layer(large=large, stdout=self.stdout)
