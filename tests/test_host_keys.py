"""Strict host key checking on the drill's real SSH servers, and trusting a new key from the UI."""

from __future__ import annotations

import asyncssh
import pytest

from tests.conftest import wait_until
from tui.app import make_app
from tui.backend import BackendSpec
from tui.drill.lab import DrillLab


@pytest.fixture
async def lab(tmp_path):
    lab = DrillLab("healthy", workdir=tmp_path / "lab")
    await lab.start()
    yield lab
    await lab.stop()


def _known_hosts_without(lab: DrillLab, address: str) -> list[str]:
    lines = lab.known_hosts_path.read_text().splitlines()
    return [l for l in lines if not l.startswith(f"[{address}]:")]


async def test_unknown_key_is_refused_shown_and_trusted_only_after_typing_the_name(lab):
    lab.known_hosts_path.write_text("\n".join(_known_hosts_without(lab, "127.0.3.1")) + "\n")
    expected = lab.servers["master-0"].host_key.get_fingerprint()
    app = make_app(BackendSpec(inventory_path=str(lab.inventory_path)), refresh_interval=0.5)
    async with app.run_test(size=(160, 50)) as pilot:
        fleet = lambda: app.backend.fleet  # noqa: E731
        await wait_until(pilot, lambda: app.started and
                         fleet().status["master-0"].state.value == "host-key-unknown",
                         what="master-0 host-key-unknown")
        status = fleet().status["master-0"]
        assert status.fingerprint == expected
        assert expected in status.error
        await wait_until(pilot, lambda: fleet().status["master-1"].state.value == "connected",
                         what="the other hosts connect meanwhile")
        await pilot.press("t")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "TrustKeyScreen",
                         what="the trust dialog")
        await pilot.press(*"master-1", "enter")  # the wrong name trusts nothing
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "TrustKeyScreen"
        assert "127.0.3.1" not in lab.known_hosts_path.read_text()
        app.screen.query_one("Input").value = ""
        await pilot.press(*"master-0", "enter")
        await wait_until(pilot, lambda: fleet().status["master-0"].state.value == "connected",
                         what="master-0 connected after trusting its key")
        assert f"[127.0.3.1]:{lab.cluster.host('master-0').ssh_port}" in \
            lab.known_hosts_path.read_text()


async def test_changed_key_is_a_mismatch_and_is_never_offered_for_trust(lab):
    key = asyncssh.generate_private_key("ssh-ed25519")
    other = key.export_public_key().decode().strip()
    port = lab.cluster.host("master-1").ssh_port
    lines = _known_hosts_without(lab, "127.0.3.2") + [f"[127.0.3.2]:{port} {other}"]
    lab.known_hosts_path.write_text("\n".join(lines) + "\n")
    app = make_app(BackendSpec(inventory_path=str(lab.inventory_path)), refresh_interval=0.5)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_until(pilot, lambda: app.started and
                         app.backend.fleet.status["master-1"].state.value
                         == "host-key-mismatch", what="master-1 host-key-mismatch")
        error = app.backend.fleet.status["master-1"].error
        assert "do not connect" in error
        # the known key is named once (its line matches the host by name and by address)
        assert error.count(key.get_fingerprint()) == 1, error
        assert app.check_action("trust_key", ()) is False
        await pilot.press("t")
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "StatusScreen"
