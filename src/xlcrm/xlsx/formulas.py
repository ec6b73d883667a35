"""Formulas after rows of a sheet are removed: every reference rewritten as Excel does.

Excel, deleting rows, rewrites every formula of the workbook that refers to the sheet by
address: a reference below the removed rows moves up, a range that spans them shrinks, a
reference to a removed cell (or a range all of whose rows go) becomes ``#REF!``. Whole-column
references (``A:A``), structured references (``Table1[Column]``), names, references to other
sheets and to other workbooks stay as they are. This module does the same to formula text,
read with openpyxl's formula tokenizer (so text in quotes, quoted sheet names, ``$`` markers and
array constants are told apart from references), for:

- cell formulas on every sheet (:func:`rewrite_sheet_formulas`), the removed rows' sheet and
  the others, shared formulas (``<f t="shared">``) included: a shared group whose members would
  no longer all follow one formula is written out member by member (each cell gets a formula
  of its own, which every reader reads the same); array formulas keep their range. The other
  sheets' validations and conditional formats that point at the sheet (a list of values kept
  there) follow too;
- the series references of charts (``<c:f>`` in ``xl/charts/chartN.xml``,
  :func:`rewrite_chart_refs`), edited as text so the rest of each chart part stays byte for
  byte.

A part none of whose formulas change is not touched at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol
from xml.sax.saxutils import escape, unescape

from lxml import etree

from .package import Package
from .parts import NS_MAIN

__all__ = ["RowMove", "names_other_sheet", "rewrite_chart_refs", "rewrite_sheet_formulas",
           "shift_formula"]

_M = f"{{{NS_MAIN}}}"
_XM = "{http://schemas.microsoft.com/office/excel/2006/main}"
_CELL = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)(\d+)$")
_ROW = re.compile(r"^(\$?)(\d+)$")
_COL = re.compile(r"^\$?[A-Za-z]{1,3}$")
_CELL_NAME = re.compile(r"([A-Z]+)(\d+)$")
_NUMBER = re.compile(r"\d+")
_REF = "#REF!"

class RowMove(Protocol):
    """Which rows go (:class:`~xlcrm.xlsx.rows.RowShift`)."""

    removed: list[int]  # 1-based, sorted

    def span(self, top: int, bottom: int) -> tuple[int, int] | None:
        """The rows ``top..bottom`` become, ``None`` when all of them go."""


def names_other_sheet(qualifier: str, sheet: str) -> bool:
    """Tell whether a reference's sheet qualifier (``Data!`` or ``'My data'!``) names a sheet
    other than ``sheet`` (Excel's sheet names ignore case)."""
    name = qualifier[:-1] if qualifier.endswith("!") else qualifier
    if name.startswith("'") and name.endswith("'"):
        name = name[1:-1].replace("''", "'")
    return name.lower() != sheet.lower()


def _split_qualifier(operand: str) -> tuple[str, str]:
    """``'My Sheet'!A5`` -> (``'My Sheet'!``, ``A5``); no qualifier -> (``""``, operand)."""
    if operand.startswith("'"):
        i = 1
        while i < len(operand):
            if operand[i] == "'":
                if operand[i + 1:i + 2] == "'":
                    i += 2
                    continue
                break
            i += 1
        if operand[i + 1:i + 2] == "!":
            return operand[:i + 2], operand[i + 2:]
        return "", operand
    head, bang, tail = operand.partition("!")  # an unquoted name holds no "!"
    return (head + bang, tail) if bang else ("", operand)


def _shift_area(area: str, shift: RowMove) -> str | None:
    """A cell, cell range or row range after the rows go (``None``: all of it is gone);
    anything else (a column range, a name) as it is."""
    ends = area.split(":")
    if len(ends) > 2:
        return area
    cells = [_CELL.match(e) for e in ends]
    if all(cells):
        top, bottom = int(cells[0].group(4)), int(cells[-1].group(4))  # type: ignore[union-attr]
        if top > bottom:
            top, bottom = bottom, top
        new = shift.span(top, bottom)
        if new is None:
            return None
        if len(ends) == 1:
            m = cells[0]
            assert m is not None
            return f"{m.group(1)}{m.group(2)}{m.group(3)}{new[0]}"
        a, b = cells[0], cells[1]
        assert a is not None and b is not None
        first, last = (new if int(a.group(4)) <= int(b.group(4)) else (new[1], new[0]))
        return (f"{a.group(1)}{a.group(2)}{a.group(3)}{first}:"
                f"{b.group(1)}{b.group(2)}{b.group(3)}{last}")
    rows = [_ROW.match(e) for e in ends]
    if len(ends) == 2 and all(rows):
        r1, r2 = rows[0], rows[1]
        assert r1 is not None and r2 is not None
        top, bottom = sorted((int(r1.group(2)), int(r2.group(2))))
        new = shift.span(top, bottom)
        if new is None:
            return None
        return f"{r1.group(1)}{new[0]}:{r2.group(1)}{new[1]}"
    return area


def shift_operand(operand: str, shift: RowMove, sheet: str, *, local: bool) -> str:
    """One range operand of a formula after rows of ``sheet`` go (``#REF!`` when all of it
    does). ``local``: the formula is on ``sheet``, so an unqualified reference points there."""
    qual, area = _split_qualifier(operand)
    if qual:
        if qual.startswith("[") or names_other_sheet(qual, sheet) or ":" in qual.strip("'!"):
            return operand  # another workbook, another sheet, or several sheets
    elif not local:
        return operand
    if ":" in area:  # Leads!B2:Leads!B5: both ends qualified the same way
        left, right = area.split(":", 1)
        if right.startswith(qual) and qual:
            area = f"{left}:{right[len(qual):]}"
            moved = _shift_area(area, shift)
            if moved is None:
                return _REF
            a, b = moved.split(":")
            return f"{qual}{a}:{qual}{b}"
    moved = _shift_area(area, shift)
    return _REF if moved is None else f"{qual}{moved}"


def shift_formula(formula: str, shift: RowMove, sheet: str, *, local: bool) -> str:
    """A formula (without ``=``) after rows of ``sheet`` are removed; the text itself when
    nothing in it refers to them."""
    if not shift.removed or all(int(n) < shift.removed[0] for n in _NUMBER.findall(formula)):
        return formula  # every row it could name is above the first removed row: no change
    from openpyxl.formula.tokenizer import Token, Tokenizer  # here: a writer of sheets
    # that removes no rows (the agenda, the scores) is spared importing all of openpyxl

    try:
        tokens = Tokenizer("=" + formula).items
    except Exception:  # noqa: BLE001 - a formula the tokenizer can't read is left alone
        return formula
    changed = False
    out: list[str] = []
    for tok in tokens:
        value = tok.value
        if tok.type == Token.OPERAND and tok.subtype == Token.RANGE:
            value = shift_operand(tok.value, shift, sheet, local=local)
        elif tok.type == Token.FUNC and tok.subtype == Token.OPEN and ":" in tok.value:
            head, _, func = tok.value.rpartition(":")  # A1:INDEX(...): a range to a function
            moved = shift_operand(head, shift, sheet, local=local)
            value = tok.value if moved == head else f"{moved}:{func}"
        changed = changed or value != tok.value
        out.append(value)
    return "".join(out) if changed else formula


def _mentions(text: str, sheet: str) -> bool:
    """A quick test: may ``text`` refer to ``sheet`` by name at all?"""
    low = text.lower()
    name = sheet.lower()
    return f"{name}!" in low or "'" + name.replace("'", "''") + "'!" in low


def _translate(formula: str, origin: str, dest: str) -> str:
    """The formula of a shared group's member at ``dest``, from its master's at ``origin``."""
    if origin == dest:
        return formula
    from openpyxl.formula.translate import Translator

    return str(Translator("=" + formula, origin=origin).translate_formula(dest))[1:]


def rewrite_sheet_formulas(root: etree._Element, shift: RowMove, sheet: str, *, local: bool,
                           row_of: Callable[[int], int | None] | None = None) -> bool:
    """Rewrite the cell formulas of one sheet part after rows of ``sheet`` are removed.

    Args:
        root: the sheet part's root element (edited in place).
        shift: the rows of ``sheet`` removed.
        sheet: the sheet the rows were removed from.
        local: ``root`` is that sheet (its cells move too: call this before they do).
        row_of: for a local sheet, where each row goes (``None``: removed).

    Returns:
        Whether any formula changed.
    """
    changed = False
    groups: dict[str, list[tuple[str, etree._Element]]] = {}
    for f in root.iter(_M + "f"):
        cell = f.getparent()
        where = cell.get("r", "") if cell is not None else ""
        if f.get("t") == "shared" and f.get("si") is not None:
            groups.setdefault(str(f.get("si")), []).append((where, f))
            continue
        if f.text and (local or _mentions(f.text, sheet)):
            new = shift_formula(f.text, shift, sheet, local=local)
            if new != f.text:
                f.text = new
                changed = True
    for members in groups.values():
        changed = _rewrite_shared(members, shift, sheet, local, row_of) or changed
    if not local:  # validations and conditional formats that point at the sheet (a list)
        # Excel 2010 and later write a list kept on another sheet in an extension: <xm:f>
        for f in root.iter(_M + "formula1", _M + "formula2", _M + "formula", _XM + "f"):
            if f.text and _mentions(f.text, sheet):
                new = shift_formula(f.text, shift, sheet, local=False)
                if new != f.text:
                    f.text = new
                    changed = True
    return changed


def _rewrite_shared(members: list[tuple[str, etree._Element]], shift: RowMove, sheet: str,
                    local: bool, row_of: Callable[[int], int | None] | None) -> bool:
    """One shared formula group: kept shared when every member still follows its master's
    formula, else written out member by member (each cell its own formula)."""
    master = next(((w, f) for w, f in members if f.text), None)
    if master is None:
        return False
    m_where, m_f = master
    text = str(m_f.text)
    if not local and not _mentions(text, sheet):
        return False

    def moved(where: str) -> str | None:
        m = _CELL_NAME.match(where)
        if not local or m is None or row_of is None:
            return where
        new = row_of(int(m.group(2)))
        return None if new is None else f"{m.group(1)}{new}"

    wanted: list[tuple[etree._Element, str, str]] = []  # member, its new place, its formula
    for where, f in members:
        new_place = moved(where)
        if new_place is None:
            continue  # its row goes
        wanted.append((f, new_place, shift_formula(_translate(text, m_where, where), shift,
                                                    sheet, local=local)))
    master_place = moved(m_where)
    new_master = shift_formula(text, shift, sheet, local=local)
    if master_place is not None and all(
            _translate(new_master, master_place, place) == formula
            for _, place, formula in wanted):
        if new_master == text:
            return False
        m_f.text = new_master
        return True
    for f, _, formula in wanted:  # the group breaks up: each member gets its own formula
        for attr in ("t", "si", "ref"):
            f.attrib.pop(attr, None)
        f.text = formula
    return True


_CHART_REF = re.compile(r"(<(?:\w+:)?f>)([^<]*)(</(?:\w+:)?f>)")


def rewrite_chart_refs(pkg: Package, shift: RowMove, sheet: str) -> list[str]:
    """Rewrite the series references (``<c:f>``) of every chart that points at ``sheet``;
    return the chart parts changed. Only the references' text changes in each part."""
    changed = []
    for part in pkg.part_names():
        if not (part.startswith("xl/charts/") and part.endswith(".xml")):
            continue
        data = pkg.read(part)
        text = data.decode("utf-8")
        if not _mentions(unescape(text, {"&apos;": "'", "&quot;": '"'}), sheet):
            continue

        def one(m: re.Match[str]) -> str:
            formula = unescape(m.group(2), {"&apos;": "'", "&quot;": '"'})
            new = shift_formula(formula, shift, sheet, local=False)
            return m.group(0) if new == formula else f"{m.group(1)}{escape(new)}{m.group(3)}"

        new_text = _CHART_REF.sub(one, text)
        if new_text != text:
            pkg.write(part, new_text.encode("utf-8"))
            changed.append(part)
    return changed
