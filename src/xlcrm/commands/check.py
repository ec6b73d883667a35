"""Check a CRM workbook and report every problem in one run: the library twin of ``xlcrm check``.

Reading problems (a header missing, a date that isn't one) come from :func:`xlcrm.load`; the
checks across records (required values, values outside the Settings lists, future dates,
duplicate ids, dangling links, hierarchy loops) come from :func:`xlcrm.metrics.validation.validate`.
This module reads the workbook, runs both and returns them together, sorted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from ..issues import Issue, sort_issues
from ..metrics.validation import validate
from ..read import bulk_work, load
from ..reporting.words import report_text
from ..sheets.words import owned_text, owned_text_of
from ..xlsx.crypto import with_password

__all__ = ["CheckResult", "check"]


@dataclass
class CheckResult:
    """What ``check`` found: the issues, sorted by sheet, row and column."""

    path: Path
    issues: list[Issue]
    records: dict[str, int]
    #: the workbook's language (its locale code), for the summary's words and numbers
    locale: str = "en"

    @property
    def errors(self) -> int:
        """How many issues are errors."""
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        """How many issues are warnings."""
        return sum(1 for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return self.errors == 0

    def summary(self) -> str:
        """One line: clean, or how many errors and warnings (in the workbook's language)."""
        words, numbers = owned_text_of(self.locale), report_text(self.locale)
        counted = ", ".join(f"{numbers.count(n)} {sheet}" for sheet, n in self.records.items())
        if not self.issues:
            return words.get("check_clean", file=self.path.name, counted=counted)
        return words.get("check_found", file=self.path.name, counted=counted,
                         errors=numbers.count(self.errors),
                         error_word=words.plural("word_error", self.errors),
                         warnings=numbers.count(self.warnings),
                         warning_word=words.plural("word_warning", self.warnings))

    def to_json(self) -> str:
        """The result as JSON: file, counts and every issue with sheet, cell and message."""
        return json.dumps({"file": str(self.path), "errors": self.errors,
                           "warnings": self.warnings, "records": self.records,
                           "issues": [i.to_dict() for i in self.issues]},
                          ensure_ascii=False, indent=2)


@with_password
def check(path: str | Path, *, today: dt.date | None = None,
          password: str | None = None) -> CheckResult:
    """Read the workbook at ``path`` and check it; return every problem found.

    Args:
        path: the CRM workbook.
        today: the day against which future dates are judged (default: today).
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Raises:
        UnreadableWorkbookError: the file can't be read at all (not a workbook, encrypted,
            damaged, a zip or XML bomb).
    """
    with bulk_work():  # a check of 100k rows makes millions of small values, no cycles
        crm = load(path)
        crm.require_xlcrm()  # a team's own sheets read as xlcrm's give only false alarms
        # the findings in the workbook's language
        issues = list(crm.issues) + validate(crm, today=today,
                                             words=owned_text(crm.schema).words)
    order = list(crm.sheet_names.values())
    records = {crm.sheet_names.get(s.key, s.name): len(crm.tables[s.key])
               for s in crm.schema.data_sheets if s.key in crm.sheet_names}
    return CheckResult(crm.path, sort_issues(issues, order), records,
                       locale=crm.schema.locale.code)
