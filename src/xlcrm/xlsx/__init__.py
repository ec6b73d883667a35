"""The .xlsx package, knowing nothing of a CRM: safe opening (:mod:`.opening`), the lossless
part-by-part writer (:mod:`.package`, :mod:`.writer`), the safe save (:mod:`.save`), and
LibreOffice headless for recalculation and PDF (:mod:`.libreoffice`)."""
