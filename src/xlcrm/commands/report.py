"""The weekly report: the library twin of ``xlcrm report``.

One week's numbers (:func:`~xlcrm.reporting.data.weekly_report`) go into a report workbook with
native charts, an HTML page rendered from jinja2 templates, optionally a PDF (LibreOffice) and an
e-mail (a MIME message saved as ``.eml``, or sent through SMTP).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ReportError
from ..forked import Beside
from ..metrics.quality import find_groups, find_problems
from ..metrics.tally import week_start
from ..metrics.validation import validate
from ..read import bulk_work, load
from ..reporting.data import (
    QualityInput,
    WeeklyReport,
    parse_week,
    report_week,
    weekly_report,
)
from ..reporting.html import SECTION_TITLES, render_mail, render_report
from ..reporting.mail import PASSWORD_VARIABLE, SmtpSettings, build_message, send
from ..reporting.workbook import write_report_workbook
from ..sheets.words import owned_text
from ..week import OWNED_READ, compute_week
from ..xlsx.crypto import decrypt_bytes, encrypt_pdf, with_password
from ..xlsx.crypto import has_memory_folder as can_print_privately

__all__ = ["PASSWORD_VARIABLE", "SECTION_TITLES", "ReportResult", "SmtpSettings",
           "WeeklyReport", "make_report", "parse_week", "report", "report_week"]


@dataclass
class ReportResult:
    """What ``report`` made.

    Attributes:
        report: the week's numbers, as every output shows them.
        workbook: the report workbook.
        html, pdf, eml: the other files, when asked for.
        sent_to: the recipients, when the report was sent.
    """

    report: WeeklyReport
    workbook: Path
    html: Path | None = None
    pdf: Path | None = None
    eml: Path | None = None
    sent_to: list[str] = field(default_factory=list)


@with_password
def make_report(path: str | Path, *, week: str | dt.date | None = None,
                today: dt.date | None = None, password: str | None = None) -> WeeklyReport:
    """Compute one week's report of a CRM workbook without writing anything.

    Args:
        path: the CRM workbook.
        week: ``YYYY-Www`` (the team's week holding that ISO week's Monday), the first day of
            the week, or None for the last full week.
        today: the day the report is made (default: today).
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it, the PDF too (printed
            from a private folder kept in memory, where the system has one: Linux).

    Raises:
        ReportError: the week is malformed or has not begun yet.
    """
    today = today or dt.date.today()
    with bulk_work():
        # read once, whole: the week and the data-quality checks both come from this reading
        crm = load(path, owned=OWNED_READ)
        crm.require_xlcrm()
        first_day = str(crm.settings.options.get("week_start", "monday"))
        if week is None:
            start = week_start(today, first_day) - dt.timedelta(days=7)
        elif isinstance(week, str):
            start = parse_week(week, first_day)
        else:
            start = week_start(week, first_day)
        if start > today:
            raise ReportError(f"week {report_week(start)} has not begun yet (today is {today})")
        words = owned_text(crm.schema).words  # the findings in the workbook's language
        # the clean-up's findings on a second core, while this one computes the rest
        with Beside(lambda: (find_problems(crm, today=today, words=words),
                             find_groups(crm, words)[0])) as cleaning:
            # the weekly run as it would have been on the Monday after that week
            result = compute_week(crm, today=min(today, start + dt.timedelta(days=7)))
            issues = validate(crm, today=today, words=words)
            problems, duplicates = cleaning.result()
        checked = QualityInput(issues=issues, problems=problems, duplicates=duplicates)
        return weekly_report(crm, result, week=start, generated=today, checked=checked)


@with_password
def report(path: str | Path, out: str | Path, *, week: str | dt.date | None = None,
           html: bool = False, pdf: bool = False, eml: bool = False,
           smtp: SmtpSettings | None = None, sender: str | None = None,
           to: Sequence[str] = (), templates: str | Path | None = None,
           today: dt.date | None = None, password: str | None = None) -> ReportResult:
    """Write the weekly report of a CRM workbook into the folder ``out``.

    The report workbook (``<workbook>-report-2026-W47.xlsx``) is always written; the HTML page,
    the PDF and the e-mail (``.eml``) when asked. With ``smtp`` the e-mail is also sent.

    Args:
        path: the CRM workbook (only read).
        out: the folder the files go into (made if missing).
        week: ``YYYY-Www`` or a day of the week; None for the last full week.
        html, pdf, eml: which other files to write.
        smtp: send the e-mail through this server (to ``to``).
        sender: the e-mail's From (default: ``xlcrm@localhost``).
        to: the e-mail's recipients.
        templates: a folder of templates that override the built-in ones.
        today: the day the report is made (default: today).
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it, the PDF too (printed
            from a private folder kept in memory, where the system has one: Linux).

    Raises:
        ReportError: the week is wrong, a template has an error, or sending failed.
    """
    if pdf and password is not None and not can_print_privately():
        raise ReportError("--pdf with --password-env needs a folder kept in memory "
                          "(/dev/shm) for LibreOffice to print from, which this system "
                          "lacks; make the PDF from the HTML page (--html) instead")
    data = make_report(path, week=week, today=today)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    # template errors stop before any file is written
    page = render_report(data, templates=templates)
    sender = sender or "xlcrm@localhost"
    mail = render_mail(data, templates=templates, domain=sender.rpartition("@")[2]
                       or "localhost") if eml or smtp is not None else None
    result = ReportResult(data, write_report_workbook(data, folder / f"{data.file_stem}.xlsx"))
    if html:
        result.html = folder / f"{data.file_stem}.html"
        result.html.write_text(page, encoding="utf-8")
    if pdf and password is not None:
        # the report holds personal data: printed from memory, and the PDF encrypted
        result.pdf = folder / f"{data.file_stem}.pdf"
        result.pdf.write_bytes(_sealed_pdf(result.workbook, password))
    elif pdf:
        from ..xlsx.libreoffice import convert

        with tempfile.TemporaryDirectory(prefix="xlcrm-pdf-") as tmp:
            made = convert(result.workbook, "pdf", Path(tmp))
            result.pdf = folder / f"{data.file_stem}.pdf"
            result.pdf.write_bytes(made.read_bytes())
    if mail is not None:
        message = build_message(subject=f"{data.title} ({data.workbook})", html=mail.html,
                                text=mail.text, attachment=result.workbook, sender=sender,
                                to=list(to), images=mail.images)
        if eml:
            result.eml = folder / f"{data.file_stem}.eml"
            result.eml.write_bytes(bytes(message))
        if smtp is not None:
            send(message, smtp)
            result.sent_to = list(to)
    return result


def _sealed_pdf(workbook: Path, secret: str) -> bytes:
    """The PDF of an encrypted report workbook, encrypted with the same password: printed by
    LibreOffice from a private folder kept in memory, never from a plain file on disk."""
    from ..xlsx.libreoffice import convert_privately

    plain = decrypt_bytes(workbook.read_bytes(), secret, workbook.name)
    return encrypt_pdf(convert_privately(plain, workbook.name, "pdf"), secret)
