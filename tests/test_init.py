"""`etcd-dr init` (issue 16, item 1): an inventory discovered from the cluster's API, then SSH
checked per host and unknown host keys trusted only when someone (or --trust-on-first-use,
journaled) says so.

Discovery is tested on real clusters' API objects, read at test time from the held-out
reference set next to the repository (../shared/reference/ocp-objects, see its SOURCES.md):
the MG-AWS must-gather's six nodes (3 masters, 3 workers), both ClusterVersions (a stable 4.8
and a 4.15 update under way) and both Proxies. There is no real Infrastructure object in the
set: the one here is shaped on openshift/api config/v1 types_infrastructure.go and the drill's
tui/drill/rest/config.py, with the MG-AWS cluster's names. The drill runs init end to end.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from tests.cli_runner import run_cli
from tui.discover import DiscoveryError, InitSettings, discover, node_address, render_inventory
from tui.errors import ConfigError
from tui.hostcheck import TrustPolicy
from tui.initialize import InitRequest, run_init
from tui.inventory import load_inventory, parse_inventory

# the held-out reference set: $ETCD_DR_REFERENCE (the `reference` folder), else the one next
# to the repository. A checkout without it (a CI machine that has only the repository) skips
# these tests and says so; ETCD_DR_REQUIRE_REFERENCE=1 makes its absence a failure.
REFERENCE = Path(os.environ.get("ETCD_DR_REFERENCE") or
                 Path(__file__).resolve().parents[2] / "shared" / "reference") / "ocp-objects"
MG_AWS_MASTERS = {"ip-10-0-187-218.ec2.internal": "10.0.187.218",
                  "ip-10-0-189-142.ec2.internal": "10.0.189.142",
                  "ip-10-0-195-177.ec2.internal": "10.0.195.177"}
MG_AWS_WORKERS = {"ip-10-0-129-220.ec2.internal": "10.0.129.220",
                  "ip-10-0-151-183.ec2.internal": "10.0.151.183",
                  "ip-10-0-254-204.ec2.internal": "10.0.254.204"}


def reference(name: str) -> dict:
    path = REFERENCE / name
    if not path.is_file():  # held out of the repository
        why = (f"{path} is missing: these tests read the real-shaped API objects of "
               f"../shared/reference/ocp-objects at test time (set ETCD_DR_REFERENCE)")
        if os.environ.get("ETCD_DR_REQUIRE_REFERENCE") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return json.loads(path.read_text())


def aws_infrastructure(topology: str | None = "HighlyAvailable") -> dict:
    """Infrastructure `cluster` of the MG-AWS cluster (its infrastructure name is in its
    nodes' machine annotations), shaped on types_infrastructure.go: status.platform (old)
    and platformStatus.type, apiServerURL, infrastructureName, controlPlaneTopology."""
    status = {"apiServerInternalURI": "https://api-int.ci-ln-5ylibmb-d5d6b.origin-ci-int-aws."
                                      "dev.rhcloud.com:6443",
              "apiServerURL": "https://api.ci-ln-5ylibmb-d5d6b.origin-ci-int-aws.dev.rhcloud."
                              "com:6443",
              "etcdDiscoveryDomain": "", "infrastructureName": "ci-ln-5ylibmb-d5d6b-dfvr6",
              "infrastructureTopology": "HighlyAvailable", "platform": "AWS",
              "platformStatus": {"aws": {"region": "us-east-1"}, "type": "AWS"}}
    if topology is not None:
        status["controlPlaneTopology"] = topology
    return {"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure",
            "metadata": {"name": "cluster"},
            "spec": {"cloudConfig": {"name": ""}, "platformSpec": {"aws": {}, "type": "AWS"}},
            "status": status}


def mg_aws(**kwargs):
    return discover(**{"clusterversion": reference("clusterversion-mustgather-4.8.json"),
                       "infrastructure": aws_infrastructure(), "nodes": reference("nodes.json"),
                       "proxy": reference("proxy.json"), **kwargs})


def settings(**kwargs) -> InitSettings:
    return InitSettings(**{"kubeconfig": "/home/ops/mg-aws/auth/kubeconfig",
                           "context": "admin", "known_hosts": "~/.ssh/known_hosts", **kwargs})


def keys_without_comment(text: str) -> list[str]:
    """Lines with a `key:` that have no comment of their own nor one on the line above."""
    lines = text.splitlines()
    bare = []
    for i, line in enumerate(lines):
        if re.match(r"^\s*(- )?[A-Za-z_]+:", line) and "#" not in line:
            above = lines[i - 1].strip() if i else ""
            if not above.startswith("#"):
                bare.append(line)
    return bare


def nodes_like(*roles: tuple[str, ...]) -> dict:
    """MG-AWS's first master node, once per entry of `roles`, with those node-role labels."""
    master = next(n for n in reference("nodes.json")["items"]
                  if "node-role.kubernetes.io/master" in n["metadata"]["labels"])
    items = []
    for i, labels in enumerate(roles):
        node = copy.deepcopy(master)
        node["metadata"]["name"] = f"node-{i}"
        node["metadata"]["labels"] = {k: v for k, v in node["metadata"]["labels"].items()
                                      if not k.startswith("node-role.kubernetes.io/")}
        node["metadata"]["labels"].update({f"node-role.kubernetes.io/{r}": "" for r in labels})
        node["status"]["addresses"][0]["address"] = f"10.0.0.{10 + i}"
        items.append(node)
    return {"apiVersion": "v1", "kind": "List", "items": items}


# --- discovery on real clusters' objects ---------------------------------------------------

def test_mg_aws_three_masters_by_internal_ip_and_three_workers_left_out():
    found = mg_aws()
    assert found.name == "ci-ln-5ylibmb-d5d6b"
    assert found.version == "4.8.0-0.nightly-2021-07-31-065602"
    assert found.version_note is None
    assert found.platform == "AWS"
    assert found.topology == "HighlyAvailable"
    assert {h.name: h.address for h in found.hosts} == MG_AWS_MASTERS
    assert {h.role for h in found.hosts} == {"control-plane"}
    assert all(h.ready and h.address_source == "InternalIP" for h in found.hosts)
    assert found.workers_left_out == 3
    assert found.proxy is None
    assert found.warnings == ()


def test_mg_aws_with_workers_lists_all_six_nodes_masters_first():
    found = mg_aws(workers=True)
    assert [h.name for h in found.hosts][:3] == sorted(MG_AWS_MASTERS)
    assert {h.name: h.address for h in found.hosts if h.role == "worker"} == MG_AWS_WORKERS
    assert found.workers_left_out == 0
    inventory = parse_inventory(render_inventory(found, settings()))
    assert [h.name for h in inventory.workers] == sorted(MG_AWS_WORKERS)
    assert len(inventory.control_plane) == 3


def test_the_written_inventory_loads_with_every_key_commented(tmp_path):
    found = mg_aws()
    text = render_inventory(found, settings())
    assert keys_without_comment(text) == []
    path = tmp_path / "mg-aws.yaml"
    path.write_text(text)
    inventory = load_inventory(path)
    assert inventory.cluster_name == "ci-ln-5ylibmb-d5d6b"
    assert inventory.cluster_version == "4.8.0-0.nightly-2021-07-31-065602"
    assert inventory.cluster_platform == "AWS"
    assert inventory.cluster_topology == "HighlyAvailable"
    assert inventory.cluster_proxy is None
    assert inventory.kubeconfig == "/home/ops/mg-aws/auth/kubeconfig"
    assert inventory.context == "admin"
    assert inventory.ssh.user == "core" and inventory.ssh.port == 22
    assert inventory.ssh.known_hosts.endswith("/.ssh/known_hosts")
    assert {h.name: h.address for h in inventory.hosts} == MG_AWS_MASTERS
    assert all(h.port == 22 and h.role == "control-plane" for h in inventory.hosts)
    assert "3 worker node(s) left out" in text


def test_another_ssh_user_and_port_are_written_for_every_host(tmp_path):
    """--ssh-user and --ssh-port (hosts whose sshd is not RHCOS's core on 22, the real lab's
    among them): ssh.user and ssh.port, which every host takes."""
    text = render_inventory(mg_aws(), settings(user="root", port=2222))
    assert keys_without_comment(text) == []
    assert '  user: "root"  # given at init' in text
    assert "  port: 2222  # given at init: sshd's port on the hosts" in text
    inventory = parse_inventory(text)
    assert (inventory.ssh.user, inventory.ssh.port) == ("root", 2222)
    assert {(h.user, h.port) for h in inventory.hosts} == {("root", 2222)}
    # a host on a port of its own (a drill's) still says so, the others take ssh.port
    first = min(MG_AWS_MASTERS.values())
    text = render_inventory(mg_aws(), settings(port=2222, host_ports={first: 2200}))
    assert {h.address: h.port for h in parse_inventory(text).hosts} == {
        a: 2200 if a == first else 2222 for a in MG_AWS_MASTERS.values()}


def test_an_update_under_way_takes_the_desired_version_and_says_so():
    found = mg_aws(clusterversion=reference("clusterversion.json"))
    assert found.version == "4.15.0-ec.2"
    assert "update to 4.15.0-ec.2 was under way" in found.version_note
    assert "last completed: 4.14.0-rc.7" in found.version_note
    text = render_inventory(found, settings())
    assert parse_inventory(text).cluster_version == "4.15.0-ec.2"
    assert "# an update to 4.15.0-ec.2 was under way" in text


def test_a_configured_proxy_is_written_from_its_status():
    proxy = reference("proxy-configured.json")
    found = mg_aws(proxy=proxy)
    assert found.proxy.http_proxy == "http://my.proxy:3128"
    assert found.proxy.https_proxy == "http://my.proxy:3128"
    assert found.proxy.no_proxy == proxy["status"]["noProxy"]  # what the cluster adds, too
    assert found.proxy.trusted_ca is None and not found.proxy.credentials_removed
    loaded = parse_inventory(render_inventory(found, settings())).cluster_proxy
    assert loaded.http_proxy == "http://my.proxy:3128"
    assert loaded.no_proxy == proxy["status"]["noProxy"]


def test_a_proxy_password_is_never_written():
    proxy = reference("proxy-configured.json")
    for part in (proxy["spec"], proxy["status"]):
        part["httpProxy"] = "http://squid:Pr0xy-s3cret@my.proxy:3128"
    found = mg_aws(proxy=proxy)
    text = render_inventory(found, settings())
    assert "Pr0xy-s3cret" not in text and "squid" not in text
    assert found.proxy.http_proxy == "http://my.proxy:3128"
    assert "user:password@ was left out" in text
    assert parse_inventory(text).cluster_proxy.http_proxy == "http://my.proxy:3128"


def test_the_name_falls_back_to_the_infrastructure_name_and_else_asks_for_name():
    infra = aws_infrastructure()
    del infra["status"]["apiServerURL"]
    assert mg_aws(infrastructure=infra).name == "ci-ln-5ylibmb-d5d6b"
    del infra["status"]["infrastructureName"]
    with pytest.raises(DiscoveryError, match="--name"):
        mg_aws(infrastructure=infra)
    assert mg_aws(infrastructure=infra, name="prod-east").name == "prod-east"


@pytest.mark.parametrize("topology, roles, expected, warning", [
    ("SingleReplica", [("master", "worker")], ["control-plane"], None),
    ("DualReplica", [("master",), ("master",)], ["control-plane"] * 2, "Pacemaker"),
    ("HighlyAvailableArbiter", [("master",), ("master",), ("arbiter",)],
     ["control-plane", "control-plane", "arbiter"], None),
    ("HighlyAvailable", [("master", "control-plane")] * 5, ["control-plane"] * 5, None),
    ("HighlyAvailable", [("master",), ("master",)], ["control-plane"] * 2,
     "2 control-plane node(s), where HighlyAvailable has 3 or 5"),
    (None, [("master",)], ["control-plane"], None),
])
def test_topologies(topology, roles, expected, warning):
    found = mg_aws(infrastructure=aws_infrastructure(topology), nodes=nodes_like(*roles))
    assert [h.role for h in found.hosts] == expected
    assert found.topology == (topology or "SingleReplica")
    if topology is None:
        assert found.topology_source.startswith("inferred from 1 control-plane node")
    if warning:
        assert any(warning in w for w in found.warnings), found.warnings
    else:
        assert found.warnings == ()
    inventory = parse_inventory(render_inventory(found, settings()))
    assert inventory.cluster_topology == found.topology
    assert [h.role for h in inventory.hosts] == expected


def test_an_external_control_plane_or_none_at_all_is_refused():
    with pytest.raises(DiscoveryError, match="External"):
        mg_aws(infrastructure=aws_infrastructure("External"))
    with pytest.raises(DiscoveryError, match="no control-plane node"):
        mg_aws(nodes=nodes_like(("worker",), ("infra", "worker")))


def test_a_node_without_internal_ip_uses_its_dns_name_and_says_so():
    node = copy.deepcopy(reference("nodes.json")["items"][2])
    node["status"]["addresses"] = [a for a in node["status"]["addresses"]
                                   if a["type"] != "InternalIP"]
    assert node_address(node) == ("ip-10-0-187-218.ec2.internal", "InternalDNS")


# --- the inventory's new keys --------------------------------------------------------------

def test_the_loader_refuses_an_unknown_topology_and_hides_proxy_credentials():
    base = "cluster:\n  name: c\n  {}\nhosts:\n  - {{name: m0, address: 10.0.0.1}}\n"
    with pytest.raises(ConfigError, match="cluster.topology: 'ThreeNode' is not"):
        parse_inventory(base.format("topology: ThreeNode"))
    with pytest.raises(ConfigError, match="cluster.proxy.ftp_proxy: is not a known key"):
        parse_inventory(base.format("proxy: {ftp_proxy: x}"))
    inv = parse_inventory(base.format('proxy: {https_proxy: "http://u:hunter22@p:3128"}'))
    from tui.secrets import redact_text

    assert "hunter22" not in redact_text(f"export HTTPS_PROXY={inv.cluster_proxy.https_proxy}")


# --- end to end on the drill -----------------------------------------------------------------

def drill_token(workdir: Path) -> str:
    doc = yaml.safe_load((workdir / "kubeconfig").read_text())
    token = doc["users"][0]["user"]["token"]
    assert token.startswith("sha256~")
    return token


def journal_lines(state_home: Path) -> list[dict]:
    files = sorted((state_home / "etcd-dr" / "journals").glob("*-init-*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def test_init_drill_trust_on_first_use_writes_a_loadable_inventory_and_journals_each_key(
        tmp_path, private_state_home):
    out, known = tmp_path / "drill.yaml", tmp_path / "known_hosts"
    r = run_cli("init", "--drill", "-o", out, "--trust-on-first-use", "--known-hosts", known,
                input="")
    assert r.returncode == 0, r.stderr
    inventory = load_inventory(out)
    assert inventory.cluster_name == "drill-healthy" and inventory.cluster_version == "4.12.30"
    assert inventory.cluster_topology == "HighlyAvailable"
    assert [h.name for h in inventory.control_plane] == ["master-0", "master-1", "master-2"]
    assert inventory.ssh.known_hosts == str(known)
    assert keys_without_comment(out.read_text()) == []
    trusted = known.read_text().splitlines()
    assert len(trusted) == 3
    lines = journal_lines(private_state_home)
    assert [(j["runbook"], j["step"], j["event"], j["hosts"]) for j in lines] == [
        ("init", "-", "override", [name]) for name in ("master-0", "master-1", "master-2")]
    for line in lines:
        assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", line["fingerprint"])
        assert line["fingerprint"] in r.stderr
    token = drill_token(tmp_path / "drill.d")
    for text in (r.stdout, r.stderr, out.read_text(), json.dumps(lines)):
        assert token not in text and "sha256~" not in text
    # the drill stopped with init: status reads the inventory and finds the hosts gone
    status = run_cli("status", "--inventory", out, "--json")
    assert status.returncode == 1, status.stderr
    assert [h["ssh"]["state"] for h in json.loads(status.stdout)["hosts"]] == \
        ["unreachable"] * 3


def test_init_drill_without_a_terminal_trusts_nothing_and_says_which_hosts(
        tmp_path, private_state_home):
    out, known = tmp_path / "drill.yaml", tmp_path / "known_hosts"
    r = run_cli("init", "--drill", "-o", out, "--known-hosts", known, input="")
    assert r.returncode == 1, r.stderr
    for name in ("master-0", "master-1", "master-2"):
        assert re.search(rf"{name} 127\.0\.3\.\d: host-key-unknown: .*SHA256:\S+, which is not "
                         rf"in {re.escape(str(known))}; not trusted: no terminal", r.stderr)
    assert "3 host(s) are not ready: master-0, master-1, master-2" in r.stderr
    assert not known.exists() or known.read_text() == ""
    assert journal_lines(private_state_home) == []
    assert len(load_inventory(out).hosts) == 3  # written all the same: trust it later
    again = run_cli("init", "--drill", "-o", out, input="")
    assert again.returncode == 2
    assert "the file exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    forced = run_cli("init", "--drill", "-o", out, "--force", input="")
    assert forced.returncode == 0, forced.stderr  # the drill's own known_hosts knows its keys


def test_init_drill_prints_the_inventory_on_stdout_without_o(tmp_path):
    r = run_cli("init", "--drill", "--scenario", "healthy-4.20", input="")
    assert r.returncode == 0, r.stderr
    # the drill's key and kubeconfig went with it (-o keeps them in FILE.d): YAML only here
    doc = yaml.safe_load(r.stdout)
    assert doc["cluster"]["version"] == "4.20.8"
    assert [h["name"] for h in doc["hosts"]] == ["master-0", "master-1", "master-2"]
    assert "every host answers SSH with a trusted key" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--drill", "--kubeconfig", "k"], "exactly one of --kubeconfig FILE or --drill"),
    ([], "exactly one of --kubeconfig FILE or --drill"),
    (["--drill", "--context", "admin"], "--context goes with --kubeconfig"),
    (["--kubeconfig", "k", "--scenario", "healthy"], "--scenario goes with --drill"),
    (["--kubeconfig", "/nonexistent/kubeconfig"], "the kubeconfig does not exist"),
    (["--drill", "--jump", "core@bastion:22;reboot"], "--jump 'core@bastion:22;reboot'"),
    (["--drill", "--identity-file", "/nonexistent/id"], "--identity-file: /nonexistent/id is"),
    (["--drill", "--known-hosts", "/"], "--known-hosts: / is not a regular file"),
    (["--drill", "--name", "prod east"], "--name 'prod east' is not a name"),
    (["--drill", "--ssh-user", "core;reboot"], "--ssh-user 'core;reboot' is not a user name"),
    (["--drill", "--ssh-port", "0"], "'--ssh-port'"),
    (["--drill", "--ssh-port", "65536"], "'--ssh-port'"),
])
def test_bad_input_is_exit_2_with_one_message(args, message):
    r = run_cli("init", *args, input="")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


