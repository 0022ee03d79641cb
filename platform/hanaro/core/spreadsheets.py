"""Tables written for spreadsheets (CSV opened in Excel, XLSX): Korean text readable, and no
cell that a spreadsheet would run as a formula (CSV injection)."""
from __future__ import annotations

import csv
import io

UNSAFE_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(cell) -> str:
    """Typed text that would start a formula is written as text, prefixed with a quote."""
    cell = str(cell)
    return "'" + cell if cell.startswith(UNSAFE_START) else cell


def to_csv(table: list[list[str]]) -> bytes:
    """UTF-8 with a byte order mark, so Excel opens Korean text correctly."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(table: list[list[str]], sheet_title: str, widths: tuple[int, ...] | None = None) -> bytes:
    """Every cell stored as text (never a formula); the header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    sheet.freeze_panes = "A2"
    for index in range(len(table[0]) if table else 0):
        sheet.column_dimensions[get_column_letter(index + 1)].width = widths[index] if widths and index < len(widths) else 20
    for number, row in enumerate(table):
        cells = []
        for text in row:
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text))
            cell.data_type, cell.number_format = "s", "@"
            if number == 0:
                cell.font = Font(bold=True)
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
