"""Spreadsheet exports (Excel, CSV): every cell a user's text can reach is written as text, never as a
formula. A call content such as `=HYPERLINK("http://x","点此查看")` must not become a live link or a
command when a supervisor opens the file (CSV/formula injection, OWASP)."""

from io import BytesIO

# A cell starting with one of these is a formula (or becomes one) in Excel, LibreOffice and WPS.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value):
    """A CSV cell that a spreadsheet program shows as text: a formula-leading string gets a leading
    apostrophe (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def csv_row(row: dict) -> dict:
    return {key: csv_cell(value) for key, value in row.items()}


def xlsx_bytes(wb) -> bytes:
    """Save an openpyxl workbook after turning every formula cell into a text cell. We never write
    formulas on purpose, so any formula came from data (openpyxl reads a string starting with "=" as one).
    The cell keeps the text as typed; Excel's quote prefix keeps it text if someone edits it."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(FORMULA_LEADS)):
                    cell.data_type = "s"
                    cell.quotePrefix = True
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
