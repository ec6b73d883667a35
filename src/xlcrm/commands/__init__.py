"""One module per command: read the workbook, compute, write. Each module's public function is
re-exported by :mod:`xlcrm` and wrapped by :mod:`xlcrm.cli`; nothing here is imported by the
layers below."""
