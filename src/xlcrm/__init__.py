"""xlcrm: a small team's CRM in an Excel workbook.

The public surface is listed once, here; the command line (``xlcrm``) wraps these functions.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .demo import DemoData, demo, generate_demo
from .errors import (
    ExportError,
    SchemaError,
    UnknownPresetError,
    WorkbookError,
    WorkbookExistsError,
    XlcrmError,
)
from .schema import Schema, available_locales, available_presets, load_schema
from .workbook import init

__all__ = [
    "DemoData",
    "ExportError",
    "Schema",
    "SchemaError",
    "UnknownPresetError",
    "WorkbookError",
    "WorkbookExistsError",
    "XlcrmError",
    "__version__",
    "available_locales",
    "available_presets",
    "demo",
    "generate_demo",
    "init",
    "load_schema",
]
