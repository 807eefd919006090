"""Playbooks ("Words" in SPEC.md): the two built-ins, user playbooks, and one clear error per bad file.

A bad playbook gets one LeadtuiError naming the file, the line and the field. The fixture
text below is numbered in the comments so every asserted line number can be checked by eye.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leadtui.core.playbook import BUILTIN, load, parse
from leadtui.errors import LeadtuiError

pytestmark = pytest.mark.engines

# SPEC.md "Wholesale playbook (seed 000)": id -> (label, group, key, alt keys)
WHOLESALE = {
    "new": ("New", "grey", "", ()),
    "not-contacted": ("Not Contacted", "purple", "n", ("space",)),
    "needs-offer": ("Needs Offer", "green", "1", ()),
    "appointment-booked": ("Appointment Booked", "green", "2", ()),
    "offer-made": ("Offer Made", "green", "3", ()),
    "send-contract": ("Send Contract", "green", "4", ()),
    "under-contract": ("Under Contract", "green", "5", ()),
    "offer-rejected": ("Offer Rejected", "yellow", "6", ()),
    "not-interested": ("Not Interested", "yellow", "7", ()),
    "listed-with-agent": ("Listed With Agent", "yellow", "8", ()),
    "already-sold": ("Already Sold", "red", "S", ()),
    "wrong-number": ("Wrong Number", "red", "W", ()),
    "dead-deal": ("Dead Deal", "red", "D", ()),
}

# SPEC.md "Lifecycle playbook (seed 003)": id -> (label, key)
LIFECYCLE = {
    "new": ("New", "1"),
    "engage": ("Engage", "2"),
    "future": ("Future", "3"),
    "active": ("Active", "4"),
    "closed": ("Closed", "5"),
    "non-client": ("Non Client", "6"),
}


def kebab(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


# --- built-ins ---------------------------------------------------------------------------------


def test_playbook_builtins_are_the_two_spec_names():
    assert BUILTIN == ("wholesale", "lifecycle")


def test_playbook_wholesale_has_every_spec_status_with_its_keys():
    pb = load("wholesale")
    assert pb.name == "wholesale"
    assert pb.initial == "new"
    assert len(pb.statuses) == 13
    assert [s.id for s in pb.statuses] == list(WHOLESALE)
    for st in pb.statuses:
        label, group, key, alt = WHOLESALE[st.id]
        assert (st.label, st.group, st.key, st.alt_keys) == (label, group, key, alt), st.id
        assert len(st.symbol) == 1 and st.description
    # New has no key: only an import or `add` sets it
    assert not pb.status("new").settable
    assert all(s.settable for s in pb.statuses if s.id != "new")


def test_playbook_wholesale_groups_are_the_spec_colours():
    pb = load("wholesale")
    assert [g.id for g in pb.groups] == ["grey", "purple", "green", "yellow", "red"]
    assert [s.id for s in pb.in_group("green")] == [
        "needs-offer",
        "appointment-booked",
        "offer-made",
        "send-contract",
        "under-contract",
    ]
    assert [s.id for s in pb.in_group("red")] == ["already-sold", "wrong-number", "dead-deal"]


def test_playbook_lifecycle_has_six_statuses_keyed_1_to_6():
    pb = load("lifecycle")
    assert pb.name == "lifecycle"
    assert pb.initial == "new"
    assert len(pb.statuses) == 6
    assert {s.id: (s.label, s.key) for s in pb.statuses} == LIFECYCLE
    assert [s.id for s in pb.statuses] == list(LIFECYCLE)


@pytest.mark.parametrize("name", BUILTIN)
def test_playbook_ids_are_labels_in_kebab_case(name):
    for st in load(name).statuses:
        assert st.id == kebab(st.label)


@pytest.mark.parametrize("name", BUILTIN)
def test_playbook_builtin_keys_are_unique(name):
    keys = [k for s in load(name).statuses for k in (s.key, *s.alt_keys) if k]
    assert len(keys) == len(set(keys))


def test_l2_lifecycle_suggests_next_stage_and_changes_nothing_by_itself():
    pb = load("lifecycle")
    assert pb.status("new").suggest == ("engage",)  # first contact -> Engage
    assert set(pb.status("engage").suggest) == {"active", "future"}  # qualified -> Active or Future
    assert "future" in pb.status("active").suggest  # deal falls through -> Future
    assert "closed" in pb.status("active").suggest  # deal done -> Closed
    for st in pb.statuses:
        # nothing happens by itself: no hold, no release, no action, no dial cadence
        assert st.ownership == "keep"
        assert st.hold_days == 0 and st.actions == () and not st.dial


# --- user playbooks ---------------------------------------------------------------------------

# A small valid playbook. Line numbers:
BASE = [
    'name = "mine"',  # 1
    'initial = "fresh"',  # 2
    "",  # 3
    "[[status]]",  # 4
    'id = "fresh"',  # 5
    'label = "Fresh"',  # 6
    'group = "grey"',  # 7
    'symbol = "o"',  # 8
    'key = "1"',  # 9
    'description = "Just in."',  # 10
    'ownership = "keep"',  # 11
    'suggest = ["warm"]',  # 12
    "",  # 13
    "[[status]]",  # 14
    'id = "warm"',  # 15
    'label = "Warm"',  # 16
    'group = "green"',  # 17
    'symbol = "*"',  # 18
    'key = "2"',  # 19
    'description = "Talking."',  # 20
    'ownership = "claim"',  # 21
]


def write(tmp_path: Path, changes: dict[int, str] | None = None, extra: list[str] = ()) -> Path:
    """BASE with line N replaced by changes[N] (1-based) and `extra` lines appended (22, 23...)."""
    lines = list(BASE)
    for number, text in (changes or {}).items():
        lines[number - 1] = text
    path = tmp_path / "mine.toml"
    path.write_text("\n".join([*lines, *extra]) + "\n", "utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(LeadtuiError) as info:
        load(str(path))
    message = str(info.value)
    assert "\n" not in message, "one line"
    assert str(path) in message, "names the file"
    return message


def test_playbook_user_file_loads(tmp_path):
    pb = load(str(write(tmp_path)))
    assert pb.name == "mine"
    assert pb.initial == "fresh"
    assert [s.id for s in pb.statuses] == ["fresh", "warm"]
    assert pb.status("fresh").suggest == ("warm",)
    assert pb.status("warm").ownership == "claim"
    # no [[group]]: every colour group is available
    assert [g.id for g in pb.groups] == ["grey", "purple", "green", "yellow", "red"]


def test_playbook_user_file_with_groups_loads(tmp_path):
    path = write(
        tmp_path, {3: '[[group]]\nid = "grey"\nlabel = "Start"\n[[group]]\nid = "green"\nlabel = "Go"\n'}
    )
    pb = load(str(path))
    assert [g.id for g in pb.groups] == ["grey", "green"]
    assert [g.label for g in pb.groups] == ["Start", "Go"]


def test_playbook_missing_file_is_one_clear_error(tmp_path):
    path = tmp_path / "nope.toml"
    message = load_error(path)
    assert "can't read playbook" in message


def test_playbook_not_utf8_is_one_clear_error(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    assert "UTF-8" in load_error(path)


def test_playbook_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, {6: "label = "})
    message = load_error(path)
    assert "line 6" in message


def test_playbook_toml_syntax_error_names_the_field(tmp_path):
    path = write(tmp_path, {6: "label = "})
    message = load_error(path)
    assert "label" in message


def test_playbook_unknown_field(tmp_path):
    path = write(tmp_path, {12: 'colour = "red"'})
    message = load_error(path)
    assert f"{path}:12:" in message
    assert "status[1].colour" in message and "unknown field" in message


def test_playbook_unknown_top_level_field(tmp_path):
    path = write(tmp_path, {3: "version = 2"})
    message = load_error(path)
    assert f"{path}:3:" in message
    assert "'version'" in message and "unknown field" in message


def test_playbook_missing_field_points_at_its_table(tmp_path):
    path = write(tmp_path, {18: "# no symbol"})
    message = load_error(path)
    assert f"{path}:14:" in message  # the [[status]] header of the second status
    assert "status[2].symbol" in message and "missing" in message


def test_playbook_missing_top_level_field(tmp_path):
    path = write(tmp_path, {1: "# no name"})
    message = load_error(path)
    assert f"{path}:1:" in message
    assert "'name'" in message and "missing" in message


def test_playbook_wrong_type(tmp_path):
    path = write(tmp_path, {19: "key = 2"})
    message = load_error(path)
    assert f"{path}:19:" in message
    assert "status[2].key" in message and "must be str" in message


def test_playbook_wrong_type_bool_is_not_int(tmp_path):
    path = write(tmp_path, {21: 'ownership = "hold"'}, extra=["hold_days = true"])
    message = load_error(path)
    assert f"{path}:22:" in message
    assert "status[2].hold_days" in message and "must be int" in message


def test_playbook_unknown_group(tmp_path):
    path = write(tmp_path, {17: 'group = "blue"'})
    message = load_error(path)
    assert f"{path}:17:" in message
    assert "status[2].group" in message and "'blue'" in message


def test_playbook_group_without_group_table(tmp_path):
    # [[group]] tables declared, but not the one a status uses
    path = write(tmp_path, {3: '[[group]]\nid = "grey"\nlabel = "Start"'})
    # lines 3-5 are the group, so BASE line 17 (group = "green") is now line 19
    message = load_error(path)
    assert f"{path}:19:" in message
    assert "status[2].group" in message and "'green'" in message


def test_playbook_duplicate_key(tmp_path):
    path = write(tmp_path, {19: 'key = "1"'})
    message = load_error(path)
    assert f"{path}:19:" in message
    assert "status[2].key" in message and "'1'" in message and "fresh" in message


def test_playbook_duplicate_id(tmp_path):
    path = write(tmp_path, {15: 'id = "fresh"'})
    message = load_error(path)
    assert f"{path}:15:" in message
    assert "status[2].id" in message and "twice" in message


def test_playbook_key_colliding_with_control_key(tmp_path):
    path = write(tmp_path, {9: 'key = "c"'})
    message = load_error(path)
    assert f"{path}:9:" in message
    assert "status[1].key" in message and "control" in message


@pytest.mark.parametrize("arrow", ["up", "down"])
def test_playbook_key_colliding_with_arrow_control(tmp_path, arrow):
    path = write(tmp_path, {9: f'key = "{arrow}"'})
    message = load_error(path)
    assert f"{path}:9:" in message
    assert "status[1].key" in message and "control" in message


def test_playbook_alt_key_colliding_with_control_key(tmp_path):
    path = write(tmp_path, extra=['alt_keys = ["c"]'])
    message = load_error(path)
    assert f"{path}:22:" in message
    assert "status[2].alt_keys" in message


def test_playbook_hold_without_hold_days(tmp_path):
    path = write(tmp_path, {21: 'ownership = "hold"'})
    message = load_error(path)
    assert f"{path}:14:" in message  # hold_days is missing: its [[status]] header
    assert "status[2].hold_days" in message and "hold" in message


def test_playbook_initial_not_a_status(tmp_path):
    path = write(tmp_path, {2: 'initial = "stale"'})
    message = load_error(path)
    assert f"{path}:2:" in message
    assert "'initial'" in message and "'stale'" in message


def test_playbook_suggest_unknown_status(tmp_path):
    path = write(tmp_path, {12: 'suggest = ["hot"]'})
    message = load_error(path)
    assert f"{path}:12:" in message
    assert "status[1].suggest" in message and "'hot'" in message


def test_playbook_parse_uses_the_given_name():
    with pytest.raises(LeadtuiError, match=r"^playbook stored in the database: "):
        parse('name = "x"\ninitial = ', "playbook stored in the database")


def test_playbook_tabs_is_group_or_status(tmp_path):
    assert load("wholesale").tabs == "group" and load("lifecycle").tabs == "status"
    path = write(tmp_path, {3: 'tabs = "colour"'})
    message = load_error(path)
    assert (
        f"{path}:3:" in message and "'tabs'" in message and "'colour' is not one of group, status" in message
    )
