"""The dictionary's closed lists are the columns' value lists, code for code and in order; its
labels are the ones the code shows elsewhere; the refusals say why in zh-CN."""

from __future__ import annotations

import pytest

from server.complaints.rules import CATEGORIES, CATEGORY_LABELS
from server.dictionary.rules import (
    BY_NAME,
    LISTS,
    add_refusal,
    change_refusal,
    code_problem,
    delete_refusal,
)
from server.directory.rules import (
    CONTACT_RELATIONS,
    ID_TYPES,
    ORIENTATIONS,
    ROOM_RELATIONS,
    ROOM_USES,
)
from server.parking.rules import HOLDING_KIND_LABELS, HOLDING_KINDS, SPACE_KIND_LABELS, SPACE_KINDS

CLOSED = {
    "room_uses": ROOM_USES,
    "orientations": ORIENTATIONS,
    "id_types": ID_TYPES,
    "contact_relations": CONTACT_RELATIONS,
    "room_relations": ROOM_RELATIONS,
    "parking_space_kinds": SPACE_KINDS,
    "parking_holding_kinds": HOLDING_KINDS,
    "complaint_categories": CATEGORIES,
}


def test_closed_lists_are_exactly_the_checked_columns_lists():
    assert {v.name for v in LISTS if v.closed} == set(CLOSED)
    for name, codes in CLOSED.items():
        assert BY_NAME[name].codes == codes, name


def test_labels_agree_with_the_areas_own():
    assert dict(BY_NAME["complaint_categories"].values) == CATEGORY_LABELS
    assert dict(BY_NAME["parking_space_kinds"].values) == SPACE_KIND_LABELS
    assert dict(BY_NAME["parking_holding_kinds"].values) == HOLDING_KIND_LABELS


def test_every_list_has_unique_valid_codes_and_labels():
    for vl in LISTS:
        assert len(set(vl.codes)) == len(vl.codes), vl.name
        assert all(code_problem(code) is None for code in vl.codes if vl.kind == "open"), vl.name
        assert all(label for _, label in vl.values)


@pytest.mark.parametrize(
    ("code", "ok"),
    [("water_off", True), ("a1", True), ("", False), ("A", False), ("1a", False), ("a-b", False)],
)
def test_own_codes(code, ok):
    assert (code_problem(code) is None) is ok


def test_refusals():
    closed, open_ = BY_NAME["room_uses"], BY_NAME["cancel_reasons"]
    assert add_refusal(closed) and add_refusal(open_) is None
    assert delete_refusal(open_, system=True) and delete_refusal(open_, system=False) is None
    assert change_refusal(closed, system=True, fields=frozenset({"enabled"}))
    assert change_refusal(open_, system=True, fields=frozenset({"enabled", "label"})) is None
    assert change_refusal(open_, system=False, fields=frozenset({"code"}))
