"""The .xlsx package, knowing nothing of a CRM: safe opening (:mod:`.opening`), where its parts
are (:mod:`.parts`), its cells as values (:mod:`.cells`, calamine or :mod:`.openpyxl_book`),
the lossless part-by-part writer (:mod:`.package` the parts as edited, :mod:`.transplant` whole
sheets, :mod:`.patch` cells, :mod:`.styles` formats, :mod:`.writer` the operations on them), the
safe save (:mod:`.save`), and LibreOffice headless for recalculation and PDF
(:mod:`.libreoffice`)."""
