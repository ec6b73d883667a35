"""The weekly report's parts: the week's numbers (:mod:`.data`), the report workbook with native
charts (:mod:`.workbook`), the HTML page from jinja2 templates (:mod:`.html`, :mod:`.svg`) and
the e-mail (:mod:`.mail`). The command that puts them together is :mod:`xlcrm.commands.report`.
"""
