"""Human labels for the keys stored in figures: one place for the pages, the Excel files and the PDFs.

Stored figures (reports, daily reviews) keep stable internal keys ("overdue_open", "supervision",
"previous_day", True). Whatever a person reads goes through here: `label(group, key)` for a key,
`percent(rate)` for a share 0–1, `yes_no(value)` for a boolean, and `xlsx_percent` for a rate written to a
spreadsheet (a number formatted as a percentage, so it still sums and sorts). Each app registers its groups
(its model choices, the names of its figures) when it loads (`register` in its AppConfig.ready), so core
depends on no app. The `label`, `pct` and `yes_no` template filters (core.templatetags.fenliu) are the
same functions."""

from django.utils.translation import gettext as _

_GROUPS: dict[str, dict] = {}

XLSX_PERCENT = "0.0%"


def register(group: str, labels) -> None:
    """Labels for one group of keys: a mapping key → (lazy) label, or a Django choices class."""
    if hasattr(labels, "choices"):
        labels = dict(labels.choices)
    _GROUPS.setdefault(group, {}).update({str(k): v for k, v in labels.items()})


def label(group: str, key) -> str:
    """The translated label of `key` in `group`. A key nobody registered is shown as it is, so a figure is
    never lost; tests/core/test_labels.py reads the exports back and finds none."""
    found = _GROUPS.get(group, {}).get(str(key))
    return str(found) if found is not None else str(key)


def labels(group: str) -> dict[str, str]:
    return {key: str(value) for key, value in _GROUPS.get(group, {}).items()}


def percent(rate, digits: int = 0) -> str:
    """A share (0–1) as a percentage; None (nothing to measure) as a dash."""
    if rate is None or rate == "":
        return "—"
    return f"{float(rate) * 100:.{int(digits)}f}%"


def yes_no(value) -> str:
    """是/否 (Yes/No); None (not asked, not known) as a dash."""
    if value is None or value == "":
        return "—"
    return _("Yes") if value else _("No")


def xlsx_percent(cell) -> None:
    """Format a spreadsheet cell holding a share 0–1 as a percentage."""
    cell.number_format = XLSX_PERCENT
