"""The import of historical calls: upload, preview, run, follow-up.

A run reads the file once, streaming: each row is read by the mapping (columns.RowReader); a bad row is
counted and kept (the first IMPORT_ERRORS_KEPT, with line and reason) and skipped. The good rows go in within
one transaction, so an import is written whole or not at all:

- PostgreSQL: COPY into a temporary staging table as the file is read; then the later rows with a 110 call id
  an earlier row of the file already had are refused (by line, naming the first); then one INSERT … SELECT
  … ON CONFLICT (call_id) DO NOTHING into the calls: a call id already stored is left as it is, so a re-run
  adds nothing;
- elsewhere (the embedded SQLite demo): the same checks in Python, bulk inserts in batches.

Imported calls are history: closed, entered by the importer, channel phone, police or not as the export says
(else undecided). Their grids and suggestions are added afterwards in batches by a worker (`import_follow_up`,
queued through the outbox in the import's transaction), which then asks for their days' daily reviews."""

import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_write
from core.errors import DomainError
from core.models import Role
from core.outbox import outbox_put

from ..models import Call, CallImport, CallStatus, Channel
from .columns import FIELDS, REQUIRED, RowError, RowReader, guess_mapping
from .readers import FileError, Rows

log = logging.getLogger(__name__)

PROGRESS_EVERY = 5000
PREVIEW_ROWS = 20


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def can_import(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_role(Role.SUPERVISOR))


def _check(actor) -> None:
    if actor is not None and not can_import(actor):
        raise PermissionDenied(_("Only a supervisor may import calls."))


# --- Upload and preview ---------------------------------------------------------------------------------

def import_upload(*, actor, upload, filename: str, encoding: str = "") -> CallImport:
    """Store an uploaded file (a Django UploadedFile, or a path for the command) and read its column names;
    a file that cannot be read at all is refused here, before anything is kept."""
    _check(actor)
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    path = imports_dir() / f"{uuid.uuid4().hex}{suffix}"
    if isinstance(upload, str | Path):
        path.write_bytes(Path(upload).read_bytes())
    else:
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    try:
        rows = Rows(path, encoding=encoding)
        headers, _data = rows.open()
    except FileError:
        path.unlink(missing_ok=True)
        raise
    return CallImport.objects.create(filename=filename[:200], path=str(path), encoding=rows.encoding,
                                     headers=headers, mapping=guess_mapping(headers),
                                     created_by=actor if getattr(actor, "is_authenticated", False) else None)


def mapping_errors(headers: list[str], mapping: dict[str, str]) -> list[str]:
    """Why a mapping cannot be used: a required field not mapped, a column the file does not have."""
    problems = [_("Choose the column for “%(field)s”.") % {"field": FIELDS[f].label}
                for f in REQUIRED if not mapping.get(f)]
    problems += [_("The file has no column “%(column)s”.") % {"column": name}
                 for f, name in mapping.items() if f in FIELDS and name and name not in headers]
    problems += [_("Unknown field “%(field)s”.") % {"field": f} for f in mapping if f not in FIELDS]
    return problems


def _check_mapping(headers: list[str], mapping: dict[str, str]) -> None:
    problems = mapping_errors(headers, mapping)
    if problems:
        raise DomainError(" ".join(problems), code="bad_mapping")


def _duplicate(first: int) -> str:
    return _("the same 110 call id as line %(line)d") % {"line": first}


@dataclass
class Preview:
    headers: list[str]
    columns: list = field(default_factory=list)  # the mapped fields' labels, in FIELDS order
    rows: list[dict] = field(default_factory=list)  # {"line", "values" or None, "cells" (as columns), "error"}


def import_preview(record: CallImport, mapping: dict[str, str] | None = None, *, size: int = PREVIEW_ROWS) -> Preview:
    """The first `size` rows as the mapping reads them, each with its values or the reason it is bad."""
    mapping = record.mapping if mapping is None else mapping
    headers, data = Rows(record.path, encoding=record.encoding).open()
    preview = Preview(headers)
    if mapping_errors(headers, mapping):
        return preview
    reader = RowReader(headers, mapping)
    shown = [f for f in FIELDS if mapping.get(f)]
    preview.columns = [FIELDS[f].label for f in shown]
    seen: dict[str, int] = {}
    for line, cells in data:
        try:
            values = reader.read(cells)
            first = seen.setdefault(values["call_id"], line)
            if first != line:
                raise RowError(_duplicate(first))
        except RowError as exc:
            preview.rows.append({"line": line, "values": None, "cells": [], "error": str(exc)})
        else:
            preview.rows.append({"line": line, "values": values, "cells": [values[f] for f in shown], "error": ""})
        if len(preview.rows) >= size:
            break
    return preview


def import_set_mapping(*, actor, record: CallImport, mapping: dict[str, str]) -> CallImport:
    _check(actor)
    mapping = {f: name for f, name in mapping.items() if name}
    _check_mapping(record.headers, mapping)
    record.mapping = mapping
    record.save(update_fields=["mapping"])
    return record


