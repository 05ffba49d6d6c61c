"""Issue 12, part 4: "lost means proven lost". A control-plane host is lost only on evidence
(the operator confirms it, the API says its Node/Machine is gone, or SSH was refused / had
no route for longer than LOST_AFTER); a key problem is a key problem, never unreachable;
RST-04 and RST-16 act only on hosts that answer or are proven lost, and refuse two inventory
names for the recovery host's machine (same SSH host key)."""

from __future__ import annotations

import asyncio
import errno
import subprocess
from types import SimpleNamespace

import asyncssh
import pytest

from tests.cli_runner import run_cli
from tui.fleet.fleet import (LOST_KINDS, Fleet, HostState, HostStatus, JumpHostError,
                             failure_kind)
from tui.inventory import Host, Inventory, SshSettings
from tui.runbooks.restore.common import LOST_AFTER, Refusal, proven_lost
from tui.runbooks.restore.hosts import check_rst04_targets
from tui.runbooks.restore.machines import machine_replacement_reasons
from tui.runbooks.restore.preflight import classify_hosts
from tui.status.snapshot import HostView


# --- the classification of a failed connection --------------------------------------------

@pytest.mark.parametrize("exc, kind", [
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "refused"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "no-route"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "network-unreachable"),
    (asyncio.TimeoutError(), "timeout"),
    (TimeoutError(), "timeout"),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), "timeout"),
    # asyncio's join of every address of a name: lost kinds only if each failure is one
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('10.0.0.5', 22), "
             "[Errno 113] Connect call failed ('fd00::5', 22)"), "refused"),
    (OSError("Multiple exceptions: [Errno 111] Connect call failed ('10.0.0.5', 22), "
             "[Errno 110] Connect call failed ('fd00::5', 22)"), "other"),
    (asyncssh.PermissionDenied("denied"), "auth"),
    (asyncssh.HostKeyNotVerifiable("Host key is not trusted"), "host-key"),
    (asyncssh.KeyExchangeFailed("Unable to find compatible server host key"), "host-key"),
    (asyncssh.KeyExchangeFailed("No matching encryption algorithm"), "other"),
    (JumpHostError(errno.ECONNREFUSED, "jump host core@bastion: connection refused"),
     "jump-host"),
    (asyncssh.ConnectionLost("lost"), "other"),
    (OSError(errno.EACCES, "Permission denied"), "other"),
])
def test_failure_kinds(exc, kind):
    assert failure_kind(exc) == kind
    assert (kind in LOST_KINDS) == (kind in ("refused", "no-route", "network-unreachable"))


def _inventory(*hosts: Host, known_hosts: str = "/nonexistent") -> Inventory:
    return Inventory(cluster_name="t", hosts=tuple(hosts),
                     ssh=SshSettings(known_hosts=known_hosts, sudo=False, connect_timeout=5))


def test_only_an_unbroken_run_of_refusals_counts_and_anything_else_resets_it():
    fleet = Fleet(_inventory(Host("m1", "127.0.0.1")))
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    fleet._record_failure("m1", refused)
    fleet._set_state("m1", HostState.UNREACHABLE, "refused")
    began = fleet.status["m1"].lost_signal_since
    fleet._record_failure("m1", OSError(errno.EHOSTUNREACH, "no route"))
    assert fleet.status["m1"].lost_signal_since == began  # still the same run
    kind, seconds = fleet.unreachable_for("m1")
    assert kind == "no-route" and 0 <= seconds < 5
    fleet._record_failure("m1", asyncio.TimeoutError())  # a timeout proves nothing
    assert fleet.unreachable_for("m1") is None
    fleet._record_failure("m1", refused)
    assert fleet.status["m1"].lost_signal_since > began  # a new run begins
    fleet._set_state("m1", HostState.HOST_KEY_MISMATCH, "changed")
    assert fleet.unreachable_for("m1") is None  # only while unreachable


# --- a real asyncssh server whose host key type changed; a refused port --------------------

async def test_a_key_type_change_is_a_mismatch_with_both_keys_and_a_closed_port_is_refused(
        tmp_path):
    rsa = asyncssh.generate_private_key("ssh-rsa")
    ed = asyncssh.generate_private_key("ssh-ed25519")

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username):
            return True

    server = await asyncssh.create_server(Server, "127.0.41.1", 0, server_host_keys=[rsa])
    port = server.sockets[0].getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.41.1]:{port} {ed.export_public_key().decode().strip()}\n")
    closed = asyncssh.generate_private_key("ssh-ed25519")  # any key: nobody listens there
    known.write_text(known.read_text() + f"[127.0.41.2]:{port} "
                     f"{closed.export_public_key().decode().strip()}\n")
    fleet = Fleet(_inventory(Host("changed", "127.0.41.1", port=port),
                             Host("gone", "127.0.41.2", port=port),
                             known_hosts=str(known)), reconnect=False)
    try:
        await fleet.start(timeout=20)
        changed, gone = fleet.status["changed"], fleet.status["gone"]
        assert changed.state == HostState.HOST_KEY_MISMATCH, changed
        assert changed.failure == "host-key" and fleet.unreachable_for("changed") is None
        assert rsa.get_fingerprint() in changed.error and ed.get_fingerprint() in changed.error
        assert "ssh-ed25519" in changed.error and "ssh-rsa" in changed.error
        assert "host key type changed" in changed.error
        assert changed.fingerprint == rsa.get_fingerprint()
        assert gone.state == HostState.UNREACHABLE and gone.failure == "refused"
        assert fleet.unreachable_for("gone")[0] == "refused"
    finally:
        await fleet.close()
        server.close()


