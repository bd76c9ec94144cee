"""Server-rendered SVG charts for the daily review (no chart library, nothing from a CDN). Every bar and
cell links to the drill-down of the calls behind it."""

from django.utils.html import escape
from django.utils.safestring import mark_safe


def bar_chart(items: list[tuple[str, int, str]], *, width: int = 640, bar: int = 18, label_width: int = 150,
              title: str = "") -> str:
    """Horizontal bars: items are (label, value, href)."""
    top = max((v for _, v, _ in items), default=0) or 1
    height = bar * len(items) + 8
    room = width - label_width - 50
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for i, (label, value, href) in enumerate(items):
        y = 4 + i * bar
        w = round(room * value / top, 1)
        parts.append(
            f'<a href="{escape(href)}"><text x="{label_width - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end" '
            f'font-size="12">{escape(label)}</text><rect x="{label_width}" y="{y + 2}" width="{w}" '
            f'height="{bar - 4}" fill="#2171b5"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{label_width + w + 4}" y="{y + bar * 0.7:.1f}" font-size="12">{value}</text></a>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def column_chart(values: list[int], hrefs: list[str], labels: list[str], *, width: int = 640, height: int = 160,
                 title: str = "") -> str:
    """Vertical columns, e.g. calls by hour of day."""
    top = max(values, default=0) or 1
    n = len(values) or 1
    step = (width - 20) / n
    plot = height - 30
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for i, (v, href, label) in enumerate(zip(values, hrefs, labels, strict=True)):
        h = round(plot * v / top, 1)
        x = 10 + i * step
        parts.append(
            f'<a href="{escape(href)}"><rect x="{x + 1:.1f}" y="{plot - h + 10:.1f}" width="{step - 2:.1f}" '
            f'height="{h}" fill="#2171b5"><title>{escape(label)}: {v}</title></rect>'
            f'<text x="{x + step / 2:.1f}" y="{height - 6}" font-size="10" text-anchor="middle">{escape(label)}'
            f'</text></a>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308


RAMP = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"]


def heat_matrix(matrix: list[list[int]], row_labels: list[str], col_labels: list[str], *, cell: int = 22,
                label_width: int = 60, title: str = "") -> str:
    """A heat map: rows × columns of counts, shaded by the largest."""
    top = max((v for row in matrix for v in row), default=0) or 1
    width = label_width + cell * len(col_labels) + 4
    height = 20 + cell * len(row_labels) + 4
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    for j, label in enumerate(col_labels):
        parts.append(f'<text x="{label_width + j * cell + cell / 2}" y="14" font-size="10" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for i, (label, row) in enumerate(zip(row_labels, matrix, strict=True)):
        y = 20 + i * cell
        parts.append(f'<text x="{label_width - 4}" y="{y + cell * 0.7:.1f}" font-size="11" '
                     f'text-anchor="end">{escape(label)}</text>')
        for j, v in enumerate(row):
            shade = RAMP[0] if not v else RAMP[min(len(RAMP) - 1, 1 + int((len(RAMP) - 2) * v / top))]
            parts.append(f'<rect x="{label_width + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                         f'fill="{shade}"><title>{escape(label)} {escape(col_labels[j])}: {v}</title></rect>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308
