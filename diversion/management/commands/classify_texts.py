"""python manage.py classify_texts INPUT.csv OUTPUT.csv [--model PATH]"""

import csv

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.exports import csv_row
from core.management.base import MigratedCommand
from diversion.routing.classify import OUTPUT_COLUMNS, classify_texts
from diversion.routing.learning import load_models

BATCH = 500


class Command(MigratedCommand):
    help = _("Route every text of a CSV file (column `text`; other columns are kept) and write the result.")

    def add_arguments(self, parser):
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--model", help=_("A model file written by evaluate_routing --save-model (a department "
                                              "model, a keep-or-divert model or both). Without it the active stored "
                                              "models, if any, are used with the rules."))

    def handle(self, *args, input, output, model=None, **options):
        trained = (None, None)
        if model:
            try:
                trained = load_models(model)
            except DomainError as exc:
                raise CommandError(f"{model}: {exc}") from exc
            except OSError as exc:
                raise CommandError(_("Cannot read the model %(path)s: %(err)s") % {"path": model, "err": exc}) from exc
        try:
            source = open(input, encoding="utf-8-sig", newline="")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(err)s") % {"path": input, "err": exc}) from exc
        with source:
            reader = csv.DictReader(source)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise CommandError(_("The input has no `text` column."))
            fieldnames = list(reader.fieldnames) + [c for c in OUTPUT_COLUMNS if c not in reader.fieldnames]
            n = 0
            with open(output, "w", encoding="utf-8", newline="") as target:
                writer = csv.DictWriter(target, fieldnames=fieldnames)
                writer.writeheader()
                batch = []
                for row in reader:
                    batch.append(row)
                    if len(batch) >= BATCH:
                        n += self._write(writer, batch, trained)
                        batch = []
                n += self._write(writer, batch, trained)
        self.stdout.write(_("%(n)s texts classified into %(path)s") % {"n": n, "path": output})

    def _write(self, writer, rows, model) -> int:
        if not rows:
            return 0
        department, keep = model
        results = classify_texts([r.get("text") or "" for r in rows], model=department, keep_model=keep)
        for row, result in zip(rows, results, strict=True):
            row.pop(None, None)  # cells beyond the header
            writer.writerow(csv_row({**row, **result}))
        return len(rows)
