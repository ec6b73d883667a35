"""Exchange with the world outside the workbook: exports to commercial CRMs, imports of leads.

- :func:`~xlcrm.exchange.export.export` writes a target CRM's import files (mapping files in
  ``templates/exports/``, target quirks in :mod:`xlcrm.exchange.targets`);
- :func:`~xlcrm.exchange.importer.import_leads` appends or updates records from CSV/XLSX files;
- :func:`~xlcrm.exchange.adopt.adopt` turns a team's own spreadsheet into an xlcrm workbook.
"""

from __future__ import annotations

from .adopt import AdoptedSheet, AdoptResult, adopt
from .export import ExportedFile, ExportResult, export
from .importer import ColumnMatch, ImportResult, ImportRow, import_leads
from .mapping import available_targets, load_mapping

__all__ = [
    "AdoptResult",
    "AdoptedSheet",
    "ColumnMatch",
    "ExportResult",
    "ExportedFile",
    "ImportResult",
    "ImportRow",
    "adopt",
    "available_targets",
    "export",
    "import_leads",
    "load_mapping",
]
