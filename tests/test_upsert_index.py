"""The import's index of existing records (``exchange/upsert.py``) finds what a scan of every
record would: records made dicts only when looked at, phones parsed only when a phone with
their last six digits is looked for, the first record of a key winning over later ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xlcrm
from xlcrm.exchange.upsert import SheetUpsert, filled
from xlcrm.metrics.identity import phone_key


def test_phone_lookups_agree_with_a_scan_of_every_record(
        demo_book: Callable[..., Path]) -> None:
    crm = xlcrm.load(demo_book("dealer", 300, 6))
    state = SheetUpsert(crm, "leads")
    frame = crm.tables["leads"]
    region = state.region
    first: dict[str, int] = {}  # what the index held when every phone was parsed up front
    for row, phone in zip(frame.index, frame["phone"]):
        key = phone_key(str(phone), region) if filled(phone) else None
        if key:
            first.setdefault(key, int(row))
    assert len(first) > 200
    for key, row in first.items():
        digits = key[1:]
        # the same number typed three ways: as stored, with 00 and spaces, without its +
        for typed in (key, f"00{digits[:2]} {digits[2:5]} {digits[5:]}", digits):
            found, how = state.find({"phone": typed})
            if phone_key(typed, region) == key:
                assert (found, how) == (row, "phone"), typed
    # a record added with a phone an earlier record has: the earlier one still wins
    key, row = next(iter(first.items()))
    outcome, new_row, _ = state.upsert({"last_name": "Nuovo", "email": "nuovo@example.org"},
                                       stamp={})
    assert outcome == "added"
    state.set(new_row, "phone", key)
    state._index(new_row, state.records[new_row])
    assert state.find({"phone": key}) == (row, "phone")
    # and a phone no record had is found on the record that took it
    state.set(new_row, "phone", "+39 347 000 1122")
    state._index(new_row, state.records[new_row])
    assert state.find({"phone": "+393470001122"}) == (new_row, "phone")


def test_records_are_the_frames_rows(demo_book: Callable[..., Path]) -> None:
    crm = xlcrm.load(demo_book("dealer", 120, 2))
    state = SheetUpsert(crm, "leads")
    frame = crm.tables["leads"]
    rows = frame.to_dict("records")
    for i, row in enumerate(frame.index[:50]):
        assert state.records[int(row)].keys() == rows[i].keys()
        assert all(a == b or (a != a and b != b)
                   for a, b in zip(state.records[int(row)].values(), rows[i].values()))
    assert state.next_row == int(frame.index.max()) + 1
