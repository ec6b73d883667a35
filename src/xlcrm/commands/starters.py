"""The starter workbooks under ``workbooks/``: what ``init`` writes, for download without install.

Regenerate them after changing a preset or a locale:

    python -m xlcrm.commands.starters workbooks/
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..schema import available_presets
from .init import init

__all__ = ["STARTER_LOCALES", "starter_name", "write_starters"]

STARTER_LOCALES = ("en", "it")


def starter_name(preset: str, locale: str) -> str:
    """Return the file name of a starter workbook (``crm-dealer-en.xlsx``)."""
    return f"crm-{preset}-{locale}.xlsx"


def write_starters(folder: str | Path) -> list[Path]:
    """Write the starter workbook of every preset in every starter language into ``folder``."""
    out = Path(folder)
    return [init(out / starter_name(preset, locale), preset=preset, locale=locale, force=True)
            for preset in available_presets() for locale in STARTER_LOCALES]


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    for written in write_starters(sys.argv[1] if len(sys.argv) > 1 else "workbooks"):
        print(written)
