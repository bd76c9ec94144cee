"""An export file streamed row by row: CSV in UTF-8 (with or without a byte-order mark) or GB18030 (what
spreadsheets in Chinese offices save), or the first sheet of an XLSX workbook. The first row names the
columns. Rows come with their line in the file (a spreadsheet's row number), so a bad one can be found."""

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from core.errors import DomainError

ENCODINGS = ("utf-8-sig", "gb18030")
SNIFF_BYTES = 1 << 20
csv.field_size_limit(1 << 20)


class FileError(DomainError):
    """The file as a whole cannot be read (encoding, format, no header): nothing is imported."""


def is_xlsx(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"  # a zip: the only workbook format we read


def detect_encoding(path: Path) -> str:
    """UTF-8 if the first megabyte decodes as UTF-8, else GB18030 if it decodes as that."""
    with open(path, "rb") as f:
        sample = f.read(SNIFF_BYTES)
    for encoding in ENCODINGS:
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileError(_("The file is neither UTF-8 nor GB18030 text; save it as CSV UTF-8 or as XLSX."),
                    code="bad_encoding")


class Rows:
    """An export file: `open()` gives its column names and then (line, cells) for each row with a cell filled."""

    def __init__(self, path, *, encoding: str = ""):
        self.path = Path(path)
        self.xlsx = is_xlsx(self.path)
        self.encoding = "" if self.xlsx else (encoding or detect_encoding(self.path))

    def open(self) -> tuple[list[str], Iterator[tuple[int, list]]]:
        source = self._xlsx() if self.xlsx else self._csv()
        first = next(source, None)
        if first is None:
            raise FileError(_("The file is empty."), code="empty_file")
        headers = [str(h).strip() if h is not None else "" for h in first[1]]
        if not any(headers):
            raise FileError(_("The first row must name the columns."), code="no_header")

        def data():
            for line, cells in source:
                if any(c is not None and c != "" for c in cells):
                    yield line, cells

        return headers, data()

    def _csv(self):
        try:
            with open(self.path, encoding=self.encoding, newline="") as f:
                reader = csv.reader(f)
                try:
                    for cells in reader:
                        yield reader.line_num, cells
                except csv.Error as exc:
                    raise FileError(_("Line %(line)d cannot be read as CSV (%(reason)s); nothing was imported.")
                                    % {"line": reader.line_num, "reason": exc}, code="bad_csv") from None
        except UnicodeDecodeError:
            raise FileError(_("The file is not valid %(encoding)s text after its first part; nothing was "
                              "imported. Save it again as CSV UTF-8 or as XLSX.") % {"encoding": self.encoding},
                            code="bad_encoding") from None
        except LookupError:
            raise FileError(_("Unknown encoding “%(encoding)s”.") % {"encoding": self.encoding},
                            code="bad_encoding") from None

    def _xlsx(self):
        from zipfile import BadZipFile

        from openpyxl import load_workbook

        try:
            book = load_workbook(self.path, read_only=True, data_only=True)
        except (BadZipFile, KeyError, OSError, ValueError):
            raise FileError(_("The file is not an XLSX workbook this can read."), code="bad_xlsx") from None
        try:
            sheet = book.worksheets[0]
            for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield line, list(cells)
        finally:
            book.close()
