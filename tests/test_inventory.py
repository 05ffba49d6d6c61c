"""Inventory loading: good files load, bad ones fail with file, key path and line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from tui.errors import ConfigError
from tui.inventory import DEFAULT_ETCDCTL, load_inventory, parse_inventory

GOOD = """\
cluster:
  name: prod-east
  version: "4.12.30"
kubeconfig: ~/prod-east/auth/kubeconfig
context: admin
ssh:
  user: core
  identity_file: $HOME/.ssh/id_ed25519
  known_hosts: ~/.ssh/known_hosts
  jump: core@bastion.example.com:22
  connect_timeout: 10s
hosts:
  - name: master-0
    address: 10.0.0.5
  - name: master-1
    address: 10.0.0.6
    port: 2222
  - name: worker-0
    address: 10.0.0.9
    role: worker
    user: admin
"""


def test_good_inventory_loads_with_defaults_and_expansion(monkeypatch, tmp_path):
    home = tmp_path / "op"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("a key\n")  # identity files must exist
    monkeypatch.setenv("HOME", str(home))
    inv = parse_inventory(GOOD, "inv.yaml")
    assert inv.cluster_name == "prod-east"
    assert inv.cluster_version == "4.12.30"
    assert inv.kubeconfig == f"{home}/prod-east/auth/kubeconfig"
    assert inv.ssh.identity_file == f"{home}/.ssh/id_ed25519"
    assert inv.ssh.known_hosts == f"{home}/.ssh/known_hosts"
    assert inv.ssh.connect_timeout == 10.0
    assert inv.ssh.sudo is True
    assert [h.name for h in inv.control_plane] == ["master-0", "master-1"]
    assert inv.host("master-1").port == 2222
    assert inv.host("master-0").port == 22
    assert inv.host("worker-0").user == "admin"
    assert inv.host("master-0").identity_file == f"{home}/.ssh/id_ed25519"
    assert inv.etcdctl == DEFAULT_ETCDCTL


@pytest.mark.parametrize("text, needle, line", [
    ("cluster: {name: x}\nhosts: []\n", "needs at least one control-plane host", 2),
    ("cluster: {name: x}\nhosts:\n  - name: a\n", "hosts[0].address: is required", 3),
    ("cluster: {name: x}\nhosts:\n  - name: a\n    address: 1.2.3.4\n    role: boss\n",
     "hosts[0].role: 'boss' is not a role", 5),
    ("cluster: {name: x}\nssh:\n  port: 70000\nhosts:\n  - {name: a, address: b}\n",
     "ssh.port: 70000 is not a TCP port", 3),
    ("cluster: {name: x}\nssh:\n  connect_timeout: soon\nhosts:\n  - {name: a, address: b}\n",
     "ssh.connect_timeout: not a duration", 3),
    ("cluster: {name: x}\nhosts:\n  - {name: a, address: b}\n  - {name: a, address: c}\n",
     "'a' is already used", 4),
    ("cluster: {name: x}\nhostz: []\n", "hostz: is not a known key", 2),
    ("cluster:\n  name: [1]\nhosts: []\n", "cluster.name: expected text", 2),
    ("cluster: {name: x\n", "not valid YAML", None),
    ("", "the file is empty", None),
    ("- a\n- b\n", "expected a mapping", None),
])
def test_bad_inventories_name_file_key_and_line(text, needle, line):
    with pytest.raises(ConfigError) as e:
        parse_inventory(text, "bad.yaml")
    msg = e.value.message
    assert needle in msg
    assert msg.startswith("bad.yaml")
    if line:
        assert f"line {line}" in msg


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_inventory(tmp_path / "nope.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_raises_only_config_error(text):
    try:
        parse_inventory(text, "fuzz.yaml")
    except ConfigError:
        pass


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["cluster", "name", "hosts", "address", "ssh", "port", "role", "sudo",
                         "version", "jump", "connect_timeout", "user", "x"]), children,
        max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_arbitrary_structures_raise_only_config_error(value):
    import yaml

    try:
        parse_inventory(yaml.safe_dump(value), "fuzz.yaml")
    except ConfigError:
        pass
