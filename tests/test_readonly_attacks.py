"""Read-only under attack (issue 12, part 1): the command grammar, the etcdctl prefix grammar,
the REST guard, and the drill showing that refused means nothing changed.

- ATTACKS: commands that change a host or the cluster, many shaped to slip past an allowlist
  that skips flags it does not know; every one must be refused.
- The commands a read-only console really sends are captured from the status collector and
  the restore preflight (what the restore screen runs in read-only mode) on a drill, and
  must all be allowed.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.backend import Backend, BackendSpec
from tui.cluster.api import read_only_refusal
from tui.errors import ConfigError, ReadOnlyRefused
from tui.etcd import etcdctl
from tui.fleet.batch import Batch, commands_of
from tui.fleet.commands import Command, Safety
from tui.fleet.prefix import ContainerLookup, EtcdctlPrefix, PrefixError, parse_prefix
from tui.fleet.readonly import refusal
from tui.inventory import DEFAULT_ETCDCTL, parse_inventory

INV = parse_inventory("cluster: {name: c}\nhosts:\n  - {name: m0, address: 10.0.0.5}\n")
HOST = INV.hosts[0]
DEFAULT = parse_prefix(DEFAULT_ETCDCTL).expand(name="m0", address="10.0.0.5")


def C(*argv: str, **kw) -> Command:
    return Command.of(*argv, **kw)


def E(*args: str) -> Command:
    """etcdctl ARGS through the default prefix, as the console builds it."""
    return etcdctl.etcdctl(INV, HOST, *args)


def P(stage: tuple[str, ...], **fields) -> Command:
    """A command whose prefix was built by hand (not from an inventory), with bad fields."""
    prefix = EtcdctlPrefix(**{"container": ContainerLookup(), "use_env": True,
                              "env_unset": ("ETCDCTL_ENDPOINTS",),
                              "flags": ("--endpoints=https://10.0.0.5:2379",), **fields})
    return Command(stages=(stage,), privileged=True, prefix=prefix)


ETCD_MUTATIONS = [
    ("put", "k", "v"), ("del", "k"), ("del", "--prefix", "/"), ("defrag",),
    ("defrag", "--cluster"), ("alarm", "disarm"), ("compact", "5"), ("compaction", "5"),
    ("member", "remove", "8e9e05c52164694d"), ("member", "add", "x", "--peer-urls=https://h"),
    ("member", "update", "8e9e05c52164694d", "--peer-urls=https://h"), ("member", "promote", "1"),
    ("snapshot", "restore", "/tmp/s.db"), ("snapshot", "save", "/tmp/s.db"),
    ("move-leader", "8e9e05c52164694d"), ("auth", "enable"), ("auth", "disable"),
    ("lease", "revoke", "1"), ("lease", "grant", "60"), ("user", "add", "root:x"),
    ("role", "add", "r"), ("txn",), ("lock", "l"), ("elect", "e", "p"),
    ("make-mirror", "https://h:2379"), ("downgrade", "enable", "3.4"),
]
# the shapes that beat the old allowlist: an unknown or value-taking flag swallows the word
# the allowlist took for the subcommand
SMUGGLERS = [
    ("--discovery-srv-name", "version"), ("--discovery-srv", "version"), ("-d", "version"),
    ("--hex", "version"), ("--debug", "member", "list"), ("-w", "json", "version"),
    ("--user", "u", "alarm", "list"),
]

ATTACKS: list[tuple[str, Command]] = [
    *[(f"etcdctl {' '.join(m)}", E(*m)) for m in ETCD_MUTATIONS],
    *[(f"etcdctl {' '.join(s)} put", E(*s, "put", "k", "v")) for s in SMUGGLERS],
    ("etcdctl smuggled alarm disarm", E("--discovery-srv-name", "version", "alarm", "disarm")),
    ("etcdctl smuggled defrag", E("--discovery-srv-name", "version", "defrag")),
    ("etcdctl read then put", E("endpoint", "status", "put", "k", "v")),
    ("etcdctl member list remove", E("member", "list", "remove", "1")),
    ("etcdctl alarm list disarm", E("alarm", "list", "disarm")),
    ("etcdctl snapshot status two words", E("snapshot", "status", "a", "b")),
    ("etcdctl --", E("--", "put", "k", "v")),
    ("etcdctl -w swallows", E("-w", "endpoint", "status", "put", "k", "v")),
    ("etcdctl --cluster on member list", E("member", "list", "--cluster")),
    ("etcdctl --cluster=1 value", E("endpoint", "status", "--cluster", "put")),
    ("etcdctl --endpoints swallows", E("--endpoints", "alarm", "list", "disarm")),
    ("etcdctl -w=json form", E("-w=json", "version", "put", "k", "v")),
    ("etcdctl bare put", C("etcdctl", "put", "k", "v")),
    ("etcdctl by path", C("/usr/bin/etcdctl", "endpoint", "status")),
    ("etcdutl snapshot restore", C("etcdutl", "snapshot", "restore", "/tmp/s.db")),
    ("etcdutl defrag", C("etcdutl", "defrag", "--data-dir", "/var/lib/etcd")),
    ("trusted etcdutl restore", C("/etc/kubernetes/static-pod-resources/bin/etcdutl", "snapshot",
                                  "restore", "/tmp/s.db")),
    # the prefix, built by hand: it cannot carry a program, a flag or a word of its own
    ("prefix program sh", P(("version",), program="sh", flags=("-c", "rm -rf /"))),
    ("prefix program rm", P(("version",), program="rm", flags=("-rf", "/var/lib/etcd"))),
    ("prefix put in flags", P(("endpoint", "status"), flags=("put", "k", "v"))),
    ("prefix unknown flag", P(("version", "put", "k", "v"), flags=("--discovery-srv-name",))),
    ("prefix LD_PRELOAD", P(("version",), env_set=(("LD_PRELOAD", "/tmp/x.so"),))),
    ("prefix container word", P(("version",), container="x; reboot")),
    ("prefix exec flag", P(("version",), exec_flags=("--image", "evil"))),
    ("prefix glued ok then put", P(("put", "k", "v"))),
    ("prefix text then status", Command(stages=(("status",),), prefix="etcdctl")),
    # crictl
    ("crictl -i ps stop", C("crictl", "-i", "ps", "stop", "abc")),
    ("crictl -r ps stop", C("crictl", "-r", "ps", "stop", "abc")),
    ("crictl --config ps rm", C("crictl", "--config", "ps", "rm", "abc")),
    ("crictl stop", C("crictl", "stop", "abc")),
    ("crictl rm", C("crictl", "rm", "-f", "abc")),
    ("crictl rmp", C("crictl", "rmp", "-f", "abc")),
    ("crictl stopp", C("crictl", "stopp", "abc")),
    ("crictl exec", C("crictl", "exec", "abc", "rm", "-rf", "/")),
    ("crictl rmi", C("crictl", "rmi", "--prune")),
    ("crictl pull", C("crictl", "pull", "quay.io/evil")),
    ("crictl update", C("crictl", "update", "--memory", "1", "abc")),
    ("crictl ps extra word", C("crictl", "ps", "stop", "abc")),
    ("crictl ps unknown flag", C("crictl", "ps", "--runtime-endpoint", "x")),
    ("crictl ps -- ", C("crictl", "ps", "--", "stop")),
    ("crictl logs -f", C("crictl", "logs", "-f", "abc")),
    # systemctl
    ("systemctl -p status stop", C("systemctl", "-p", "status", "stop", "kubelet")),
    ("systemctl stop", C("systemctl", "stop", "kubelet")),
    ("systemctl restart", C("systemctl", "restart", "kubelet.service")),
    ("systemctl kill", C("systemctl", "kill", "kubelet")),
    ("systemctl mask", C("systemctl", "mask", "kubelet")),
    ("systemctl disable --now", C("systemctl", "disable", "--now", "crio")),
    ("systemctl isolate", C("systemctl", "isolate", "rescue.target")),
    ("systemctl reboot", C("systemctl", "reboot")),
    ("systemctl --property swallows", C("systemctl", "--property", "is-active", "stop", "crio")),
    ("systemctl -H other host", C("systemctl", "-H", "root@evil", "is-active", "x")),
    ("systemctl daemon-reload", C("systemctl", "daemon-reload")),
    # journalctl
    ("journalctl --vacuum-size", C("journalctl", "--vacuum-size=1K")),
    ("journalctl --vacuum-time", C("journalctl", "--vacuum-time", "1s")),
    ("journalctl --vacuum-files", C("journalctl", "--vacuum-files=1")),
    ("journalctl --rotate", C("journalctl", "--rotate")),
    ("journalctl --flush", C("journalctl", "--flush")),
    ("journalctl --sync", C("journalctl", "--sync")),
    ("journalctl --setup-keys", C("journalctl", "--setup-keys")),
    ("journalctl --relinquish-var", C("journalctl", "--relinquish-var")),
    ("journalctl --cursor-file", C("journalctl", "--cursor-file=/etc/passwd")),
    ("journalctl -o bad", C("journalctl", "-o", "/tmp/out")),
    ("journalctl -f", C("journalctl", "-f")),
    ("journalctl match", C("journalctl", "_PID=1")),
    # generic tools that write
    ("sort -o", C("sort", "-o", "/etc/passwd", "/tmp/x")),
    ("sort --output=", C("sort", "--output=/etc/passwd", "/tmp/x")),
    ("sort --compress-program", C("sort", "--compress-program=/tmp/evil", "/tmp/x")),
    ("sort -T", C("sort", "-T", "/tmp", "/tmp/x")),
    ("date -s", C("date", "-s", "2001-01-01")),
    ("date --set", C("date", "--set=2001-01-01")),
    ("date MMDDhhmm", C("date", "010100002001")),
    ("date two formats", C("date", "+%s", "010100002001")),
    ("hostname NEW", C("hostname", "evil")),
    ("hostname -F", C("hostname", "-F", "/tmp/name")),
    ("hostname -b", C("hostname", "-b", "evil")),
    ("ip -batch", C("ip", "-batch", "-", "address")),
    ("ip -b", C("ip", "-b", "/tmp/cmds", "address")),
    ("ip -force", C("ip", "-force", "-batch", "/tmp/x")),
    ("ip address del", C("ip", "address", "del", "10.0.0.100/32", "dev", "br-ex")),
    ("ip address add", C("ip", "address", "add", "10.0.0.9/32", "dev", "br-ex")),
    ("ip link set down", C("ip", "link", "set", "br-ex", "down")),
    ("ip route flush", C("ip", "route", "flush", "all")),
    ("ip netns exec", C("ip", "netns", "exec", "x", "sh")),
    ("ip -n netns", C("ip", "-n", "x", "address")),
    ("ip show then del", C("ip", "address", "show", "del", "10.0.0.1")),
    ("cat by path", C("/tmp/evil/cat", "/etc/hosts")),
    ("cat relative path", C("./cat", "/etc/hosts")),
    ("ls by path", C("/bin/ls", "/")),
    ("tail -f", C("tail", "-f", "/var/log/messages")),
    ("tail --follow", C("tail", "--follow=name", "/var/log/messages")),
    ("head --", C("head", "--", "-n")),
    ("grep -f file", C("grep", "-f", "/etc/shadow", "/etc/hosts")),
    ("grep -r", C("grep", "-r", "x", "/")),
    ("find -delete", C("find", "/var/lib/etcd", "-delete")),
    ("find -exec", C("find", "/", "-exec", "rm", "{}", ";")),
    ("find -execdir", C("find", "/", "-name", "x", "-execdir", "rm", "{}", "+")),
    ("find -fprint", C("find", "/", "-fprint", "/etc/passwd")),
    ("find -ok", C("find", "/", "-ok", "rm", "{}", ";")),
    ("tar extract", C("tar", "-xzf", "/tmp/x.tgz", "-C", "/")),
    ("tar create", C("tar", "-czf", "/tmp/x.tgz", "/etc")),
    ("tar list and extra", C("tar", "-tzf", "/x.tgz", "--to-command=sh")),
    ("test with -a", C("test", "-e", "/x", "-a", "-e", "/y")),
    ("stat -- ", C("stat", "--", "/x")),
    ("ls -- ", C("ls", "--", "/x")),
    ("echo flag", C("echo", "-e", "x")),
    ("true with word", C("true", "x")),
    ("base64 -d", C("base64", "-d", "/tmp/x")),
    ("id two users", C("id", "a", "b")),
    ("uname word", C("uname", "evil")),
    ("df --output", C("df", "--output=source")),
    # programs that are never read-only
    ("tee", C("ls").pipe("tee", "/etc/passwd")),
    ("tee -a", C("cat", "/etc/hosts").pipe("tee", "-a", "/etc/hosts")),
    ("sh -c", C("sh", "-c", "rm -rf /")),
    ("bash -c", C("bash", "-c", "id")),
    ("env", C("env", "rm", "-rf", "/")),
    ("xargs", C("ls", "/").pipe("xargs", "rm", "-rf")),
    ("dd", C("dd", "if=/dev/zero", "of=/dev/sda")),
    ("sed -i", C("sed", "-i", "s/a/b/", "/etc/hosts")),
    ("awk system", C("awk", "BEGIN{system(\"reboot\")}")),
    ("rm", C("rm", "-rf", "/var/lib/etcd")),
    ("mv", C("mv", "-v", "/etc/kubernetes/manifests/etcd-pod.yaml", "/tmp", privileged=True)),
    ("cp", C("cp", "/tmp/x", "/etc/kubernetes/manifests/")),
    ("touch", C("touch", "/tmp/x")),
    ("mkdir", C("mkdir", "-p", "/tmp/x")),
    ("chmod", C("chmod", "777", "/etc/shadow")),
    ("kill", C("kill", "-9", "1")),
    ("reboot", C("reboot")),
    ("shutdown", C("shutdown", "-h", "now")),
    ("oc delete", C("oc", "delete", "node", "m0")),
    ("oc get with env", C("oc", "get", "--raw", "/api", env=(("KUBECONFIG", "/k"),))),
    ("podman rm", C("podman", "rm", "-f", "etcd")),
    ("sudo", C("sudo", "rm", "-rf", "/")),
    ("backup script", C("/usr/local/bin/cluster-backup.sh", "/home/core/assets/backup")),
    ("restore script", C("/usr/local/bin/cluster-restore.sh", "/home/core/assets/backup")),
    ("quorum script", C("/usr/local/bin/quorum-restore.sh")),
    ("read stage then writer", C("crictl", "ps").pipe("grep", "etcd").pipe("xargs", "crictl",
                                                                            "stop")),
    ("empty stage", Command(stages=((),))),
    ("no stages", Command(stages=())),
    # the command's own attributes
    ("stdin to cat", C("cat", "/x", stdin="data")),
    ("attempt wrapper", C("true", attempt="20240101-abc")),
    ("env export", C("true", env=(("PATH", "/tmp/evil"),))),
    ("mislabelled rm", C("rm", "-rf", "/", safety=Safety.READ)),
]


def test_the_attack_table_is_large():
    assert len(ATTACKS) >= 100
    assert len({name for name, _ in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("name,command", ATTACKS, ids=[name for name, _ in ATTACKS])
def test_every_attack_is_refused(name, command):
    why = refusal(command)
    assert why, f"{name} was allowed: {command.display()}"


def test_every_attack_hidden_in_a_batch_of_reads_is_refused():
    """A batch (tui/fleet/batch.py: several commands over one channel) is as strict as its
    strictest command: each attack, first, between two reads or last, is refused, or the
    batch cannot even be built (attempt records, input, exported variables)."""
    allowed = []
    for name, attack in ATTACKS:
        read = replace(etcdctl.member_list(INV, HOST), privileged=attack.privileged)
        for parts in ((attack, read), (read, attack, read), (read, read, attack)):
            try:
                batch = Batch(parts)
            except ValueError:
                assert attack.attempt or attack.stdin is not None or attack.env, name
                continue
            if refusal(batch) is None:
                allowed.append(f"{name}: {batch.display()}")
    assert allowed == []
    assert refusal(Batch((etcdctl.member_list(INV, HOST), etcdctl.alarm_list(INV, HOST)))) is None


# --- what a read-only console sends ----------------------------------------------------------

# what the builders produce, whatever the drill happens to exercise
BUILT = [
    etcdctl.endpoint_status_cluster(INV, HOST), etcdctl.member_list(INV, HOST),
    etcdctl.alarm_list(INV, HOST), etcdctl.endpoint_health_cluster(INV, HOST),
    E("endpoint", "status", "-w", "json"),
    C("crictl", "ps", privileged=True).pipe("grep", "etcd").pipe("egrep", "-v",
                                                                 "operator|etcd-guard"),
    C("crictl", "ps", "--name", "keepalived", "-q"), C("crictl", "ps", "--name", "^etcd$"),
    C("ip", "-o", "address").pipe("egrep", r"10\.0\.0\.100|10\.0\.0\.101"),
    C("find", "/var/lib/kubelet/pki", "-maxdepth", "1", "-name", "*.pem"),
    C("/etc/kubernetes/static-pod-resources/bin/etcdutl", "snapshot", "status", "/b/s.db", "-w",
      "json"),
    C("tar", "-tzf", "/b/static_kuberesources_x.tar.gz"), C("stat", "-c", "%s %n", "/a", "/b"),
    C("systemctl", "is-active", "kubelet"), C("id", "-u"), C("sha256sum", "/b/s.db"),
    C("date", "+%s"), C("hostname"), C("journalctl", "-u", "kubelet", "-n", "50", "--no-pager"),
]


@pytest.mark.parametrize("command", BUILT, ids=lambda c: c.display()[:60])
def test_what_the_builders_send_for_reading_is_allowed(command):
    assert refusal(command) is None


WITH_BACKUP = """
name: read-only-capture
description: all hosts up, a backup on master-0
version: "4.18.5"
control_plane: 3
workers: 0
etcd: {version: "3.5.16", leader: master-1, db_size_mb: 148, in_use_mb: 126}
api: {reachable: true, network_type: OVNKubernetes, platform: AWS, machines: true}
backup: {host: master-0, dir: /home/core/assets/backup, taken_minutes_ago: 90}
"""


class _Operator:
    async def confirm(self, request):
        return False

    async def on_failure(self, step, error):
        from tui.runbooks.context import Decision

        return Decision("abort")

    def show(self, event):
        pass


async def test_every_command_a_read_only_console_sends_is_allowed(tmp_path):
    """Capture, on a read-only drill console, what the status collector and both restore
    preflights (the restore screen runs them read-only) send: all of it is allowed."""
    from tui.journal import Journal
    from tui.runbooks.context import RunContext
    from tui.runbooks.restore import preflight_report

    scenario = tmp_path / "s.yaml"
    scenario.write_text(WITH_BACKUP)
    backend = Backend(BackendSpec(scenario=str(scenario), read_only=True))
    await backend.start()
    sent: list[Command] = []
    check = backend.fleet.check_allowed

    def record(command):
        sent.append(command)
        check(command)

    backend.fleet.check_allowed = record
    try:
        snap = await backend.collector.collect()
        assert snap.members, snap
        for procedure in ("restore", "quorum-restore"):
            ctx = RunContext(backend=backend, journal=Journal(tmp_path / f"{procedure}.jsonl",
                                                              procedure),
                             operator=_Operator(),
                             params={"backup_dir": "/home/core/assets/backup"})
            await preflight_report(ctx, procedure)
    finally:
        await backend.close()
    refused = [(c.display(), refusal(c)) for c in sent if refusal(c)]
    assert refused == []
    assert any(isinstance(c, Batch) for c in sent)  # the status look's three reads
    sent = [part for c in sent for part in commands_of(c)]
    programs = {c.prefix_program or c.stages[0][0].rsplit("/", 1)[-1] for c in sent}
    # the status collector's etcdctl, and the preflight's host probes
    assert {"etcdctl", "ls", "systemctl", "test"} <= programs, programs


# --- the prefix grammar ----------------------------------------------------------------------

GOOD_PREFIXES = [
    DEFAULT_ETCDCTL,
    # the test lab's (tests/lab/lab.py): etcdctl by path, ETCDCTL_API the shell's way
    "ETCDCTL_API=3 /usr/bin/etcdctl --endpoints=http://{address}:2379",
    "etcdctl --endpoints=https://{address}:2379 --cacert=/etc/ssl/ca.crt --cert=/c.crt "
    "--key=/c.key",
    "etcdctl --endpoints https://{address}:2379 --command-timeout=30s --dial-timeout 5s",
    "crictl exec -i 3f4e5d6c env ETCDCTL_API=3 etcdctl --insecure-skip-tls-verify",
    "crictl exec etcd-{name} etcdctl --user=root --password='p$w d'",
    "crictl exec --timeout 30 \"$(crictl ps --name 'etcdctl' --state running -q | head -n 1)\" "
    "etcdctl",
    "env -u ETCDCTL_ENDPOINTS -u ETCDCTL_KEY etcdctl \"--endpoints=https://{address}:2379\"",
    "etcdctl --insecure-transport=false",
]

BAD_PREFIXES = [
    ("rm -rf /var/lib/etcd && etcdctl", "`&`"),
    ("etcdctl; reboot", "`;`"),
    ("etcdctl | tee /tmp/x", "`|`"),
    ("etcdctl > /tmp/out", "redirection"),
    ("etcdctl < /dev/null", "redirection"),
    ("etcdctl `reboot`", "backtick"),
    ("etcdctl --endpoints=$(cat /x)", "`$`"),
    ("etcdctl --endpoints=\"https://$ADDR:2379\"", "`$`"),
    ("crictl exec \"$(crictl ps -q | head -n 1)\" etcdctl", "`$`"),
    ("crictl exec \"$(crictl ps --name '^etcdctl$' --state running -q | sh)\" etcdctl", "`$`"),
    ("crictl exec x sh -c etcdctl", "'sh' is not etcdctl"),
    ("crictl rm x etcdctl", "crictl exec"),
    ("crictl exec --image evil x etcdctl", "crictl exec flag"),
    ("sudo etcdctl", "'sudo' is not etcdctl"),
    ("/tmp/evil/cat --endpoints=x", "is not etcdctl"),
    ("/usr/bin/../../tmp/etcdctl", "is not etcdctl"),
    ("etcdctl put k v", "'put'"),
    ("etcdctl --discovery-srv evil.example.com", "--discovery-srv"),
    ("etcdctl -w json", "'-w'"),
    ("etcdctl --endpoints", "needs a value"),
    ("etcdctl --command-timeout=forever", "not a valid value"),
    ("etcdctl --insecure-transport=maybe", "true or false"),
    ("LD_PRELOAD=/tmp/x.so etcdctl", "ETCDCTL_"),
    ("env PATH=/tmp etcdctl", "ETCDCTL_"),
    ("etcdctl --endpoints={host}", "{host}"),
    ("etcdctl 'a'{", "brace"),
    ("etcdctl # comment", "comment"),
    ("~/bin/etcdctl", "`~`"),
    ("etcdctl --key=/k/*.key", "`*`"),
    ("etcdctl\nreboot", "line break"),
    ("etcdctl 'unclosed", "not closed"),
    ("", "empty"),
    ("env -u ETCDCTL_ENDPOINTS", "does not run etcdctl"),
]


@pytest.mark.parametrize("text", GOOD_PREFIXES)
def test_good_prefixes_load_and_render_every_value_quoted(text, tmp_path):
    inv = parse_inventory(f"cluster: {{name: c}}\netcdctl: {_yaml(text)}\n"
                          f"hosts:\n  - {{name: m0, address: 10.0.0.5}}\n")
    command = etcdctl.endpoint_status_cluster(inv, inv.hosts[0])
    assert refusal(command) is None
    # a hostile value stays one word whatever the template's quoting
    evil = parse_prefix(text).expand(name="m0", address="127.0.0.7$(touch /tmp/x)")
    rendered = evil.render()
    if "{address}" in text:
        assert "'" in rendered and "$(touch" in rendered
    import shlex

    words = shlex.split(rendered.replace(ContainerLookup().render(), "LOOKUP"))
    assert not any(w == "touch" for w in words)


def test_the_default_prefix_renders_as_before():
    assert DEFAULT.render() == (
        "crictl exec \"$(crictl ps --name '^etcdctl$' --state running -q | head -n 1)\" "
        "env -u ETCDCTL_ENDPOINTS etcdctl --endpoints=https://10.0.0.5:2379")
    assert E("member", "list").plain_script().endswith("2379 member list")


def _yaml(text: str) -> str:
    import json

    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


@pytest.mark.parametrize("text,needle", BAD_PREFIXES, ids=[t for t, _ in BAD_PREFIXES])
def test_bad_prefixes_are_an_inventory_error_with_the_key_and_line(text, needle):
    with pytest.raises(PrefixError, match=None) as raised:
        parse_prefix(text)
    assert needle in str(raised.value), str(raised.value)
    doc = (f"cluster: {{name: c}}\n# a comment\netcdctl: {_yaml(text)}\n"
           f"hosts:\n  - {{name: m0, address: 10.0.0.5}}\n")
    with pytest.raises(ConfigError) as error:
        parse_inventory(doc, source="inv.yaml")
    message = str(error.value)
    assert "inv.yaml, line 3" in message and "etcdctl" in message, message


# --- the REST guard --------------------------------------------------------------------------

API = "https://api.c.example.com:6443"
REST_REFUSED = [
    ("POST", "/api/v1/namespaces/x/pods"), ("PUT", "/api/v1/nodes/m0"),
    ("PATCH", "/apis/operator.openshift.io/v1/etcds/cluster"), ("DELETE", "/api/v1/nodes/m0"),
    ("OPTIONS", "/api/v1"), ("get-ish", "/api/v1"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods/etcd-m0/exec?command=sh&stdin=true"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods/etcd-m0/attach?stdin=true"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods/etcd-m0/portforward?ports=2379"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods/etcd-m0/proxy/metrics"),
    ("GET", "/api/v1/namespaces/default/services/kubernetes:443/proxy/"),
    ("GET", "/api/v1/nodes/m0/proxy/configz"),
    ("GET", "/api/v1/proxy/namespaces/x/pods/y"),
    ("HEAD", "/api/v1/namespaces/x/pods/y/exec"),
    ("GET", "/api/v1/namespaces/x/pods/y/%65xec?command=id"),
    ("GET", "/api/v1/namespaces/x/pods/y/logs/../exec"),
    ("GET", "/api/v1/namespaces/x/pods/y%2Fexec"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods/etcd-m0/log?follow=true"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods/etcd-m0/log?tailLines=5&follow=1"),
    ("GET", "/k8s/clusters/c-1/api/v1/namespaces/x/pods/y/exec"),
]
REST_ALLOWED = [
    ("GET", "/api/v1/nodes"), ("HEAD", "/api/v1/nodes"), ("get", "/version"),
    ("GET", "/api/v1/namespaces/openshift-etcd/pods?labelSelector=k8s-app%3Detcd"),
    ("GET", "/api/v1/namespaces/openshift-etcd-operator/pods/op-1/log?tailLines=5000"),
    ("GET", "/api/v1/namespaces/x/pods/y/log?follow=false"),
    ("GET", "/api/v1/namespaces/openshift-etcd/configmaps/proxy"),  # an object named proxy
    ("GET", "/apis/config.openshift.io/v1/proxies/cluster"),
    ("GET", "/api/v1/namespaces/exec"),
    ("GET", "/apis/operator.openshift.io/v1/etcds/cluster"),
]


@pytest.mark.parametrize("method,path", REST_REFUSED)
def test_the_rest_guard_refuses(method, path):
    assert read_only_refusal(method, API + path)


@pytest.mark.parametrize("method,path", REST_ALLOWED)
def test_the_rest_guard_allows_plain_reads(method, path):
    assert read_only_refusal(method, API + path) is None


# --- end to end: refused means unchanged -----------------------------------------------------

def _state(cluster) -> dict:
    etcd = cluster.etcd
    return copy.deepcopy({
        "alarms": list(etcd.alarms),
        "members": [(m.name, m.db_size, m.db_size_in_use, m.running, m.defragging,
                     m.defrag_window) for m in etcd.members],
        "compacted": etcd.compact_revision,
        "containers": {h.name: [(c.name, c.container_id, c.state) for c in h.containers]
                       for h in cluster.control_plane()},
    })


async def test_read_only_drill_refuses_the_attacks_that_used_to_change_it():
    """On a read-only drill console (nospace: an alarm to disarm, a database to defrag),
    put, alarm disarm, defrag and `crictl -i ps stop <etcd>` are refused before anything is
    sent, and the cluster is as it was; a read still works."""
    backend = Backend(BackendSpec(scenario="nospace", read_only=True))
    await backend.start()
    try:
        fleet, inv, cluster = backend.fleet, backend.inventory, backend.lab.cluster
        host = inv.hosts[0]
        etcd_id = cluster.host(host.name).container("etcd").container_id
        before = _state(cluster)
        assert before["alarms"], "the nospace scenario has an alarm"
        sent = []
        fleet.subscribe(lambda e: sent.append(e) if e.kind == "command" else None)
        attacks = [
            etcdctl.etcdctl(inv, host, "--discovery-srv-name", "version", "put", "k", "v"),
            etcdctl.etcdctl(inv, host, "--discovery-srv-name", "version", "alarm", "disarm"),
            etcdctl.etcdctl(inv, host, "--discovery-srv-name", "version", "defrag"),
            etcdctl.etcdctl(inv, host, "alarm", "disarm"),
            Command.of("crictl", "-i", "ps", "stop", etcd_id, privileged=True),
        ]
        for command in attacks:
            with pytest.raises(ReadOnlyRefused, match="read-only"):
                await fleet.run_one(host.name, command)
        assert sent == []
        assert _state(cluster) == before
        read = await fleet.run_one(host.name, etcdctl.alarm_list(inv, host), quiet=True)
        assert read.ok and "NOSPACE" in read.stdout
    finally:
        await backend.close()


@settings(max_examples=200, deadline=None)
@given(value=st.text(min_size=1, max_size=40))
def test_any_value_stays_inside_its_word(value):
    """Whatever an address or name holds, it lands in exactly the word the template put it
    in, even where the template had it inside double quotes."""
    import shlex

    for text in (DEFAULT_ETCDCTL, 'etcdctl "--endpoints=https://{address}:2379" --user={name}'):
        template = parse_prefix(text)
        rendered = template.expand(name=value, address=value).render()
        words = shlex.split(rendered.replace(ContainerLookup().render(), "LOOKUP"))
        expected = [w if isinstance(w, str) else "LOOKUP" for w in template.words()]
        expected = [w.replace("{address}", value).replace("{name}", value) for w in expected]
        assert words == expected
