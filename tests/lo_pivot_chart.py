"""Give a workbook a pivot table and a chart the way a person would: in LibreOffice.

Run with the system Python that has LibreOffice's ``uno`` module (Debian: python3-uno):

    /usr/bin/python3 tests/lo_pivot_chart.py IN.xlsx OUT.xlsx SHEET [PROFILE]

It starts LibreOffice headless with a throwaway profile (or the folder PROFILE, the test
session's, which LibreOffice has set up already), adds a sheet "Team pivot" holding a
pivot table (records per value of the sheet's seventh column) and a chart of it, and saves the
result as an Excel workbook.
"""

from __future__ import annotations

import sys
from typing import Any

import uno  # type: ignore[import-not-found]
from com.sun.star.awt import Rectangle  # type: ignore[import-not-found]
from com.sun.star.table import CellRangeAddress  # type: ignore[import-not-found]

from lo_bridge import edit_in_office


def main(src: str, out: str, sheet_name: str, given: str | None = None) -> None:
    def change(doc: Any) -> None:
        sheets = doc.Sheets
        data = sheets.getByName(sheet_name)
        cursor = data.createCursor()
        cursor.gotoEndOfUsedArea(False)
        end = cursor.RangeAddress
        names = list(sheets.ElementNames)
        sheets.insertNewByName("Team pivot", len(names))
        target = sheets.getByName("Team pivot")
        index = list(sheets.ElementNames).index("Team pivot")
        tables = target.getDataPilotTables()
        desc = tables.createDataPilotDescriptor()
        source = CellRangeAddress()
        source.Sheet, source.StartColumn, source.StartRow = names.index(sheet_name), 0, 0
        source.EndColumn, source.EndRow = end.EndColumn, end.EndRow
        desc.setSourceRange(source)
        fields = desc.getDataPilotFields()
        fields.getByIndex(6).Orientation = uno.Enum(
            "com.sun.star.sheet.DataPilotFieldOrientation", "ROW")
        counted = fields.getByIndex(0)
        counted.Orientation = uno.Enum("com.sun.star.sheet.DataPilotFieldOrientation", "DATA")
        counted.Function = uno.Enum("com.sun.star.sheet.GeneralFunction", "COUNT")
        tables.insertNewByName("RecordsByValue", target.getCellByPosition(0, 0).CellAddress,
                               desc)
        chart_range = CellRangeAddress()
        chart_range.Sheet, chart_range.StartColumn, chart_range.StartRow = index, 0, 1
        chart_range.EndColumn, chart_range.EndRow = 1, 6
        box = Rectangle()
        box.X, box.Y, box.Width, box.Height = 9000, 500, 14000, 8000
        target.Charts.addNewByName("RecordsChart", box, (chart_range,), True, True)

    edit_in_office(src, out, change, given)


if __name__ == "__main__":
    main(*sys.argv[1:5])