def import_queue(*, actor, record: CallImport) -> CallImport:
    """Start an import in the background: queued through the outbox with the status change."""
    _check(actor)
    _check_mapping(record.headers, record.mapping)
    with transaction.atomic():
        locked = CallImport.objects.select_for_update().get(pk=record.pk)
        if locked.status != CallImport.Status.UPLOADED:
            raise DomainError(_("This import was already started."), code="already_started")
        locked.status = CallImport.Status.QUEUED
        locked.save(update_fields=["status"])
        audit_write(actor=actor, action="calls_import_queued", obj=locked, data={"file": locked.filename})
        outbox_put("incidents.import_run", {"import": locked.pk}, key=f"import-run:{locked.pk}")
    return locked


# --- Progress ----------------------------------------------------------------------------------------------

def progress_key(pk: int) -> str:
    return f"call-import:{pk}"


def import_progress(record: CallImport) -> dict:
    """Rows read so far while the import runs (the transaction hides its own rows), else the record's."""
    if record.status == CallImport.Status.RUNNING:
        return cache.get(progress_key(record.pk)) or {"rows": 0, "bad": 0}
    return {"rows": record.rows, "bad": record.bad}


# --- The run -----------------------------------------------------------------------------------------------

@dataclass
class _Tally:
    rows: int = 0
    good: int = 0
    bad: int = 0
    errors: list = field(default_factory=list)

    def refuse(self, line: int, reason: str) -> None:
        self.bad += 1
        if len(self.errors) < settings.IMPORT_ERRORS_KEPT:
            self.errors.append([line, reason])


STAGING = ("line", "call_id", "received_at", "caller_phone", "caller_name", "caller_key", "address", "lat", "lon",
           "content", "is_police")


def import_run(*, actor, record: CallImport, progress=None) -> CallImport:
    """Import the file of `record` by its mapping. Returns the record, done (with counts and bad rows) or
    failed (nothing written, `failure` says why). `progress(rows, bad)` is called as the file is read."""
    _check(actor)
    started = CallImport.objects.filter(pk=record.pk, status__in=[CallImport.Status.UPLOADED,
                                                                   CallImport.Status.QUEUED])
    if not started.update(status=CallImport.Status.RUNNING):
        raise DomainError(_("This import was already run."), code="already_run")
    record.refresh_from_db()

    def report(tally):
        cache.set(progress_key(record.pk), {"rows": tally.rows, "bad": tally.bad}, 3600)
        if progress is not None:
            progress(tally.rows, tally.bad)

    tally = _Tally()
    try:
        headers, data = Rows(record.path, encoding=record.encoding).open()
        _check_mapping(headers, record.mapping)
        reader = RowReader(headers, record.mapping)
        with transaction.atomic():
            load = _load_postgres if connection.vendor == "postgresql" else _load_batches
            inserted, first_id, last_id = load(reader, data, tally, report, actor)
            tally.errors.sort()
            record.status = CallImport.Status.DONE
            record.rows, record.imported, record.bad = tally.rows, inserted, tally.bad
            record.existing = tally.good - inserted
            record.errors, record.first_id, record.last_id = tally.errors, first_id, last_id
            record.finished_at = timezone.now()
            record.save()
            audit_write(actor=actor, action="calls_import", obj=record,
                        data={"file": record.filename, "rows": record.rows, "imported": inserted,
                              "existing": record.existing, "bad": record.bad})
            if inserted:
                outbox_put("incidents.import_follow_up", {"import": record.pk}, key=f"import-follow-up:{record.pk}")
    except (DomainError, UnicodeDecodeError) as exc:
        reason = exc.message if isinstance(exc, DomainError) else str(exc)
        CallImport.objects.filter(pk=record.pk).update(status=CallImport.Status.FAILED, failure=reason,
                                                       finished_at=timezone.now(), rows=tally.rows, bad=tally.bad)
        record.refresh_from_db()
        return record
    finally:
        cache.delete(progress_key(record.pk))
    Path(record.path).unlink(missing_ok=True)
    return record


def _good_rows(reader, data, tally, report):
    """(line, values) of each row the mapping reads; the others are counted and kept as bad. Reports progress
    every PROGRESS_EVERY rows and once at the end."""
    for line, cells in data:
        tally.rows += 1
        try:
            yield line, reader.read(cells)
        except RowError as exc:
            tally.refuse(line, str(exc))
        if tally.rows % PROGRESS_EVERY == 0:
            report(tally)
    report(tally)


def _history_values(actor) -> dict:
    return {"channel": Channel.PHONE, "status": CallStatus.CLOSED,
            "created_by_id": actor.pk if getattr(actor, "is_authenticated", False) else None}


