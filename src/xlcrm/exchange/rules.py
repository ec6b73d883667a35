"""Apply a target's import rules (``[[rules]]`` of its mapping file) to the rows of an export.

Each rule is data: what the vendor's importer checks, on which file and columns, and the page
that says so. Every problem is reported on the record it comes from (``Sheet!row``) with the
rule's page, so a person can read why the vendor would refuse it. Errors are what the importer
refuses (a missing mandatory value, a state it does not take on create, a file it cannot link);
warnings are what it takes but links or merges otherwise than the workbook does (two contacts
sharing an e-mail that the importer merges into one).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..issues import Issue
from .mapping import FileSpec, Rule

__all__ = ["Table", "apply_rules"]


@dataclass
class Table:
    """The rows of one export file before it is written, column by column, with the record
    each row comes from."""

    spec: FileSpec
    header: list[str]
    columns: Sequence[Sequence[str]]  # one text per row in each
    origins: list[tuple[str, int]]  # (sheet title, sheet row) per row
    title: str = ""  # the sheet's title, for problems about the whole file


#: ``locate(spec, header, row)``: the cell (``F12``) of the workbook value behind a column
Locate = Callable[[FileSpec, str, int], str]


def apply_rules(rules: Iterable[Rule], tables: dict[str, Table], locate: Locate,
                preset: str = "") -> list[Issue]:
    """Return every problem the rules find, one per record (or per file for file rules)."""
    issues: list[Issue] = []
    for rule in rules:
        for name, table in tables.items():
            if rule.applies_to(name, preset):
                issues += _apply(rule, table, locate)
    return issues


def _cite(rule: Rule) -> str:
    why = f"{rule.why}; " if rule.why else ""
    flag = "UNVERIFIED, " if rule.unverified else ""
    return f" ({why}{flag}{rule.source})"


def _file_issue(rule: Rule, table: Table, message: str) -> Issue:
    return Issue(table.title, "", rule.severity,  # type: ignore[arg-type]
                 f"rule-{rule.check}", f"{table.spec.file}: {message}{_cite(rule)}")


def _row_issue(rule: Rule, table: Table, i: int, header: str, message: str,
               locate: Locate) -> Issue:
    title, row_no = table.origins[i]
    return Issue(title, locate(table.spec, header, row_no), rule.severity,  # type: ignore[arg-type]
                 f"rule-{rule.check}", f"{table.spec.file} {header}: {message}{_cite(rule)}",
                 row_no)


def _apply(rule: Rule, table: Table, locate: Locate) -> list[Issue]:
    check = rule.check
    header = table.header
    if check == "objects_per_file":
        objects = table.spec.objects
        if len(objects) > rule.n:
            return [_file_issue(rule, table, f"links {len(objects)} objects ({', '.join(objects)})"
                                f", one import takes at most {rule.n}")]
        return []
    if check == "no_column":
        return [_file_issue(rule, table, f'column "{h}" must not be imported here')
                for h in header if h.startswith(rule.prefix)]
    missing = [c for c in rule.columns if c not in header]
    if check == "has_column":
        return [_file_issue(rule, table, f'no column "{c}", which the importer links by')
                for c in missing]
    if missing and check == "required":
        return [_file_issue(rule, table, f'no column "{c}", which the importer requires')
                for c in missing]
    cols = [(c, header.index(c)) for c in rule.columns if c in header]
    when = header.index(rule.when) if rule.when in header else None
    if rule.when and when is None:
        return []
    columns = table.columns
    if check == "unique":
        return _duplicates(rule, table, cols, locate)
    # the rows the rule looks at (all of them, or those with the ``when`` column filled)
    looked = range(len(table.origins)) if when is None else [
        i for i, value in enumerate(columns[when]) if value]
    if check == "one_of":
        what = ("empty" if len(cols) == 1 else
                "none of " + ", ".join(c for c, _ in cols) + " is filled")
        empty = set(looked)  # the rows where every column is empty
        for _, k in cols:
            empty.intersection_update(i for i, value in enumerate(columns[k]) if not value)
        return [_row_issue(rule, table, i, rule.columns[0], what, locate)
                for i in sorted(empty)]
    # column by column, each distinct value judged once; reported row by row, in the
    # columns' order within a row
    found: list[tuple[int, int, str, str]] = []
    for j, (c, k) in enumerate(cols):
        values = columns[k]
        problems = _problems(rule, table, set(values) if when is None else
                             {values[i] for i in looked})
        if problems:
            found += [(i, j, c, problems[value]) for i, value in enumerate(values)
                      if value in problems and (when is None or columns[when][i])]
    found.sort(key=lambda f: f[:2])
    return [_row_issue(rule, table, i, c, problem, locate) for i, _, c, problem in found]


def _problems(rule: Rule, table: Table, values: Iterable[str]) -> dict[str, str]:
    """What rule ``rule`` finds in each of ``values`` (the values it finds nothing in left
    out)."""
    check = rule.check
    compiled = re.compile(rule.pattern) if check == "pattern" else None
    problems = {}
    for value in values:
        problem = None
        if check == "required" and not value:
            problem = "empty, and the importer requires it"
        elif not value:
            continue
        elif check == "max_length" and len(value) > rule.n:
            problem = f"{len(value)} characters, at most {rule.n}"
        elif check == "picklist" and value not in rule.values:
            problem = f'"{value}" is not one of ' + ", ".join(rule.values)
        elif check == "not_on_create" and table.spec.step == 1 and value in rule.values:
            problem = f'"{value}" can\'t be set when the record is created'
        elif compiled is not None and not compiled.fullmatch(value):
            problem = f'"{value}" is not in the form the importer reads'
        if problem:
            problems[value] = problem
    return problems


def _duplicates(rule: Rule, table: Table, cols: list[tuple[str, int]], locate: Locate
                ) -> list[Issue]:
    """A ``unique`` rule: each value found again in a column, on the later rows."""
    issues: list[Issue] = []
    for c, k in cols:
        values = table.columns[k]
        keys = values if rule.case_sensitive else [v.casefold() for v in values]
        seen = Counter(keys)
        seen.pop("", None)
        twice = {key for key, n in seen.items() if n > 1}
        first: dict[str, int] = {}
        for i in [i for i, key in enumerate(keys) if key in twice]:  # only values seen twice
            text, value = values[i], keys[i]
            if value in first:
                other = table.origins[first[value]]
                issues.append(_row_issue(rule, table, i, c,
                                         f'"{text}" also on {other[0]} row {other[1]}',
                                         locate))
            else:
                first[value] = i
    return issues
