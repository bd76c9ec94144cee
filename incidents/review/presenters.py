"""The daily review as people read it: the stored figures shaped for the dashboard and the PDF, with a
drill-down link on every figure and the charts drawn. Used by the views and the exports alike."""

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from core.labels import label, labels

from ..models import DailyReview
from . import charts

HOTSPOTS_SHOWN = 20  # per window on the dashboard and in the PDF; the Excel file has the stored list
WEEKDAYS = [gettext_lazy("Mon"), gettext_lazy("Tue"), gettext_lazy("Wed"), gettext_lazy("Thu"), gettext_lazy("Fri"),
            gettext_lazy("Sat"), gettext_lazy("Sun")]

COMPARE_LABELS = [("previous_day", gettext_lazy("Previous day")), ("last_week", gettext_lazy("Same day last week")),
                  ("last_year", gettext_lazy("Same day last year"))]
WINDOW_LABELS = [("day", gettext_lazy("Day")), ("week", gettext_lazy("7 days")), ("month", gettext_lazy("30 days"))]
TREND_LABELS = {"up": gettext_lazy("Rising"), "down": gettext_lazy("Falling"), "flat": gettext_lazy("Steady")}


def name_of(d: dict) -> str:
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

    groups = [{**g, "label": name_of(g), "url": url(f"group:{g['id'] or 'none'}")} for g in d["groups"]]
    categories = [{**c, "label": name_of(c), "url": url(f"cat:{c['id'] or 'none'}")} for c in d["categories"]]
    departments = [{**r, "label": name_of(r), "url": url(f"dept:{r['id']}")} for r in d["departments"]]
    hotspots = {w: [{**h, "url": url(f"hotspot:{w}:{h['grid_id']}"),
                     "before_url": url(f"hotspot_before:{w}:{h['grid_id']}")} for h in rows[:HOTSPOTS_SHOWN]]
                for w, rows in d["hotspots"].items()}
    heat_groups = [name_of(g) for g in d["heat_grid"]["groups"]]
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
        "clusters": [{**c, "label": name_of(c["category"]), "url": url(f"cluster:{i}")}
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


def _find(rows, id_key: str, value: str):
    return next((r for r in rows if str(r.get(id_key)) == value), None)


def figure_title(key: str, data: dict | None) -> str:
    """The drill-down page's heading for a figure key (incidents.review.selectors.review_calls): what the
    figure counts, in words, with the names from the stored review. Never the key itself."""
    d = data or {}
    kind, _sep, arg = key.partition(":")
    simple = {"calls": _("All calls of the day"), "police": _("Police calls"),
              "non_police": _("Non-police calls"), "slips": _("Calls diverted on a slip")}
    if key in simple:
        return simple[key]
    if kind == "slips" and arg in labels("slip_totals"):  # registered by diversion (core.labels)
        return label("slip_totals", arg)
    if kind in ("group", "cat"):
        row = _find(d.get("groups" if kind == "group" else "categories", []), "id", "None" if arg == "none" else arg)
        name = name_of(row) if row else "—"
        return (_("Group: %(name)s") if kind == "group" else _("Sub-category: %(name)s")) % {"name": name}
    if kind == "hour":
        return _("Calls received %(h)s:00–%(h)s:59") % {"h": arg}
    if kind == "dept":
        row = _find(d.get("departments", []), "id", arg)
        return _("Slips to %(name)s") % {"name": name_of(row) if row else "—"}
    if kind == "micro":
        return _("Calls in micro grid %(id)s") % {"id": arg}
    if kind == "heat":
        grid, _sep, group = arg.partition(":")
        row = _find(d.get("heat_grid", {}).get("rows", []), "grid_id", grid)
        grp = _find(d.get("heat_grid", {}).get("groups", []), "id", "None" if group == "none" else group)
        return _("%(grid)s · %(group)s") % {"grid": f"{row['code']} {row['name']}".strip() if row else "—",
                                            "group": name_of(grp) if grp else "—"}
    if kind in ("hotspot", "hotspot_before"):
        window, _sep, micro = arg.partition(":")
        row = _find(d.get("hotspots", {}).get(window, []), "grid_id", micro)
        place = f"{row['code']} {row['name']}" if row else micro
        span = label("window", window)
        if kind == "hotspot":
            return _("Hotspot %(place)s: non-police calls in the last %(span)s") % {"place": place, "span": span}
        return _("Hotspot %(place)s: non-police calls in the %(span)s before") % {"place": place, "span": span}
    if kind == "repeat":
        return _("Repeat caller no. %(n)s") % {"n": int(arg) + 1 if arg.isdigit() else arg}
    if kind == "cluster":
        items = d.get("clusters", [])
        c = items[int(arg)] if arg.isdigit() and int(arg) < len(items) else None
        if c:
            return _("Cluster: %(category)s in %(place)s") % {"category": name_of(c["category"]),
                                                              "place": f"{c['micro_code']} {c['micro_name']}"}
        return _("Cluster")
    return _("Calls behind the figure")
