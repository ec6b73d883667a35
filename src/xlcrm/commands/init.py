"""Create a new, empty CRM workbook: the library twin of ``xlcrm init``."""

from __future__ import annotations

from pathlib import Path

from ..schema import currency_code, load_schema
from ..sheets.workbook import write_new_workbook
from ..xlsx.crypto import with_password
from ..xlsx.save import prepare_target, safe_save

__all__ = ["init"]


@with_password
def init(path: str | Path, *, preset: str = "dealer", locale: str = "en",
         currency: str | None = None, force: bool = False, password: str | None = None) -> Path:
    """Write a new, empty CRM workbook for ``preset`` at ``path``.

    The workbook has every sheet of the preset, header rows frozen, data ranges as Excel
    tables, number and date formats, dropdowns fed from the Settings lists, and placeholder
    sheets (Tally, Funnel, Dashboard) that ``xlcrm update`` fills.

    Args:
        path: the .xlsx file to create.
        preset: ``dealer`` or ``b2b`` (see :func:`xlcrm.available_presets`).
        locale: language of the labels (``en``, ``it`` ...).
        currency: ISO currency code of amounts; the preset's when not given.
        force: overwrite an existing file.
        password: the workbook's password when it is encrypted; it is decrypted in
            memory only and every workbook written is encrypted with it.

    Returns:
        The path of the new workbook.

    Raises:
        WorkbookExistsError: ``path`` exists and ``force`` is false; the file is left as it was.
        UnknownPresetError: the preset or locale does not exist.
        SchemaError: the currency is not an ISO 4217 code.
    """
    schema = load_schema(preset, locale)
    options = {"currency": currency_code(currency)} if currency else None
    target = prepare_target(path, force=force)
    # the same safe save as every other write: an overwritten file (--force) is kept as a backup
    safe_save(target, lambda tmp: write_new_workbook(tmp, schema, options=options),
              force=force)
    return target
