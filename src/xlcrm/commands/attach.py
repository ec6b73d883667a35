"""Add xlcrm to a workbook a team already uses: the library twin of ``xlcrm attach``."""

from __future__ import annotations

from pathlib import Path

from .._version import __version__
from ..errors import TransplantError, UnreadableWorkbookError
from ..schema import load_schema
from ..sheets.workbook import write_new_workbook
from ..xlsx.cells import read_book, workbook_reader
from ..xlsx.crypto import Place, scratch_path, with_password
from ..xlsx.lock import locked_command
from ..xlsx.opening import safe_open
from ..xlsx.package import Package
from ..xlsx.save import SaveResult, safe_save
from ..xlsx.scratch import scratch_dir
from ..xlsx.transplant import transplant_sheets

__all__ = ["attach"]


def _refuse_unreadable(target: Path) -> None:
    """Refuse a workbook the cell reader can't open: every command after attach would fail
    on it, so nothing is written (a macro sheet of Excel 4, a relationship that is missing)."""
    reader, errors = workbook_reader()
    caught: tuple[type[BaseException], ...] = (*errors, ValueError, KeyError)
    try:
        book = read_book(target)
        try:
            for name in book.sheet_names:  # a sheet of a kind the reader doesn't know
                book.get_sheet_by_name(name).to_python(nrows=1)
        finally:
            book.close()
    except caught as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableWorkbookError(
            f"{target.name}: xlcrm could not read this workbook after attaching ({first}); "
            "nothing was written. Open it in Excel and save it again, or copy its records "
            "into a new CRM workbook with `xlcrm adopt`") from None


@with_password
@locked_command(lambda kw: True)
def attach(path: str | Path, *, preset: str = "dealer", locale: str = "en",
           force: bool = False, backups: int = 5, password: str | None = None) -> SaveResult:
    """Add xlcrm's Settings, data sheets and owned sheets to an existing workbook.

    The team's own sheets, charts, pivots, macros and styles are left exactly as they were;
    xlcrm's sheets go after them. ``check`` and ``update`` work on the result at once.

    Args:
        path: the team's .xlsx or .xlsm workbook.
        preset: ``dealer`` or ``b2b``.
        locale: language of the new sheets' labels.
        force: write even though Excel or LibreOffice has the workbook open.
        backups: how many earlier versions to keep beside it.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Raises:
        TransplantError: a sheet or table name is taken, or xlcrm is already attached.
        UnreadableWorkbookError: the file is not a workbook xlcrm can edit safely.
        WorkbookLockedError: the workbook is open in Excel or LibreOffice.
    """
    schema = load_schema(preset, locale)
    target, _ = safe_open(path, for_writing=True, force=force)
    _refuse_unreadable(target)
    with Package(target) as pkg:
        taken = {name.lower(): name for name, _, _ in pkg.sheets()}
        custom = pkg.peek("docProps/custom.xml") if pkg.has("docProps/custom.xml") else None
        if custom is not None and any(el.get("name") == "xlcrm_preset" for el in custom):
            raise TransplantError(f"{target.name}: xlcrm is already attached to it; "
                                  "use `xlcrm check` or `xlcrm update`")
    clashes = [taken[s.name.lower()] for s in schema.sheets if s.name.lower() in taken]
    if clashes:
        raise TransplantError(
            f"{target.name}: already has sheet{'s' * (len(clashes) > 1)} named "
            + ", ".join(f'"{c}"' for c in clashes)
            + "; rename them (or attach with another --locale) so xlcrm can add its own")
    with scratch_dir("attach") as tmp, scratch_path(Path(tmp), "scratch.xlsx") as place:
        scratch = write_new_workbook(place, schema)

        def write(out: Place) -> None:
            with Package(target) as pkg, Package(scratch) as src:
                transplant_sheets(pkg, src, [s.name for s in schema.sheets], replace=False)
                pkg.record_sheet_identities({s.key: s.name for s in schema.sheets})
                pkg.set_custom_properties({
                    "xlcrm_preset": schema.preset, "xlcrm_schema_version": schema.version,
                    "xlcrm_locale": schema.locale.code, "xlcrm_version": __version__})
                pkg.request_full_recalculation()
                pkg.save(out)

        return safe_save(target, write, force=force, backups=backups)
