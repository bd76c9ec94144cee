"""The daily review as an Excel workbook (openpyxl) and a PDF (WeasyPrint, with a CJK font embedded so
Chinese renders: settings.REVIEW_PDF_FONT, Debian's fonts-wqy-microhei by default)."""

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import xlsx_bytes
from core.labels import label, xlsx_percent

from ..models import DailyReview
from .presenters import WEEKDAYS, name_of, review_context


def _rates(ws, columns) -> None:
    """Show the last row's cells in these columns (1-based) as percentages (core.labels.xlsx_percent): the
    stored shares 0–1 stay numbers a supervisor can sum and sort."""
    for column in columns:
        cell = ws.cell(row=ws.max_row, column=column)
        if isinstance(cell.value, int | float):
            xlsx_percent(cell)


def review_xlsx(review: DailyReview) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    d = review.data
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")[:31]
    scope = review.grid.code + " " + review.grid.name if review.grid_id else _("Whole city")
    ws.append([_("Daily incident review"), review.date.isoformat(), scope])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("Built at"), timezone.localtime(review.built_at).strftime("%Y-%m-%d %H:%M")])
    for name, value in [
        (_("Calls"), d["totals"]["calls"]), (_("Police"), d["totals"]["police"]),
        (_("Non-police"), d["totals"]["non_police"]), (_("Diverted"), d["slips"]["diverted"]),
        (_("Accepted"), d["slips"]["accepted"]), (_("Completed"), d["slips"]["completed"]),
        (_("Overdue"), d["slips"]["overdue"]), (_("Returned"), d["slips"]["returned"]),
        (_("Reopened"), d["slips"]["reopened"]), (_("Resolution rate"), d["slips"]["resolution_rate"]),
        (_("Satisfaction"), d["slips"]["satisfaction"]), (_("Notices raised"), d["notices"]["total"]),
        (_("Repeat callers"), d["repeat_counts"]["callers"]), (_("Clusters"), len(d["clusters"])),
        (_("Hotspots (day)"), d["hotspot_counts"]["day"]), (_("Hotspots (7 days)"), d["hotspot_counts"]["week"]),
        (_("Hotspots (30 days)"), d["hotspot_counts"]["month"]),
    ]:
        ws.append([name, "—" if value is None else value])
        if name in (_("Resolution rate"), _("Satisfaction")):
            _rates(ws, [2])
    ws.append([])
    ws.append([_("Compared with"), _("Date"), _("Calls"), _("Change"), _("Non-police"), _("Change")])
    for key, c in d["compare"].items():
        ws.append([label("compare", key), c["date"], c["calls"], c["change_calls"], c["non_police"],
                   c["change_non_police"]])
        _rates(ws, [4, 6])

    def sheet(title, header, rows, rates=()):
        s = wb.create_sheet(title[:31])
        s.append(header)
        for cell in s[1]:
            cell.font = Font(bold=True)
        for r in rows:
            s.append(r)
            _rates(s, rates)

    sheet(_("Groups"), [_("Code"), _("Group"), _("Calls"), _("Police")],
          [[g["code"], name_of(g), g["calls"], g["police"]] for g in d["groups"]])
    sheet(_("Sub-categories"), [_("Code"), _("Sub-category"), _("Calls"), _("Police")],
          [[c["code"], name_of(c), c["calls"], c["police"]] for c in d["categories"]])
    sheet(_("Repeat callers"), [_("Phone"), _("On the day"), _("In the week"), _("Calls")],
          [[r["phone"] or _("(anonymised)"), r["today"], r["week"],
            "; ".join(f"{c['at']} {c['call_id']} {c['category']}" for c in r["calls"])] for r in d["repeats"]])
    sheet(_("Clusters"), [_("Micro grid"), _("Sub-category"), _("Calls"), _("From"), _("To")],
          [[f"{c['micro_code']} {c['micro_name']}", name_of(c["category"]), c["calls"], c["first"], c["last"]]
           for c in d["clusters"]])
    sheet(_("Hotspots"), [_("Window"), _("Micro grid"), _("Non-police calls"), _("Window before"), _("Trend")],
          [[label("window", w), f"{h['code']} {h['name']}", h["calls"], h["before"], label("trend", h["trend"])]
           for w, rows in d["hotspots"].items() for h in rows])
    groups = [name_of(g) for g in d["heat_grid"]["groups"]]
    sheet(_("Grid heat"), [_("Grid"), _("Total"), *groups],
          [[f"{r['code']} {r['name']}".strip() or _("not placed"), r["total"], *r["cells"]]
           for r in d["heat_grid"]["rows"]])
    sheet(_("Hour x weekday"), [_("Weekday"), *range(24)],
          [[str(WEEKDAYS[i]), *row] for i, row in enumerate(d["heat_hour_weekday"])])
    sheet(_("Departments"), [_("Code"), _("Department"), _("Slips"), _("On-time acceptance"),
                             _("On-time completion"), _("Overdue"), _("Returned"), _("Reopened")],
          [[r["code"], name_of(r), r["slips"], r["on_time_accept"], r["on_time_complete"],
            r["overdue"], r["returned"], r["reopened"]] for r in d["departments"]], rates=(4, 5))
    return xlsx_bytes(wb)


def review_pdf(review: DailyReview, *, request=None) -> bytes:
    from weasyprint import HTML

    font = Path(settings.REVIEW_PDF_FONT)
    html = render_to_string("review/pdf.html",
                            {**review_context(review), "font_url": font.as_uri() if font.exists() else ""},
                            request=request)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