# --- the SSH check on a running drill (the same code as --drill, with the lab kept up) -----

@pytest.fixture
async def lab(tmp_path):
    from tui.drill.lab import DrillLab

    labs = []

    async def start(scenario="healthy"):
        drill = DrillLab(scenario, workdir=tmp_path / f"lab{len(labs)}")
        await drill.start()
        labs.append(drill)
        return drill

    yield start
    for drill in labs:
        await drill.stop()


async def test_status_works_on_the_written_inventory_against_the_running_drill(lab, tmp_path):
    from tui.backend import Backend, BackendSpec

    drill = await lab()
    journal = tmp_path / "init.jsonl"
    result = await run_init(InitRequest(known_hosts=str(tmp_path / "kh"), journal=str(journal),
                                        policy=TrustPolicy.FIRST_USE), lab=drill)
    assert result.exit_code == 0 and result.journal == journal
    assert drill.cluster.api.token not in result.text
    out = tmp_path / "inventory.yaml"
    out.write_text(result.text)
    backend = Backend(BackendSpec(inventory_path=str(out), read_only=True))
    try:
        await backend.start(wait=True)
        snap = await backend.collector.collect()
    finally:
        await backend.close()
    assert snap.healthy, snap.to_json()["problems"]
    assert [h.state for h in snap.hosts] == ["connected"] * 3
    assert snap.api.reachable


