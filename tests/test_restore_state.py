"""The restore wizard's setup rules without a screen (screens/restore_state.py): the start
gate, in the order the operator is told what is missing, the runbook's parameters, and the
typed lost-host confirmation."""

from __future__ import annotations

from types import SimpleNamespace

from screens.restore_state import QUORUM, SetupState


def _choices(procedure="4.12-4.13", path_reason="", backup_dir="", backup_source="",
             override=""):
    return SimpleNamespace(procedure=procedure, path_reason=path_reason,
                           backup_dir=backup_dir, backup_source=backup_source,
                           override=override)


def _item(title, ok=True, blocking=True, overridable=True, detail=""):
    return SimpleNamespace(title=title, ok=ok, blocking=blocking, overridable=overridable,
                           detail=detail, key=title.lower())


def _report(*items, procedure="restore"):
    return SimpleNamespace(items=list(items), procedure=procedure)


def test_the_gate_says_first_what_is_missing_first():
    state = SetupState()
    assert "read-only console" in state.start_blocked(True, _choices())
    state.checking = True
    assert state.start_blocked(False, _choices()) == "the preflight is running"
    state.checking, state.preflight_error = False, "no SSH"
    assert state.start_blocked(False, _choices()) == "the preflight did not run: no SSH"
    state.report = _report(_item("Backup"))
    assert state.start_blocked(False, _choices(procedure=None)) == "choose the procedure"
    state.suggested = "4.12-4.13"
    assert "instead of 4.12-4.13" in state.start_blocked(False, _choices("4.14-4.17"))
    typed = _choices("4.14-4.17", path_reason="upgraded yesterday")
    assert state.start_blocked(False, typed) == "choose the recovery host"
    state.recovery_host = "master-0"
    assert state.start_blocked(False, typed) is None
    assert state.start_blocked(False, _choices(QUORUM, path_reason="x")) == \
        "the preflight is running for the chosen procedure"


def test_an_override_passes_a_failed_check_but_not_one_that_no_override_passes():
    state = SetupState()
    state.recovery_host, state.suggested = "master-0", "4.12-4.13"
    state.report = _report(_item("Backup", ok=False))
    assert "1 blocking check(s) failed (Backup)" in state.start_blocked(False, _choices())
    assert state.start_blocked(False, _choices(override="the backup is elsewhere")) is None
    state.report = _report(_item("Quorum", ok=False, overridable=False, detail="2 of 3"))
    blocked = state.start_blocked(False, _choices(override="anyway"))
    assert blocked.startswith("Quorum failed, and no override") and blocked.endswith("2 of 3")
    assert [i.title for i in state.blocking_failures()] == ["Quorum"]


def test_the_parameters_say_why_another_procedure_and_who_is_lost():
    state = SetupState()
    state.recovery_host, state.suggested = "master-0", "4.12-4.13"
    state.suggested_why = "the cluster runs 4.12.30"
    params = state.params(_choices())
    assert params["procedure"] == "restore" and params["path"] == "4.12-4.13"
    assert params["path_reason"] == "the cluster runs 4.12.30"
    assert params["backup_dir"] == "/home/core/assets/backup"
    assert params["backup_source"] == "master-0:/home/core/assets/backup"
    assert "lost_hosts" not in params  # none known before a report
    params = state.params(_choices("4.14-4.17", path_reason="upgraded yesterday"))
    assert params["path_reason"] == \
        "chosen by the operator instead of 4.12-4.13: upgraded yesterday"
    state.report, state.lost_hosts = _report(), ["master-2"]
    state.confirmed_lost = {"master-2": "disk failed"}
    params = state.params(_choices(QUORUM))
    assert params["procedure"] == "quorum-restore" and "path" not in params
    assert params["lost_hosts"] == ["master-2"]
    assert params["confirmed_lost"] == {"master-2": "disk failed"}


def test_a_host_is_confirmed_lost_only_by_name_and_reason_and_never_one_that_answers():
    hosts = [SimpleNamespace(name=n, role="control-plane", state=s)
             for n, s in (("master-0", "connected"), ("master-1", "refused"),
                          ("master-2", "refused"))]
    hosts.append(SimpleNamespace(name="worker-0", role="worker", state="refused"))
    state = SetupState()
    state.recovery_host = "master-2"
    assert "answers over SSH" in state.confirm_lost("master-0 broken", hosts)
    assert "not a control-plane host" in state.confirm_lost("worker-0 gone", hosts)
    assert "the chosen recovery host" in state.confirm_lost("master-2 gone", hosts)
    assert "say why" in state.confirm_lost("master-1", hosts)
    assert state.confirmed_lost == {}
    assert state.confirm_lost("  master-1 powered off, disk failed ", hosts) is None
    assert state.confirmed_lost == {"master-1": "powered off, disk failed"}
