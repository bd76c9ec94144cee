"""The daily review as people read it: the stored figures shaped for the dashboard and the PDF, with a
drill-down link on every figure and the charts drawn. Used by the views and the exports alike."""

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from ..models import DailyReview
from . import charts

HOTSPOTS_SHOWN = 20  # per window on the dashboard and in the PDF; the Excel file has the stored list
WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"), gettext_lazy("Fri"),
            gettext_lazy("Sat"), gettext_lazy("Sun")]

COMPARE_LABELS = [("previous_day", gettext_lazy("Previous day")), ("last_week", gettext_lazy("Same day last week")),
                  ("last_year", gettext_lazy("Same day last year"))]
WINDOW_LABELS = [("day", gettext_lazy("Day")), ("week", gettext_lazy("7 days")), ("month", gettext_lazy("30 days"))]


def _name(d: dict) -> str:
    if d.get("id") is None and not d.get("code"):
        return d.get("name_en" if (get_language() or "").startswith("en") else "name_zh") or "—"
    return d["name_en"] if (get_language() or "").startswith("en") else d["name_zh"]


def drill_url(day: date, scope: str, key: str) -> str:
    return f"{reverse('review-calls')}?{urlencode({'date': day.isoformat(), 'scope': scope, 'key': key})}"


def review_context(review: DailyReview) -> dict:
    """Everything the dashboard and the PDF show, from the stored figures alone."""
    d, day, scope = review.data, review.date, review.scope

    def url(key):
        return drill_url(day, scope, key)

    groups = [{**g, "label": _name(g), "url": url(f"group:{g['id'] or 'none'}")} for g in d["groups"]]
    categories = [{**c, "label": _name(c), "url": url(f"cat:{c['id'] or 'none'}")} for c in d["categories"]]
    departments = [{**r, "label": _name(r), "url": url(f"dept:{r['id']}")} for r in d["departments"]]
    hotspots = {w: [{**h, "url": url(f"hotspot:{w}:{h['grid_id']}"),
                     "before_url": url(f"hotspot_before:{w}:{h['grid_id']}")} for h in rows[:HOTSPOTS_SHOWN]]
                for w, rows in d["hotspots"].items()}
    heat_groups = [_name(g) for g in d["heat_grid"]["groups"]]
    heat_rows = [{**r, "cells": [{"n": n, "url": url(f"heat:{r['grid_id']}:{g['id'] or 'none'}")
                                  if r["grid_id"] else ""}
                                 for n, g in zip(r["cells"], d["heat_grid"]["groups"], strict=True)]}
                 for r in d["heat_grid"]["rows"]]
    return {
        "review": review, "d": d, "day": day, "scope": scope,
        "groups": groups, "categories": categories, "departments": departments, "hotspots": hotspots,
        "heat_groups": heat_groups, "heat_rows": heat_rows,
        "compare_rows": [(label, d["compare"][k]) for k, label in COMPARE_LABELS],
        "hotspot_rows": [(label, hotspots[k], d["hotspot_counts"][k]) for k, label in WINDOW_LABELS],
        "repeats": [{**r, "url": url(f"repeat:{i}")} for i, r in enumerate(d["repeats"])],
        "clusters": [{**c, "label": _name(c["category"]), "url": url(f"cluster:{i}")}
                     for i, c in enumerate(d["clusters"])],
        "urls": {k: url(k) for k in ("calls", "police", "non_police", "slips")}
        | {f"slips_{k}": url(f"slips:{k}") for k in ("accepted", "completed", "overdue", "returned", "reopened")},
        "group_chart": charts.bar_chart([(g["label"], g["calls"], g["url"]) for g in groups],
                                        title=_("Calls by group")),
        "hour_chart": charts.column_chart(d["by_hour"], [url(f"hour:{h}") for h in range(24)],
                                          [str(h) for h in range(24)], title=_("Calls by hour of day")),
        "weekday_heat": charts.heat_matrix(d["heat_hour_weekday"], [str(w) for w in WEEKDAYS],
                                           [str(h) for h in range(24)], title=_("Calls by weekday and hour")),
    }
