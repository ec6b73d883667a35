"""Layouts: one module per sheet xlcrm writes, turning a computed result and the locale's labels
into cells. Nothing here reads a workbook or computes a figure."""
