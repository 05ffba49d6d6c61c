"""`etcd-dr run`'s countdown lines (issue #14): one when what it says changes, not one per
poll. RST-23 waits 30 s before each look at a rollout, so each poll starts a countdown of its
own at "30s left"; printed on every poll, that countdown never counted down."""

from __future__ import annotations

import io

import pytest

from tui.runbooks import headless
from tui.runbooks.context import RunEvent
from tui.runbooks.headless import HeadlessOperator

KAS = "kubeapiserver: rolling out ({} nodes are at revision 9; {} nodes are at revision 10)"


@pytest.fixture
def wall(monkeypatch):
    """The headless operator's wall clock, moved by the test."""
    now = [1000.0]
    monkeypatch.setattr(headless.time, "monotonic", lambda: now[0])
    return now


def _operator():
    out = io.StringIO()
    return HeadlessOperator(yes=True, out=out, err=io.StringIO(), interactive=False,
                            time_scale=60), out


def test_a_polling_wait_prints_its_countdown_once_and_each_change_of_its_reason(wall):
    op, out = _operator()
    op.show(RunEvent("command", "RST-23", "$ oc patch kubeapiserver/cluster ..."))
    polls = [KAS.format(3, 0), KAS.format(3, 0), KAS.format(2, 1), KAS.format(2, 1),
             KAS.format(1, 2)]
    for reason in polls:  # each poll: a new 30 s wait, as RST-23's StepRun.wait shows it
        for left in (30.0, 29.5):
            op.show(RunEvent("waiting", "RST-23", reason, remaining=left))
        wall[0] += 0.5
    op.show(RunEvent("command", "RST-23", "$ oc patch kubecontrollermanager/cluster ..."))
    op.show(RunEvent("waiting", "RST-23", "kubecontrollermanager: rolling out", remaining=30))
    assert out.getvalue().splitlines() == [
        "[RST-23] $ oc patch kubeapiserver/cluster ...",
        f"[RST-23] waiting: {KAS.format(3, 0)} (30s left (drill time, x60))",
        f"[RST-23] waiting: {KAS.format(2, 1)}",
        f"[RST-23] waiting: {KAS.format(1, 2)}",
        "[RST-23] $ oc patch kubecontrollermanager/cluster ...",
        "[RST-23] waiting: kubecontrollermanager: rolling out (30s left (drill time, x60))",
    ]


def test_the_same_reason_polled_for_long_prints_no_repeated_countdown(wall):
    """Minutes of polls with nothing new: the "30s left" each poll starts is not repeated."""
    op, out = _operator()
    for _ in range(20):
        op.show(RunEvent("waiting", "RST-23", KAS.format(3, 0), remaining=30))
        wall[0] += 11  # more than the 10 s between two lines of one reason
    assert out.getvalue().count("30s left") == 1, out.getvalue()
    assert len(out.getvalue().splitlines()) == 1


def test_a_countdown_that_moves_on_is_printed_every_10_seconds(wall):
    """A wait with a deadline (a step's Wait): its countdown goes down, a line every 10 s
    of the wall at most, and at once when the reason changes."""
    op, out = _operator()
    for second in range(0, 31):
        op.show(RunEvent("waiting", "RST-22", "etcd rolling out", remaining=1800 - 60 * second))
        wall[0] += 1
    op.show(RunEvent("waiting", "RST-22", "etcd settled on revision 8", remaining=1000))
    lines = out.getvalue().splitlines()
    assert lines == [
        "[RST-22] waiting: etcd rolling out (30m 00s left (drill time, x60))",
        "[RST-22] waiting: etcd rolling out (20m 00s left (drill time, x60))",
        "[RST-22] waiting: etcd rolling out (10m 00s left (drill time, x60))",
        "[RST-22] waiting: etcd rolling out (0s left (drill time, x60))",
        "[RST-22] waiting: etcd settled on revision 8 (16m 40s left (drill time, x60))",
    ], lines
