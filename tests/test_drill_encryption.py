"""The drill's encryption migration: the operators' Encrypted conditions over simulated time,
with the shapes and texts of library-go's condition controller, read through the real API."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest

from tui.cluster.api import CONFIG_GROUP, ClusterApi
from tui.drill import encryption
from tui.drill.encryption import conditions_at, finished_after
from tui.drill.lab import DrillLab
from tui.drill.model import SimClock
from tui.drill.scenario import build_cluster
from tui.errors import ConfigError

START = datetime(2026, 1, 5, 10, 0, 0, tzinfo=timezone.utc)
OPS = ("openshiftapiserver", "kubeapiserver", "authentication")
DONE = {
    "openshiftapiserver": "All resources encrypted: routes.route.openshift.io",
    "kubeapiserver": "All resources encrypted: secrets, configmaps",
    "authentication": "All resources encrypted: oauthaccesstokens.oauth.openshift.io, "
                      "oauthauthorizetokens.oauth.openshift.io",
}
NOT_ENCRYPTED = {
    "openshiftapiserver": "Resource routes.route.openshift.io is not encrypted",
    "kubeapiserver": "Resource secrets is not encrypted",
    "authentication": "Resource oauthaccesstokens.oauth.openshift.io is not encrypted",
}
ONGOING = {"status": "False", "reason": "EncryptionInProgress", "message": "Encryption is ongoing"}
DECRYPTING = {"status": "False", "reason": "DecryptionInProgress",
              "message": "Encryption mode set to identity and decryption is not finished"}
DECRYPTED = {"status": "False", "reason": "DecryptionCompleted",
             "message": "Encryption mode set to identity and everything is decrypted"}


def completed(op: str) -> dict:
    return {"status": "True", "reason": "EncryptionCompleted", "message": DONE[op]}


# --- the pure function ---------------------------------------------------------------------


def test_encryption_goes_through_the_real_shapes_operator_by_operator():
    t0 = 1000.0

    def at(minutes: float) -> dict:
        return conditions_at("aescbc", t0, t0 + minutes * 60, minutes=20)

    # at first the controllers leave the condition alone (the new key's revision rolls out)
    assert at(0.5) == {op: {"status": "False"} for op in OPS}
    assert at(1.5) == {op: {"status": "False", "reason": "EncryptionInProgress",
                            "message": NOT_ENCRYPTED[op]} for op in OPS}
    assert at(5) == {op: ONGOING for op in OPS}
    # authentication finishes first, kube-apiserver last, after the whole migration time
    assert at(12) == {"authentication": completed("authentication"),
                      "openshiftapiserver": ONGOING, "kubeapiserver": ONGOING}
    assert at(15)["openshiftapiserver"] == completed("openshiftapiserver")
    assert at(19.9)["kubeapiserver"] == ONGOING
    assert at(20) == {op: completed(op) for op in OPS}
    assert finished_after(20) == 1200


def test_decryption_shapes_and_a_configurable_duration():
    t0 = 0.0
    before = {op: completed(op) for op in OPS}
    assert conditions_at("identity", t0, 1, minutes=40, before=before) == \
        {op: DECRYPTING for op in OPS}
    assert conditions_at("identity", t0, 40 * 60 - 1, minutes=40)["kubeapiserver"] == DECRYPTING
    assert conditions_at("", t0, 40 * 60, minutes=40) == {op: DECRYPTED for op in OPS}


# --- through the simulated API -------------------------------------------------------------


@pytest.fixture
async def lab(tmp_path):
    labs = []

    async def start(scenario="healthy", clock=None):
        lab = DrillLab(scenario, workdir=tmp_path / f"lab{len(labs)}",
                       clock=clock or SimClock(frozen=True, start=START))
        inventory = await lab.start()
        labs.append(lab)
        return lab, ClusterApi.from_inventory(inventory)

    yield start
    for lab in labs:
        await lab.stop()


async def set_type(api: ClusterApi, encryption_type: str) -> dict:
    return await api.patch_cluster_object(CONFIG_GROUP, "apiservers", "cluster",
                                          {"spec": {"encryption": {"type": encryption_type}}})


async def conditions(api: ClusterApi) -> dict:
    snap = await api.snapshot()
    assert snap.reachable, snap.error
    return {op: (c.to_json() if c else None) for op, c in snap.encrypted.items()}


async def settle(lab: DrillLab, api: ClusterApi, minutes: float, want: dict) -> dict:
    """Advance the simulated clock, then read the API until the background task caught up."""
    lab.cluster.clock.advance(minutes * 60)
    deadline = time.monotonic() + 5
    while True:
        got = await conditions(api)
        if all(got[op] == shown(c) for op, c in want.items()) or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.05)


def shown(c: dict) -> dict:
    return {"reason": None, "message": None, **c}


async def test_enable_then_disable_through_the_api(lab):
    lab, api = await lab()
    try:
        before = await conditions(api)
        assert before == {op: shown({"status": "False"}) for op in OPS}  # never encrypted
        obj = await set_type(api, "aescbc")
        assert obj["spec"]["encryption"] == {"type": "aescbc"}
        snap = await api.snapshot()
        assert snap.encryption_type == "aescbc"

        got = await settle(lab, api, 1.5, {op: {"status": "False", "reason": "EncryptionInProgress",
                                                "message": NOT_ENCRYPTED[op]} for op in OPS})
        assert got["kubeapiserver"] == shown({"status": "False", "reason": "EncryptionInProgress",
                                              "message": NOT_ENCRYPTED["kubeapiserver"]})
        got = await settle(lab, api, 5, {op: ONGOING for op in OPS})
        assert got == {op: shown(ONGOING) for op in OPS}
        got = await settle(lab, api, 6, {"authentication": completed("authentication")})
        assert got["authentication"] == shown(completed("authentication"))
        assert got["kubeapiserver"] == shown(ONGOING)
        got = await settle(lab, api, 8, {op: completed(op) for op in OPS})
        assert got == {op: shown(completed(op)) for op in OPS}
        assert lab.cluster.api.encryption_since is None  # settled

        # a key rotation to aesgcm keeps the fully migrated key: still EncryptionCompleted
        await set_type(api, "aesgcm")
        got = await settle(lab, api, 3, {op: completed(op) for op in OPS})
        assert got == {op: shown(completed(op)) for op in OPS}

        # back to identity: decryption at once, completed after the migration time
        await set_type(api, "identity")
        got = await settle(lab, api, 0.2, {op: DECRYPTING for op in OPS})
        assert got == {op: shown(DECRYPTING) for op in OPS}
        got = await settle(lab, api, 20, {op: DECRYPTED for op in OPS})
        assert got == {op: shown(DECRYPTED) for op in OPS}
        assert (await api.snapshot()).encryption_type == "identity"
    finally:
        await api.close()


async def test_scenario_encryption_in_progress_completes_later(lab):
    lab, api = await lab("encryption-in-progress")
    try:
        snap = await api.snapshot()
        assert snap.encryption_type == "aescbc"
        assert {op: c.reason for op, c in snap.encrypted.items()} == \
            {op: "EncryptionInProgress" for op in OPS}
        # started 8 of 20 minutes ago: authentication is done 4 minutes from now
        got = await settle(lab, api, 4, {"authentication": completed("authentication")})
        assert got["authentication"] == shown(completed("authentication"))
        assert got["kubeapiserver"]["reason"] == "EncryptionInProgress"
        got = await settle(lab, api, 8, {op: completed(op) for op in OPS})
        assert got == {op: shown(completed(op)) for op in OPS}
    finally:
        await api.close()


async def test_with_a_fast_clock_the_migration_runs_on_its_own(lab):
    # --speed 60 makes the default 20 minutes take 20 s; 1200x makes it 1 s
    lab, api = await lab(clock=SimClock(speed=1200, start=START))
    try:
        await set_type(api, "aescbc")
        deadline = time.monotonic() + 10
        while True:
            got = await conditions(api)
            if all(c and c["reason"] == "EncryptionCompleted" for c in got.values()):
                break
            assert time.monotonic() < deadline, got
            await asyncio.sleep(0.1)
        assert finished_after(20) / 60 == 20  # seconds of real time at --speed 60
    finally:
        await api.close()


def test_identity_and_unset_are_the_same_mode():
    cluster = build_cluster("healthy", clock=SimClock(frozen=True, start=START))
    cluster.api.encryption_type = "identity"
    cluster.changed()
    cluster.api.encryption_type = ""
    cluster.changed()
    assert cluster.api.encryption_since is None
    assert cluster.api.encrypted == {op: {"status": "False"} for op in OPS}


def test_switching_back_before_anything_happened_changes_nothing():
    cluster = build_cluster("healthy", clock=SimClock(frozen=True, start=START))
    cluster.api.encryption_type = "aescbc"
    cluster.changed()
    cluster.clock.advance(10)
    cluster.api.encryption_type = "identity"
    cluster.changed()
    cluster.clock.advance(3600)
    cluster.changed()
    assert cluster.api.encryption_since is None
    assert cluster.api.encrypted == {op: {"status": "False"} for op in OPS}


# --- scenario keys -------------------------------------------------------------------------


def scenario(tmp_path, api: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\ndescription: d\ncontrol_plane: 3\napi:\n{api}")
    return str(path)


def test_scenario_settled_encryption_shows_completed(tmp_path):
    cluster = build_cluster(scenario(tmp_path, "  encryption: aesgcm\n"))
    assert cluster.api.encrypted == {op: completed(op) for op in OPS}
    cluster = build_cluster(scenario(tmp_path, "  encryption: identity\n"
                                               "  encryption_started_minutes_ago: 5\n"
                                               "  migration_minutes: 10\n"))
    assert cluster.api.encrypted == {op: DECRYPTING for op in OPS}
    assert cluster.api.encryption_minutes == 10


@pytest.mark.parametrize("api, message", [
    ("  encryption: aes\n", "api.encryption must be one of identity, aescbc, aesgcm"),
    ("  encryption: aescbc\n  migration_minutes: 0\n", "api.migration_minutes must be more than 0"),
    ("  encryption: aescbc\n  migration_minutes: soon\n", "migration_minutes must be a number"),
    ("  encryption_started_minutes_ago: 3\n",
     "api.encryption_started_minutes_ago needs api.encryption: aescbc or aesgcm"),
    ("  encryption: aescbc\n  encryption_started_minutes_ago: -1\n",
     "api.encryption_started_minutes_ago must be 0 or more"),
    ("  rollout_in_progress: yes please\n", "api.rollout_in_progress must be true or false"),
    ("  encrypted: {kubeapiserver: {status: Maybe}}\n",
     "api.encrypted.kubeapiserver must be null or a condition"),
    ("  encrypted: {etcd: {status: 'True'}}\n", "api.encrypted: unknown operator 'etcd'"),
])
def test_scenario_keys_are_validated(tmp_path, api, message):
    with pytest.raises(ConfigError) as e:
        build_cluster(scenario(tmp_path, api))
    assert message in str(e.value)
    assert "scenario s" in str(e.value)


def test_attach_is_idempotent():
    cluster = build_cluster("healthy", clock=SimClock(frozen=True, start=START))
    encryption.attach(cluster)
    encryption.attach(cluster)
    assert sum(type(l).__name__ == "_Follower" for l in cluster.listeners) == 1
