"""The order the suite's work goes out to pytest-xdist's workers (tests/conftest.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests import conftest


def item(nodeid: str, group: str | None = None):
    marks = {"xdist_group": SimpleNamespace(args=(group,), kwargs={})} if group else {}
    return SimpleNamespace(nodeid=nodeid, get_closest_marker=marks.get)


@pytest.fixture
def durations(tmp_path, monkeypatch):
    def write(seconds: dict[str, float]) -> None:
        path = tmp_path / "durations.json"
        path.write_text(json.dumps(seconds))
        monkeypatch.setattr(conftest, "DURATIONS", path)

    return write


def ids(items) -> list[str]:
    return [i.nodeid for i in items]


def test_the_longest_units_go_first_and_a_groups_tests_stay_together(durations):
    durations({"a.py::slow": 100.0, "g.py::one": 30.0, "g.py::two": 40.0, "b.py::mid": 50.0})
    items = [item("a.py::fast"), item("g.py::one", "g"), item("b.py::mid"),
             item("a.py::slow"), item("g.py::two", "g"), item("c.py::fast")]
    # a.py::slow 100, then the group g (70, its tests in their own order), b.py::mid 50,
    # then the unlisted ones (a second each) as they were collected
    assert ids(conftest.longest_first(items)) == [
        "a.py::slow", "g.py::one", "g.py::two", "b.py::mid", "a.py::fast", "c.py::fast"]


def test_without_the_file_the_order_is_the_collected_one_with_groups_together(
        tmp_path, monkeypatch):
    monkeypatch.setattr(conftest, "DURATIONS", tmp_path / "missing.json")
    items = [item("a.py::x"), item("g.py::one", "g"), item("b.py::y"), item("g.py::two", "g")]
    # the group's two unlisted tests weigh two seconds: it goes before the single tests
    assert ids(conftest.longest_first(items)) == ["g.py::one", "g.py::two", "a.py::x", "b.py::y"]


def test_the_checked_in_durations_are_node_ids_with_seconds():
    """Keyed as the hook sees items: node ids without pytest-xdist's @group suffix. (A
    renamed test leaves a stale line, which only costs the order.)"""
    seconds = json.loads(conftest.DURATIONS.read_text())
    assert seconds and all("::" in nodeid and "@" not in nodeid.split("::")[-1]
                           for nodeid in seconds)
    assert all(isinstance(s, (int, float)) and s > 0 for s in seconds.values())
