"""The daily review as an Excel workbook (openpyxl) and a PDF (WeasyPrint, with a CJK font embedded so
Chinese renders: settings.REVIEW_PDF_FONT, Debian's fonts-wqy-microhei by default)."""

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import xlsx_bytes
from core.labels import label

from ..models import DailyReview
from .presenters import WEEKDAYS, review_context


def _pct(rate):
    return None if rate is None else round(100 * rate, 1)


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
        (_("Reopened"), d["slips"]["reopened"]), (_("Resolution rate (%)"), _pct(d["slips"]["resolution_rate"])),
        (_("Satisfaction (%)"), _pct(d["slips"]["satisfaction"])), (_("Notices raised"), d["notices"]["total"]),
        (_("Repeat callers"), d["repeat_counts"]["callers"]), (_("Clusters"), len(d["clusters"])),
        (_("Hotspots (day)"), d["hotspot_counts"]["day"]), (_("Hotspots (7 days)"), d["hotspot_counts"]["week"]),
        (_("Hotspots (30 days)"), d["hotspot_counts"]["month"]),
    ]:
        ws.append([name, value])
    ws.append([])
    ws.append([_("Compared with"), _("Date"), _("Calls"), _("Change (%)"), _("Non-police"), _("Change (%)")])
    for key, c in d["compare"].items():
        ws.append([label("compare", key), c["date"], c["calls"], _pct(c["change_calls"]), c["non_police"],
                   _pct(c["change_non_police"])])

    def sheet(title, header, rows):
        s = wb.create_sheet(title[:31])
        s.append(header)
        for cell in s[1]:
            cell.font = Font(bold=True)
        for r in rows:
            s.append(r)

    sheet(_("Groups"), [_("Code"), _("Group"), _("Calls"), _("Police")],
          [[g["code"], g["name_zh"], g["calls"], g["police"]] for g in d["groups"]])
    sheet(_("Sub-categories"), [_("Code"), _("Sub-category"), _("Calls"), _("Police")],
          [[c["code"], c["name_zh"], c["calls"], c["police"]] for c in d["categories"]])
    sheet(_("Repeat callers"), [_("Phone"), _("On the day"), _("In the week"), _("Calls")],
          [[r["phone"] or _("(anonymised)"), r["today"], r["week"],
            "; ".join(f"{c['at']} {c['call_id']} {c['category']}" for c in r["calls"])] for r in d["repeats"]])
    sheet(_("Clusters"), [_("Micro grid"), _("Sub-category"), _("Calls"), _("From"), _("To")],
          [[f"{c['micro_code']} {c['micro_name']}", c["category"]["name_zh"], c["calls"], c["first"], c["last"]]
           for c in d["clusters"]])
    sheet(_("Hotspots"), [_("Window"), _("Micro grid"), _("Non-police calls"), _("Window before"), _("Trend")],
          [[label("window", w), f"{h['code']} {h['name']}", h["calls"], h["before"], label("trend", h["trend"])]
           for w, rows in d["hotspots"].items() for h in rows])
    groups = [g["name_zh"] for g in d["heat_grid"]["groups"]]
    sheet(_("Grid heat"), [_("Grid"), _("Total"), *groups],
          [[f"{r['code']} {r['name']}".strip() or _("not placed"), r["total"], *r["cells"]]
           for r in d["heat_grid"]["rows"]])
    sheet(_("Hour x weekday"), [_("Weekday"), *range(24)],
          [[str(WEEKDAYS[i]), *row] for i, row in enumerate(d["heat_hour_weekday"])])
    sheet(_("Departments"), [_("Code"), _("Department"), _("Slips"), _("On-time acceptance (%)"),
                             _("On-time completion (%)"), _("Overdue"), _("Returned"), _("Reopened")],
          [[r["code"], r["name_zh"], r["slips"], _pct(r["on_time_accept"]), _pct(r["on_time_complete"]),
            r["overdue"], r["returned"], r["reopened"]] for r in d["departments"]])
    return xlsx_bytes(wb)


def review_pdf(review: DailyReview, *, request=None) -> bytes:
    from weasyprint import HTML

    font = Path(settings.REVIEW_PDF_FONT)
    html = render_to_string("review/pdf.html",
                            {**review_context(review), "font_url": font.as_uri() if font.exists() else ""},
                            request=request)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