def _load_postgres(reader, data, tally, report, actor) -> tuple[int, int | None, int | None]:
    """COPY the good rows into a staging table, refuse the file's own duplicates, insert the new calls."""
    fixed = _history_values(actor)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS call_import_rows")  # one left by an earlier import in this transaction
        cursor.execute("CREATE TEMPORARY TABLE call_import_rows (line integer, call_id text, received_at timestamptz, "
                       "caller_phone text, caller_name text, caller_key text, address text, lat double precision, "
                       "lon double precision, content text, is_police boolean) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY call_import_rows ({', '.join(STAGING)}) FROM STDIN") as copy:
            for line, v in _good_rows(reader, data, tally, report):
                tally.good += 1
                copy.write_row((line, v["call_id"], v["received_at"], v["caller_phone"], v["caller_name"],
                                v["caller_key"], v["address"], v["lat"], v["lon"], v["content"], v["is_police"]))
        read_at = time.monotonic()
        cursor.execute("DELETE FROM call_import_rows r USING (SELECT call_id, min(line) AS first FROM call_import_rows "
                       "GROUP BY call_id HAVING count(*) > 1) d WHERE r.call_id = d.call_id AND r.line > d.first "
                       "RETURNING r.line, d.first")
        for line, first in cursor.fetchall():
            tally.good -= 1
            tally.refuse(line, _duplicate(first))
        table = Call._meta.db_table
        cursor.execute(
            f"WITH added AS (INSERT INTO {table} (call_id, received_at, caller_phone, caller_name, caller_key, "
            "address, lat, lon, content, is_police, channel, status, created_by_id, created_at, suggestions, repeats, "
            "return_count, version) SELECT call_id, received_at, caller_phone, caller_name, caller_key, address, lat, "
            "lon, content, is_police, %s, %s, %s, now(), '{}', '{}', 0, 0 FROM call_import_rows "
            "ON CONFLICT (call_id) DO NOTHING RETURNING id) SELECT count(*), min(id), max(id) FROM added",
            [fixed["channel"], fixed["status"], fixed["created_by_id"]])
        added = cursor.fetchone()
        cursor.execute("DROP TABLE call_import_rows")
        log.info("import: %d rows read and staged in %.1f s, %d inserted in %.1f s", tally.rows, read_at - started,
                 added[0], time.monotonic() - read_at)
        return added


def _load_batches(reader, data, tally, report, actor, batch: int = 2000) -> tuple[int, int | None, int | None]:
    fixed = _history_values(actor)
    seen: dict[str, int] = {}
    pending: list[dict] = []
    inserted, ids = 0, []

    def flush():
        nonlocal inserted
        stored = set(Call.objects.filter(call_id__in=[v["call_id"] for v in pending])
                     .values_list("call_id", flat=True))
        new = [Call(**v, **fixed, suggestions={}, repeats={}) for v in pending if v["call_id"] not in stored]
        Call.objects.bulk_create(new)
        inserted += len(new)
        ids.extend(c.pk for c in new if c.pk is not None)
        pending.clear()

    for line, v in _good_rows(reader, data, tally, report):
        first = seen.setdefault(v["call_id"], line)
        if first != line:
            tally.refuse(line, _duplicate(first))
            continue
        tally.good += 1
        pending.append(v)
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return inserted, min(ids, default=None), max(ids, default=None)


# --- Follow-up: grids, suggestions, reviews ------------------------------------------------------------------

def import_follow_up(pk: int, *, batch: int = 2000) -> int:
    """Place the imported calls on their micro grids and give them the routing's suggestion, `batch` calls at
    a time (each batch its own transaction; a run cut short is finished by the next, which skips calls that
    already have a suggestion); then ask for the reviews of their days. Returns the calls done."""
    from diversion import routing
    from grids import spatial
    from incidents.review.services import review_backfill_queue
    from incidents.services import suggested_category_pk

    record = CallImport.objects.get(pk=pk)
    if record.first_id is None:
        return 0
    done, after = 0, record.first_id - 1
    while True:
        calls = list(Call.objects.filter(pk__gt=after, pk__lte=record.last_id, suggestions={})
                     .order_by("pk").only("pk", "content", "address", "lat", "lon", "micro_grid_id")[:batch])
        if not calls:
            break
        for call, suggestion in zip(calls, routing.suggest_many([c.content for c in calls]), strict=True):
            top = suggestion.top
            call.suggestions = suggestion.as_dict()
            call.suggested_police = suggestion.suggested_police
            call.suggested_category_id = suggested_category_pk(top.code) if top else None
            if call.micro_grid_id is None:
                grid, place = spatial.place(call.lat, call.lon, call.address)
                call.micro_grid_id = grid.pk if grid else None
                call.place_id = place.pk if place else None
        with transaction.atomic():
            Call.objects.bulk_update(calls, ["suggestions", "suggested_police", "suggested_category_id",
                                             "micro_grid_id", "place_id"], batch_size=500)
        done += len(calls)
        after = calls[-1].pk
    with transaction.atomic():
        CallImport.objects.filter(pk=pk).update(followed_up_at=timezone.now())
        review_backfill_queue(f"import-{pk}")
    return done
