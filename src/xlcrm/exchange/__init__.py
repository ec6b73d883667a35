"""Exchange with the world outside the workbook: exports to commercial CRMs, imports of leads.

- :func:`~xlcrm.exchange.export.export` writes a target CRM's import files (mapping files in
  ``templates/exports/``, target quirks in :mod:`xlcrm.exchange.targets`);
- :func:`~xlcrm.exchange.importer.import_leads` appends or updates records from CSV/XLSX files;
- :func:`~xlcrm.exchange.adopt.adopt` turns a team's own spreadsheet into an xlcrm workbook.
"""