# --- the preflight's classification ---------------------------------------------------------

class FakeFleet:
    def __init__(self, failing: dict[str, tuple[str, float]], statuses=None):
        self.failing = failing
        self.status = statuses or {}

    def unreachable_for(self, name):
        return self.failing.get(name)


def _views(**states) -> list[HostView]:
    return [HostView(name, f"10.0.0.{i}", "control-plane", state, None, 0.0)
            for i, (name, state) in enumerate(states.items())]


def _ctx(fleet, time_scale=1.0, api=None, **params):
    return SimpleNamespace(params=params, time_scale=time_scale, fleet=fleet, api=api,
                           inventory=None, cluster_ops=None, restore_report=None)


SNAP_NO_API = SimpleNamespace(api=SimpleNamespace(reachable=False))


@pytest.mark.parametrize("state, failing, scale, lost, wait", [
    ("unreachable", ("refused", LOST_AFTER + 1), 1.0, True, 0.0),
    ("unreachable", ("no-route", LOST_AFTER + 1), 1.0, True, 0.0),
    ("unreachable", ("refused", 12.0), 1.0, False, LOST_AFTER - 12),
    ("unreachable", ("refused", 0.5), 300.0, True, 0.0),   # 150 s of drill time
    ("unreachable", ("refused", 0.1), 300.0, False, LOST_AFTER / 300 - 0.1),
    ("unreachable", None, 1.0, False, 0.0),                 # a timeout: never by waiting
    ("host-key-mismatch", None, 1.0, False, 0.0),
    ("auth-failed", None, 1.0, False, 0.0),
    ("sudo-denied", None, 1.0, False, 0.0),
    ("connecting", None, 1.0, False, 0.0),
])
async def test_lost_only_on_evidence(state, failing, scale, lost, wait):
    fleet = FakeFleet({"m1": failing} if failing else {})
    found, unproven, waiting = await classify_hosts(_ctx(fleet, scale), SNAP_NO_API,
                                                    _views(m0="connected", m1=state))
    assert ("m1" in found) == lost and ("m1" in unproven) == (not lost)
    assert "m0" not in found and "m0" not in unproven
    assert waiting == pytest.approx(wait, abs=0.01)
    if not lost:
        assert "confirm it lost" in unproven["m1"]


async def test_an_operator_confirmation_is_evidence_with_its_reason():
    found, unproven, _ = await classify_hosts(
        _ctx(FakeFleet({}), confirmed_lost={"m1": "powered off, disk failed"}), SNAP_NO_API,
        _views(m0="connected", m1="host-key-mismatch", m2="unreachable"))
    assert found == {"m1": "confirmed lost by the operator: powered off, disk failed"}
    assert list(unproven) == ["m2"]


async def test_the_api_saying_the_machine_failed_is_evidence():
    class Api:
        async def get_json(self, path):
            if path == "/api/v1/nodes":
                return {"items": [{"metadata": {"name": "m1"}, "status": {"conditions": [
                    {"type": "Ready", "status": "Unknown",
                     "lastTransitionTime": "2020-01-01T00:00:00Z"}]}}]}
            return {"items": [{"metadata": {"name": "c-master-2"},
                               "status": {"phase": "Failed", "nodeRef": {"name": "m2"}}}]}

    inventory = _inventory(Host("m0", "10.0.0.0"), Host("m1", "10.0.0.1"),
                           Host("m2", "10.0.0.2"), Host("m3", "10.0.0.3"))
    ctx = _ctx(FakeFleet({}), api=Api())
    ctx.inventory = inventory
    ctx.facts = {}
    snap = SimpleNamespace(api=SimpleNamespace(reachable=True))
    found, unproven, _ = await classify_hosts(ctx, snap, _views(
        m0="connected", m1="unreachable", m2="unreachable", m3="unreachable"))
    assert "Node m1 NotReady for" in found["m1"]
    assert "Machine c-master-2 is Failed" in found["m2"]
    assert list(unproven) == ["m3"]  # the API says nothing of it


# --- RST-04 and RST-16 before they act ------------------------------------------------------

def _run_ctx(states: dict[str, HostState], keys: dict[str, str] | None = None, **params):
    inventory = _inventory(*(Host(n, f"10.0.0.{i}") for i, n in enumerate(states)))
    status = {n: HostStatus(state=s, server_key=(keys or {}).get(n)) for n, s in
              states.items()}
    return SimpleNamespace(inventory=inventory, fleet=SimpleNamespace(status=status),
                           params={"recovery_host": "m0", "path": "4.18+", **params})