async def test_a_changed_key_is_never_trusted_even_on_first_use(lab, tmp_path):
    import asyncssh

    drill = await lab()
    master0 = drill.cluster.host("master-0")
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    known = tmp_path / "kh"
    wrong = f"[{master0.address}]:{master0.ssh_port} {stranger}\n"
    known.write_text(wrong)
    result = await run_init(InitRequest(known_hosts=str(known), journal=str(tmp_path / "j"),
                                        policy=TrustPolicy.FIRST_USE), lab=drill)
    by_name = {c.name: c for c in result.checks}
    assert by_name["master-0"].state == "host-key-mismatch"
    assert "does not match" in by_name["master-0"].error
    assert "otherwise do not connect" in by_name["master-0"].error
    assert by_name["master-0"].trusted_now is None
    assert [by_name[n].state for n in ("master-1", "master-2")] == ["connected"] * 2
    assert result.exit_code == 1
    lines = known.read_text().splitlines()
    assert lines[0] == wrong.strip() and len(lines) == 3  # master-0's line untouched, no other
    assert not any(f"[{master0.address}]" in line for line in lines[1:])
    journaled = [json.loads(line)["hosts"] for line in (tmp_path / "j").read_text().splitlines()]
    assert journaled == [["master-1"], ["master-2"]]
    assert "host-key-mismatch" in result.text  # the inventory's comment says it, too


