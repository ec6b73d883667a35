"""The macro workbook (:mod:`.macrobook`) and its VBA project (:mod:`.vba`); the buttons' entry
points are :mod:`xlcrm.macros`."""
