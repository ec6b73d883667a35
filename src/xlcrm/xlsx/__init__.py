"""The .xlsx package, knowing nothing of a CRM: safe opening (:mod:`.opening`), the lossless
part-by-part writer (:mod:`.package` the parts, :mod:`.transplant` whole sheets, :mod:`.patch`
cells, :mod:`.styles` formats, :mod:`.writer` the operations on them), the safe save
(:mod:`.save`), and LibreOffice headless for recalculation and PDF (:mod:`.libreoffice`)."""