STATES = {"m0": HostState.CONNECTED, "m1": HostState.CONNECTED,
          "m2": HostState.UNREACHABLE}


def test_rst04_refuses_a_host_that_is_only_unreachable():
    with pytest.raises(Refusal) as e:
        check_rst04_targets(_run_ctx(STATES))
    assert "m2 is unreachable" in e.value.message and "not proven lost" in e.value.message
    with pytest.raises(Refusal, match="nothing proves it"):
        check_rst04_targets(_run_ctx(STATES, lost_hosts=["m2"]))
    ctx = _run_ctx(STATES, lost_hosts=["m2"],
                   lost_evidence={"m2": "connection refused on every SSH connection for 75 s"})
    check_rst04_targets(ctx)  # proven: RST-04 skips it with that evidence
    assert proven_lost(ctx, "m2").startswith("connection refused")


def test_rst16_deletes_machines_of_proven_lost_hosts_only_and_says_why():
    with pytest.raises(Refusal, match="nothing proves it"):
        machine_replacement_reasons(_run_ctx(STATES, lost_hosts=["m2"]), "RST-16")
    ctx = _run_ctx(STATES, lost_hosts=["m2"],
                   lost_evidence={"m2": "confirmed lost by the operator: --lost"})
    assert machine_replacement_reasons(ctx, "RST-16") == {
        "m2": "lost: confirmed lost by the operator: --lost"}
    assert machine_replacement_reasons(ctx, "QRS-04") == {
        "m2": "lost: confirmed lost by the operator: --lost"}
    # 4.12-4.17: the procedure recreates the other machines too, each with its reason
    old = _run_ctx(STATES, path="4.12-4.13", lost_hosts=["m2"],
                   lost_evidence={"m2": "the API says Machine c-2 is Failed"})
    reasons = machine_replacement_reasons(old, "RST-16")
    assert set(reasons) == {"m1", "m2"} and "answered over SSH" in reasons["m1"]


def test_two_names_for_the_recovery_hosts_machine_are_refused_before_rst04_and_rst16():
    keys = {"m0": "SHA256:same", "m1": "SHA256:same", "m2": "SHA256:other"}
    states = dict(STATES, m2=HostState.CONNECTED)
    ctx = _run_ctx(states, keys)
    for check in (lambda: check_rst04_targets(ctx),
                  lambda: machine_replacement_reasons(ctx, "RST-16")):
        with pytest.raises(Refusal) as e:
            check()
        assert "m1 and the recovery host m0" in e.value.message
        assert "SHA256:same" in e.value.message
    check_rst04_targets(_run_ctx(states, dict(keys, m1="SHA256:mine")))


# --- headless: --lost -----------------------------------------------------------------------

def _etcd_dr(*args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, timeout=300)


def test_lost_on_the_command_line_is_evidence_and_a_host_that_answers_cannot_be_lost():
    r = _etcd_dr("run", "quorum-restore", "--drill", "--scenario", "quorum-lost-4.18",
                 "--dry-run", "--lost", "master-1", "--lost", "master-2")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "master-1: confirmed lost by the operator" in r.stdout
    assert "<machine of master-1>" in r.stdout and "<machine of master-2>" in r.stdout
    r = _etcd_dr("run", "quorum-restore", "--drill", "--scenario", "quorum-lost-4.18",
                 "--dry-run", "--lost", "master-0", "--lost", "nosuch")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "master-0: it answers over SSH" in r.stderr and "nosuch: not a control-plane" \
        in r.stderr


# --- the restore screen: a typed, per-host confirmation -------------------------------------

async def test_the_wizard_confirms_a_host_lost_only_by_name_and_reason(drill_app, tmp_path,
                                                                      monkeypatch):
    from textual.widgets import Input

    from tests.conftest import populated, wait_until

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    app = drill_app("lost-two-hosts", speed=1)  # refused for a second or two: not lost yet
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: populated(app), what="first snapshot")
        await pilot.press("R")
        await wait_until(pilot, lambda: app.current_mode == "restore", what="the wizard")
        screen = app.screen
        await wait_until(pilot, lambda: screen.report is not None and not screen.checking,
                         what="the preflight")
        assert screen.lost_hosts == [] and set(screen.unproven) == {"master-1", "master-2"}
        assert "answers over SSH or is proven lost" in screen.start_blocked()
        assert "answers over SSH" in screen.confirm_lost("master-0 it is broken")
        assert "say why" in screen.confirm_lost("master-1")
        assert "not a control-plane host" in screen.confirm_lost("nosuch gone")
        box = screen.query_one("#confirm-lost", Input)
        box.focus()
        box.value = "master-1 powered off, disk failed"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.lost_hosts == ["master-1"] and not
                         screen.checking, what="master-1 lost on the operator's word")
        shown = str(screen.query_one("#lost-hosts").render())
        assert "master-1: confirmed lost by the operator: powered off, disk failed" in shown
        assert "master-2 is not proven lost" in shown
        assert screen.params()["confirmed_lost"] == {"master-1": "powered off, disk failed"}
        assert "answers over SSH or is proven lost" in screen.start_blocked()  # master-2
