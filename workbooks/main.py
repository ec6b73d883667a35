"""xlcrm in xlwings Lite: Python inside Excel, with nothing installed on the computer.

Paste this file into the main.py tab of the xlwings Lite add-in and, in its requirements.txt
tab, add xlcrm (the address of an xlcrm wheel, for example one built with `pip wheel ./xlcrm`
and published where the add-in can fetch it). Each function below then appears as a script
to run from the add-in's task pane, on the workbook that is open.

They are the same functions as the buttons of the macro workbook (`xlcrm macros`) and as the
command line. What differs in xlwings Lite (Python runs in the browser, through Pyodide):

- the workbook is read with openpyxl instead of python-calamine (which has no browser build),
  one sheet after the other: slower on big workbooks (Pyodide also caps memory at 2 GB);
- the weekly report and the lead import are not offered: the browser's files are not the
  computer's files, so a report written there could not be opened, nor a CSV read;
- e-mail can't be sent (no network connections besides web requests).
"""

import xlwings as xw
from xlwings import script

from xlcrm import macros


@script
def weekly_update(book: xw.Book) -> None:
    """Count the week: rewrite Tally, Baseline, Funnel, Dashboard and Stage history."""
    macros.weekly_update(book)


@script
def agenda_tomorrow(book: xw.Book) -> None:
    """Fill the Agenda sheet with each salesperson's plan for tomorrow."""
    macros.agenda_tomorrow(book)


@script
def check_data(book: xw.Book) -> None:
    """List every problem in the data sheets, each as Sheet!Cell: what is wrong."""
    macros.check_data(book)
