"""Keyset pages for the long lists in the browser (issue 42): a page is the rows after the last one shown, in
the list's own order, read from an index that has that order; no OFFSET and no count of what lies beyond,
so a page costs the same on the first day as after years of history. A list's counts are bounded the same
way (`bounded_count`: "999+" rather than a scan of history).

A position is an opaque token in the page's link (`?after=`): the last row's values of the order fields,
the last being the primary key so that rows sharing a time never fall between pages."""

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

COUNT_CAP = 999


@dataclass
class KeysetPage:
    rows: list
    after: str | None  # the token of the next page, None on the last one
    first: bool  # no `after` was given (or it could not be read): the list from its start


def _encode(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str, fields: list[str], model) -> list | None:
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(fields):
        return None
    decoded = []
    for name, value in zip(fields, values, strict=True):
        field = model._meta.pk if name in ("pk", "id") else model._meta.get_field(name)
        if field.get_internal_type() == "DateTimeField":
            value = parse_datetime(value) if isinstance(value, str) else None
            if value is None or value.tzinfo is None:
                return None
        elif not isinstance(value, int) or isinstance(value, bool):
            return None
        decoded.append(value)
    return decoded


def _after(fields: list[str], values: list, descending: bool) -> Q:
    """Rows after `values` in the order: (a, b, id) > (x, y, z), written so the leading field bounds the
    index scan (a >= x) and the rest breaks the tie."""
    op = "lt" if descending else "gt"
    strictly = Q()
    for i, name in enumerate(fields):
        equal = {earlier: value for earlier, value in zip(fields[:i], values[:i], strict=True)}
        strictly |= Q(**equal, **{f"{name}__{op}": values[i]})
    lead = Q(**{f"{fields[0]}__{op}e": values[0]})
    return lead & strictly


def keyset_page(queryset: QuerySet, order: tuple[str, ...], after: str | None, size: int) -> KeysetPage:
    """One page of `queryset` in `order` (all ascending or all descending, the primary key last), after the
    position `after` (a token from an earlier page; unreadable: the first page)."""
    descending = order[0].startswith("-")
    fields = [name.lstrip("-") for name in order]
    values = _decode(after, fields, queryset.model) if after else None
    if values is not None:
        queryset = queryset.filter(_after(fields, values, descending))
    rows = list(queryset.order_by(*order)[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows=rows, after=position(rows[-1], order) if more else None, first=values is None)


def position(row, order: tuple[str, ...]) -> str:
    """The token of the position just after `row` in `order`."""
    return _encode([getattr(row, name.lstrip("-")) for name in order])


def bounded_count(queryset: QuerySet) -> int:
    """How many rows, counting no further than COUNT_CAP + 1: a figure past the cap reads "999+"
    (`count_label`)."""
    return queryset.order_by().values("pk")[:COUNT_CAP + 1].count()


def count_label(n: int) -> str:
    return f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)