async def test_the_operator_is_asked_per_host_and_only_a_yes_is_trusted(lab, tmp_path):
    drill = await lab()
    asked = []

    def ask(check):  # the prompt runs outside the event loop: a plain function
        asked.append((check.name, check.fingerprint))
        return check.name == "master-1"

    known = tmp_path / "kh"
    result = await run_init(InitRequest(known_hosts=str(known), journal=str(tmp_path / "j"),
                                        policy=TrustPolicy.ASK), lab=drill, ask=ask)
    assert [name for name, _ in asked] == ["master-0", "master-1", "master-2"]
    assert all(fp.startswith("SHA256:") for _, fp in asked)
    states = {c.name: (c.state, c.trusted_now) for c in result.checks}
    assert states == {"master-0": ("host-key-unknown", None),
                      "master-1": ("connected", "operator"),
                      "master-2": ("host-key-unknown", None)}
    assert result.exit_code == 1
    assert len(known.read_text().splitlines()) == 1
    line = json.loads((tmp_path / "j").read_text())
    assert (line["event"], line["hosts"], line["fingerprint"]) == \
        ("confirmed", ["master-1"], dict(asked)["master-1"])


async def test_an_unreachable_host_is_reported_by_name(lab, tmp_path):
    drill = await lab("host-down")
    result = await run_init(InitRequest(policy=TrustPolicy.NEVER), lab=drill)
    down = [c for c in result.checks if c.state == "unreachable"]
    assert len(down) == 1 and "connection refused" in down[0].error
    assert [c.state for c in result.checks if c is not down[0]] == ["connected"] * 2
    assert result.exit_code == 1
    assert f"SSH at init: unreachable: {down[0].address}" in result.text


