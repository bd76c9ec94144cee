import time
from pathlib import Path

from django.core.management.base import CommandError

from core.errors import DomainError
from core.management.base import MigratedCommand
from incidents.imports.columns import FIELDS
from incidents.imports.services import (
    import_follow_up,
    import_preview,
    import_run,
    import_set_mapping,
    import_upload,
    mapping_errors,
)
from incidents.models import CallImport


class Command(MigratedCommand):
    help = ("Import a centre's historical 110 calls from a CSV (UTF-8 or GB18030) or XLSX export. Columns are "
            "matched by their names (接警编号, 报警时间, 报警内容, 报警电话, 地址…) or given with --map. Bad rows "
            "are reported with their line and reason and skipped; the good ones are written in one transaction, "
            "and a call id already stored is left alone, so running it again adds nothing. Then the new calls "
            "get their grids and suggestions, and their days' reviews are queued.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV or XLSX file; the first row names the columns")
        parser.add_argument("--map", dest="maps", action="append", default=[], metavar="FIELD=COLUMN",
                            help=f"the column for a field; fields: {', '.join(FIELDS)}")
        parser.add_argument("--encoding", default="", help="the CSV's encoding (default: UTF-8, else GB18030)")
        parser.add_argument("--preview", action="store_true", help="show how the first rows read, import nothing")
        parser.add_argument("--no-follow-up", action="store_true",
                            help="leave grids and suggestions to the worker the import queues")

    def handle(self, *args, path, maps, encoding, preview, no_follow_up, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            record = import_upload(actor=None, upload=file, filename=file.name, encoding=encoding)
            given = dict(item.split("=", 1) for item in maps if "=" in item)
            if len(given) != len(maps):
                raise CommandError("--map takes FIELD=COLUMN")
            mapping = {**record.mapping, **given}
            self.stdout.write("Columns: " + ", ".join(f"{f}={c}" for f, c in mapping.items()))
            problems = mapping_errors(record.headers, mapping)
            if problems:
                raise CommandError(" ".join(problems) + f" The file's columns: {', '.join(record.headers)}.")
            record = import_set_mapping(actor=None, record=record, mapping=mapping)
            if preview:
                for row in import_preview(record).rows:
                    self.stdout.write(f"  line {row['line']}: " + (row["error"] or str(row["values"])))
                return
            started = time.monotonic()

            def progress(rows, bad):
                self.stderr.write(f"  {rows} rows read, {bad} bad, {time.monotonic() - started:.0f} s")

            record = import_run(actor=None, record=record, progress=progress)
        except DomainError as exc:
            raise CommandError(f"{file.name}: {exc.message} Nothing was imported.") from None
        if record.status == CallImport.Status.FAILED:
            raise CommandError(f"{file.name}: {record.failure} Nothing was imported.")
        for line, reason in record.errors:
            self.stderr.write(f"  line {line}: {reason}")
        if record.bad > len(record.errors):
            self.stderr.write(f"  … and {record.bad - len(record.errors)} more bad rows")
        self.stdout.write(self.style.SUCCESS(
            f"Imported {file.name}: {record.rows} rows, {record.imported} calls imported, {record.existing} "
            f"already there, {record.bad} bad rows skipped ({time.monotonic() - started:.1f} s)."))
        if record.imported and not no_follow_up:
            done = import_follow_up(record.pk)
            self.stdout.write(f"Grids and suggestions: {done} calls; their days' reviews are queued.")
