"""Tell an xlcrm workbook from a team's own, reading only the package's outline."""

from __future__ import annotations

from pathlib import Path

from ..crm import refuse_unless_xlcrm
from ..schema import available_presets, normalize_header
from ..xlsx.opening import safe_open
from ..xlsx.parts import read_outline
from .headers import sheet_name_keys

__all__ = ["require_xlcrm_file"]


def require_xlcrm_file(path: str | Path) -> Path:
    """Refuse ``path`` unless it is an xlcrm workbook; return it as opened.

    For the commands that copy a workbook rather than read its records (``macros``): the
    same rule as :meth:`~xlcrm.crm.Crm.require_xlcrm`, from the outline alone.

    Raises:
        UnreadableWorkbookError: the file is not a workbook that can be read safely.
        NotXlcrmWorkbookError: the workbook is not xlcrm's.
    """
    target, _ = safe_open(path)
    outline = read_outline(target)
    names = {normalize_header(name) for name in outline.sheet_parts}
    has_settings = any(sheet_name_keys(p).get(n) == "settings"
                       for p in available_presets() for n in names)
    refuse_unless_xlcrm(target, outline.properties.get("xlcrm_preset"), has_settings)
    return target