async def test_init_by_kubeconfig_fixes_the_context_and_reports_each_host(lab, tmp_path):
    """--kubeconfig: what an operator runs. The drill's API answers; its nodes' sshd is not
    on port 22 of their InternalIP (the drill's listen on other ports), so every host is
    reported unreachable, by name, and the inventory is written all the same (exit 1)."""
    import asyncio

    drill = await lab()
    out = tmp_path / "prod.yaml"
    r = await asyncio.to_thread(run_cli, "init", "--kubeconfig", drill.kubeconfig_path, "-o",
                                out, "--known-hosts", tmp_path / "kh", "--trust-on-first-use",
                                "--name", "prod-east", input="")
    assert r.returncode == 1, r.stderr
    inventory = load_inventory(out)
    assert inventory.cluster_name == "prod-east"
    assert inventory.context == "admin"  # the kubeconfig's current-context, written down
    assert inventory.kubeconfig == str(drill.kubeconfig_path)
    assert [(h.name, h.port) for h in inventory.hosts] == \
        [("master-0", 22), ("master-1", 22), ("master-2", 22)]
    for h in inventory.hosts:
        said = (rf"unreachable: {re.escape(h.address)}:22: connection refused"
                if not _listens(h.address, 22) else  # a machine's own sshd on 0.0.0.0:22
                r"(auth-failed|host-key-unknown|sudo-denied)")
        assert re.search(rf"{h.name} {re.escape(h.address)}: {said}", r.stderr), r.stderr
    token = drill.cluster.api.token
    assert token not in r.stdout + r.stderr + out.read_text()


def _listens(address: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((address, port)) == 0


def test_on_a_terminal_the_operator_answers_per_host(tmp_path, private_state_home):
    """The prompt as an operator meets it: a terminal on stdin, each unknown key's
    fingerprint shown, y trusts (journaled `confirmed`), n does not. The answers are typed
    ahead into the terminal: each prompt reads its line."""
    import os
    import pty

    out, known = tmp_path / "drill.yaml", tmp_path / "known_hosts"
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\nn\ny\n")
        r = run_cli("init", "--drill", "-o", out, "--known-hosts", known, stdin=slave,
                    fork=False)
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("presents a host key that is not in known_hosts: SHA256:") == 3
    assert r.stderr.count("Trust master-") == 3
    assert "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub" in r.stderr
    assert "master-1 127.0.3.2: host-key-unknown" in r.stderr
    assert "not trusted (the operator said no)" in r.stderr
    assert len(known.read_text().splitlines()) == 2
    lines = journal_lines(private_state_home)
    assert [(j["event"], j["hosts"]) for j in lines] == [("confirmed", ["master-0"]),
                                                         ("confirmed", ["master-2"])]


def test_ctrl_c_at_the_prompt_stops_init_at_once_and_writes_nothing(tmp_path):
    """One Ctrl-C at the host-key question ends init (exit 130, "interrupted."), the drill
    it started stopped, no inventory written: the prompt runs outside the event loop, where
    asyncio's own SIGINT handling would only cancel a task and leave input() waiting. (Not
    through run_cli, which reads the child through pipes: here the terminal is the point.)"""
    import os
    import pty
    import select
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "drill.yaml"
    master, slave = pty.openpty()
    # the terminal becomes the child's controlling one (Ctrl-C on it is SIGINT to the child),
    # and SIGINT its default again (a test worker may ignore it, and children inherit that)
    launcher = ("import fcntl, os, signal, sys, termios\n"
                "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
                "os.setsid()\n"
                "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
                "os.execv(sys.executable, [sys.executable, '-m', 'tui.cli', *sys.argv[1:]])\n")
    proc = subprocess.Popen([sys.executable, "-c", launcher, "init", "--drill", "-o", str(out),
                             "--known-hosts", str(tmp_path / "kh")],
                            stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "ETCD_DR_TASK_DUMP": "1"})
    os.close(slave)
    seen, deadline = b"", time.monotonic() + 60
    try:
        while b"[y/N]:" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 4096)
        os.write(master, b"\x03")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            seen += _read_some(master)
        if proc.poll() is None:  # say where it waits (tui/taskdump.py), then fail
            proc.send_signal(signal.SIGUSR2)
            time.sleep(2)
            seen += _read_some(master)
        assert proc.poll() == 130, seen.decode(errors="replace")
        seen += _read_some(master)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert b"etcd-dr: interrupted." in seen and b"Traceback" not in seen
    assert not out.exists()


def test_an_api_that_does_not_answer_is_exit_2_and_its_token_is_never_shown(tmp_path):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "sha256~" + "Zq8" * 14
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "admin",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}",
                                               "insecure-skip-tls-verify": True}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "admin"}}]}))
    out = tmp_path / "inventory.yaml"
    r = run_cli("init", "--kubeconfig", kubeconfig, "-o", out, input="")
    assert r.returncode == 2, r.stderr
    assert "cannot read the cluster" in r.stderr and "refuses connections" in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
    assert token not in r.stdout + r.stderr
    other = run_cli("init", "--kubeconfig", kubeconfig, "--context", "nope", input="")
    assert other.returncode == 2 and "cannot use the kubeconfig" in other.stderr
    assert token not in other.stdout + other.stderr


def _read_some(fd: int) -> bytes:
    """What a terminal's other side has to read within half a second (b"" at its end)."""
    import os
    import select

    if not select.select([fd], [], [], 0.5)[0]:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child has gone, and its side of the terminal with it
        return b""
