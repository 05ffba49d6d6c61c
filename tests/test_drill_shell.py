"""The drill hosts' shell behaves like bash on an RHCOS node, with the real failure texts."""

from __future__ import annotations

import time

import pytest

from tui.drill import kubelet
from tui.drill.commands import crictl
from tui.drill.hostfiles import populate_control_plane_host
from tui.drill.model import (ApiState, DrillCluster, DrillHost, EtcdCluster, EtcdMember,
                             SimClock)
from tui.drill.shell import BufferWriter, ShellSession, default_env, run_script

ETCD_GREP = 'sudo crictl ps | grep etcd | egrep -v "operator|etcd-guard"'
KAS_GREP = 'sudo crictl ps | grep kube-apiserver | egrep -v "operator|guard"'


def make_cluster(speed: float = 1.0, frozen: bool = True) -> DrillCluster:
    clock = SimClock(speed=speed, frozen=frozen)
    hosts = [DrillHost(name=f"master-{i}", address=f"127.0.3.{i + 1}",
                       ip_addresses=[("br-ex", f"127.0.3.{i + 1}/24")]) for i in range(3)]
    members = [EtcdMember(name=h.name, member_id=0x1000 + i, peer_url=f"https://{h.address}:2380",
                          client_url=f"https://{h.address}:2379") for i, h in enumerate(hosts)]
    cluster = DrillCluster(name="drill", clock=clock, hosts=hosts,
                           etcd=EtcdCluster(cluster_id=7, members=members, leader_id=0x1000),
                           api=ApiState())
    for h in hosts:
        populate_control_plane_host(cluster, h)
    return cluster


class Run:
    def __init__(self, status: int, out: str, err: str):
        self.status, self.out, self.err = status, out, err

    def __repr__(self) -> str:
        return f"Run({self.status}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cluster() -> DrillCluster:
    return make_cluster()


async def sh(cluster: DrillCluster, script: str, host: int = 0, stdin: str = "",
             session: ShellSession | None = None) -> Run:
    out, err = BufferWriter(), BufferWriter()
    h = cluster.hosts[host]
    if session is None:
        session = ShellSession(cluster=cluster, host=h, stdout=out, stderr=err,
                               env=default_env(h))
    else:
        session.stdout, session.stderr = out, err
    status = await run_script(script, session, stdin=stdin)
    return Run(status, out.getvalue(), err.getvalue())


# --- the language ---------------------------------------------------------------------------


async def test_quoting(cluster):
    r = await sh(cluster, """echo "a  b" 'c$d' e\\ f "x\\"y" ''""")
    assert r.out == 'a  b c$d e f x"y \n'
    r = await sh(cluster, "X='1  2'; echo $X; echo \"$X\"; echo ${X}z ${NOPE:-dflt}")
    assert r.out == "1 2\n1  2\n1 2z dflt\n"


async def test_command_substitution_nested_and_in_quotes(cluster):
    r = await sh(cluster, 'echo "host=$(hostname) $(echo "in $(echo deep)")"')
    assert r.out == "host=master-0 in deep\n"
    r = await sh(cluster, "A=$(printf 'x\\n\\n\\n'); echo \"[$A]\"")
    assert r.out == "[x]\n"


async def test_lists_and_exit_status(cluster):
    r = await sh(cluster, "false && echo no || echo yes; true && echo ok\necho $?")
    assert r.out == "yes\nok\n0\n"
    r = await sh(cluster, "false; echo $?")
    assert r.out == "1\n"


async def test_env_assignment_before_command(cluster):
    r = await sh(cluster, "FOO=bar env | grep ^FOO=; echo \"[$FOO]\"")
    assert r.out == "FOO=bar\n[]\n"


async def test_comments_and_redirections(cluster):
    r = await sh(cluster, "echo hi > /tmp/x # a comment\necho there >> /tmp/x\ncat < /tmp/x")
    assert r.out == "hi\nthere\n"
    r = await sh(cluster, "cat /nope 2>&1 >/dev/null | sed 2>/dev/null; cat /nope 2>/dev/null; "
                          "echo $?")
    assert r.out.endswith("1\n")
    r = await sh(cluster, "ls /nope 2>&1 | wc -l")
    assert r.out == "1\n"
    r = await sh(cluster, "echo x > /etc/motd")
    assert (r.status, r.err) == (1, "bash: line 1: /etc/motd: Permission denied\n")


async def test_unknown_command(cluster):
    r = await sh(cluster, "frobnicate --now")
    assert (r.status, r.out, r.err) == (127, "", "bash: line 1: frobnicate: command not found\n")
    r = await sh(cluster, "echo one\nnosuch")
    assert r.err == "bash: line 2: nosuch: command not found\n"
    r = await sh(cluster, "sudo frobnicate")
    assert (r.status, r.err) == (1, "sudo: frobnicate: command not found\n")
    r = await sh(cluster, "sh -c 'frobnicate'")
    assert (r.status, r.err) == (127, "sh: line 1: frobnicate: command not found\n")
    # etcdctl lives in the etcd container image, not on RHCOS
    r = await sh(cluster, "etcdctl member list")
    assert (r.status, r.err) == (127, "bash: line 1: etcdctl: command not found\n")


async def test_syntax_errors(cluster):
    r = await sh(cluster, "echo a | | grep b")
    assert r.status == 2
    assert r.err == ("bash: -c: line 1: syntax error near unexpected token `|'\n"
                     "bash: -c: line 1: `echo a | | grep b'\n")
    r = await sh(cluster, "| grep etcd")
    assert r.status == 2 and "unexpected token `|'" in r.err
    r = await sh(cluster, "echo 'open")
    assert r.status == 2
    assert r.err.startswith("bash: -c: line 1: unexpected EOF while looking for matching `''")
    r = await sh(cluster, "echo a &&")
    assert (r.status, r.err) == (2, "bash: -c: line 1: syntax error: unexpected end of file\n")


async def test_a_syntax_error_on_a_later_line_comes_after_the_lines_before_it_ran(cluster):
    """bash parses a line, runs it, then parses the next; the drill shell parses a script
    once (the parse is kept, by its text) and still runs it that way, every time."""
    from tui.drill import shell

    script = "echo one\necho two\necho a | | grep b\necho never"
    for _ in range(2):  # the second run from the kept parse
        r = await sh(cluster, script)
        assert r.out == "one\ntwo\n" and r.status == 2
        assert r.err == ("bash: -c: line 3: syntax error near unexpected token `|'\n"
                         "bash: -c: line 3: `echo a | | grep b'\n")
    assert shell._parse_cached.cache_info().hits >= 1
    grows = "echo x >> /tmp/kept-parse\ncat /tmp/kept-parse | wc -l\n"
    counts = [(await sh(cluster, grows)).out for _ in range(2)]
    assert counts == ["1\n", "2\n"]  # the kept parse is run afresh: nothing of a run kept
    long = "echo " + "x" * shell.PARSE_CACHE_TEXT_MAX
    assert (await sh(cluster, long)).out == "x" * shell.PARSE_CACHE_TEXT_MAX + "\n"


async def test_unsupported_constructs_fail_clearly(cluster):
    for script in ("if true; then echo x; fi", "for i in a b; do echo $i; done",
                   "sleep 1 &", "f() { echo x; }", "(cd /tmp)", "cat <<EOF\nx\nEOF",
                   "echo $((1+1))"):
        r = await sh(cluster, script)
        assert r.status == 2, script
        assert "not supported by the drill shell" in r.err, script
        assert r.out == ""


async def test_globs(cluster):
    r = await sh(cluster, "echo /var/lib/kubelet/pki/*.pem")
    assert r.out.split() == sorted(r.out.split())
    assert len(r.out.split()) == 4
    r = await sh(cluster, "ls /home/core/assets/backup/*.db")
    assert r.status == 2
    assert r.err == ("ls: cannot access '/home/core/assets/backup/*.db': No such file or "
                     "directory\n")
    r = await sh(cluster, "echo '/tmp/*' \"*\"")
    assert r.out == "/tmp/* *\n"


# --- files and permissions ------------------------------------------------------------------


async def test_mv_missing_file(cluster):
    r = await sh(cluster, "mv /x /tmp")
    assert (r.status, r.err) == (1, "mv: cannot stat '/x': No such file or directory\n")
    r = await sh(cluster, "cat /x")
    assert (r.status, r.err) == (1, "cat: /x: No such file or directory\n")


async def test_permission_denied_without_sudo(cluster):
    host = cluster.hosts[0]
    r = await sh(cluster, "mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp")
    assert r.status == 1
    assert r.err == ("mv: cannot move '/etc/kubernetes/manifests/etcd-pod.yaml' to "
                     "'/tmp/etcd-pod.yaml': Permission denied\n")
    assert "/etc/kubernetes/manifests/etcd-pod.yaml" in host.files
    r = await sh(cluster, "cat /etc/kubernetes/manifests/etcd-pod.yaml")
    assert (r.status, r.err) == (1, "cat: /etc/kubernetes/manifests/etcd-pod.yaml: Permission "
                                    "denied\n")
    r = await sh(cluster, "rm /var/lib/kubelet/pki/kubelet-client-current.pem")
    assert (r.status, r.err) == (1, "rm: cannot remove '/var/lib/kubelet/pki/kubelet-client-"
                                    "current.pem': Permission denied\n")
    r = await sh(cluster, "ls /var/lib/etcd")
    assert (r.status, r.err) == (2, "ls: cannot open directory '/var/lib/etcd': Permission "
                                    "denied\n")
    r = await sh(cluster, "sudo cat /etc/kubernetes/manifests/etcd-pod.yaml | head -n 2")
    assert r.out == "apiVersion: v1\nkind: Pod\n"
    r = await sh(cluster, "sudo ls /var/lib/etcd/member")
    assert r.out == "snap\nwal\n"


async def test_sudo_needs_password(cluster):
    cluster.hosts[1].sudo_nopasswd = False
    r = await sh(cluster, "sudo -n crictl ps", host=1)
    assert (r.status, r.out, r.err) == (1, "", "sudo: a password is required\n")
    r = await sh(cluster, "sudo true", host=1)
    assert r.status == 1 and r.err.endswith("sudo: a password is required\n")
    r = await sh(cluster, "sudo -n true")
    assert r.status == 0


async def test_sudo_env_reset_and_preserve(cluster):
    r = await sh(cluster, "export HTTPS_PROXY=http://proxy:3128; sudo env | grep PROXY; "
                          "sudo -E env | grep PROXY; sudo whoami; sudo -i pwd")
    assert r.out == "HTTPS_PROXY=http://proxy:3128\nroot\n/root\n"


async def test_sudo_mv_manifest_stops_etcd_after_a_while(cluster):
    host = cluster.hosts[0]
    before = await sh(cluster, ETCD_GREP)
    assert before.status == 0
    names = sorted(line.split()[-4] for line in before.out.splitlines())
    assert names == ["etcd", "etcd-metrics", "etcd-readyz", "etcdctl"]

    r = await sh(cluster, "sudo mv -v /etc/kubernetes/manifests/etcd-pod.yaml /tmp")
    assert (r.status, r.out, r.err) == (
        0, "renamed '/etc/kubernetes/manifests/etcd-pod.yaml' -> '/tmp/etcd-pod.yaml'\n", "")
    assert "/tmp/etcd-pod.yaml" in host.files
    # kubelet needs a moment: right after the move the containers still run
    assert (await sh(cluster, ETCD_GREP)).out != ""
    assert cluster.etcd.member_by_name("master-0").running

    cluster.clock.advance(kubelet.STOP_DELAY + 1)
    after = await sh(cluster, ETCD_GREP)
    assert (after.status, after.out) == (1, "")
    assert not cluster.etcd.member_by_name("master-0").running
    exited = await sh(cluster, "sudo crictl ps -a --state exited --name '^etcd$' -q | wc -l")
    assert exited.out == "1\n"
    # kube-apiserver keeps running until its own manifest goes
    assert (await sh(cluster, KAS_GREP)).out != ""

    # putting the manifest back brings the pod back
    await sh(cluster, "sudo mv /tmp/etcd-pod.yaml /etc/kubernetes/manifests/")
    cluster.clock.advance(kubelet.START_DELAY + 1)
    back = await sh(cluster, ETCD_GREP)
    assert len(back.out.splitlines()) == 4
    assert cluster.etcd.member_by_name("master-0").running


async def test_api_unreachable_when_no_kube_apiserver_runs(cluster):
    for i in range(3):
        r = await sh(cluster, "sudo mv -v /etc/kubernetes/manifests/kube-apiserver-pod.yaml /tmp",
                     host=i)
        assert r.status == 0
    assert cluster.api.reachable
    cluster.clock.advance(kubelet.STOP_DELAY + 1)
    assert (await sh(cluster, KAS_GREP)).out == ""
    assert not cluster.api.reachable


async def test_rm_glob_of_kubelet_pems(cluster):
    host = cluster.hosts[2]
    r = await sh(cluster, "sudo rm -f /var/lib/kubelet/pki/*.pem", host=2)
    assert (r.status, r.out, r.err) == (0, "", "")
    assert not [p for p in list(host.files) + list(host.links)
                if p.startswith("/var/lib/kubelet/pki/")]
    # with nothing left to match, the pattern stays literal and rm -f ignores it
    r = await sh(cluster, "sudo rm -f /var/lib/kubelet/pki/*.pem; echo $?", host=2)
    assert r.out == "0\n"
    r = await sh(cluster, "rm /var/lib/kubelet/pki/*.pem", host=2)
    assert r.err == ("rm: cannot remove '/var/lib/kubelet/pki/*.pem': No such file or "
                     "directory\n")


async def test_mv_etcd_data_dir(cluster):
    host = cluster.hosts[1]
    r = await sh(cluster, "mv -v /var/lib/etcd/ /tmp", host=1)
    assert r.status == 1 and r.err == ("mv: cannot move '/var/lib/etcd/' to '/tmp/etcd': "
                                       "Permission denied\n")
    r = await sh(cluster, "sudo mv -v /var/lib/etcd/ /tmp", host=1)
    assert r.out == "renamed '/var/lib/etcd/' -> '/tmp/etcd'\n"
    assert "/tmp/etcd/member/snap/db" in host.files
    assert not any(p.startswith("/var/lib/etcd/") for p in host.files)


# --- pipes, text tools ----------------------------------------------------------------------


async def test_grep_flags_and_pipes(cluster):
    text = "alpha\nBeta\ngamma\n"
    assert (await sh(cluster, "grep -i beta", stdin=text)).out == "Beta\n"
    assert (await sh(cluster, "grep -v -E 'a$|^B'", stdin="ab\nBx\nzz\n")).out == "ab\nzz\n"
    assert (await sh(cluster, "grep -q gam && echo found", stdin=text)).out == "found\n"
    assert (await sh(cluster, "grep nope", stdin=text)).status == 1
    r = await sh(cluster, "grep x /nope")
    assert (r.status, r.err) == (2, "grep: /nope: No such file or directory\n")
    assert (await sh(cluster, "printf 'a\\nb\\nc\\n' | head -n 2 | tail -1")).out == "b\n"
    assert (await sh(cluster, "echo 'a b c' | cut -d ' ' -f 2,3 | tr a-z A-Z")).out == "B C\n"
    assert (await sh(cluster, "printf '3\\n1\\n2\\n' | sort -n | wc -l")).out == "3\n"


async def test_ls_long_and_stat(cluster):
    r = await sh(cluster, "sudo ls -l /var/lib/kubelet/pki")
    lines = r.out.splitlines()
    assert lines[0].startswith("total ")
    assert any(line.startswith("lrwxrwxrwx. 1 root root") and "kubelet-client-current.pem -> "
               "/var/lib/kubelet/pki/kubelet-client-" in line for line in lines)
    r = await sh(cluster, "stat -c '%U %a %s' /usr/local/bin/cluster-backup.sh")
    assert r.out.startswith("root 755 ")


# --- sleep and the clock --------------------------------------------------------------------


async def test_sleep_follows_clock_speed():
    fast = make_cluster(speed=100.0, frozen=False)
    start = time.monotonic()
    r = await sh(fast, "sleep 10")
    elapsed = time.monotonic() - start
    assert r.status == 0
    assert 0.05 <= elapsed < 1.0
    frozen = make_cluster()
    t0 = frozen.clock.now()
    await sh(frozen, "sleep 2m")
    assert frozen.clock.now() - t0 == pytest.approx(120)


# --- crictl, systemctl, ip ------------------------------------------------------------------


async def test_crictl_needs_root(cluster):
    r = await sh(cluster, "crictl ps")
    assert r.status == 1
    assert "level=fatal" in r.err and "connect: permission denied" in r.err
    r = await sh(cluster, "sudo crictl ps | head -n 1")
    assert r.out.split() == ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD",
                             "ID", "POD"]
    assert r.out.startswith("CONTAINER           IMAGE")
    r = await sh(cluster, "sudo crictl ps --name '^etcdctl$' -q")
    assert len(r.out.strip()) == 64


async def test_systemctl(cluster):
    host = cluster.hosts[0]
    r = await sh(cluster, "systemctl restart kubelet.service")
    assert r.status == 1
    assert r.err.startswith("Failed to restart kubelet.service: Interactive authentication "
                            "required.\n")
    r = await sh(cluster, "sudo systemctl stop kubelet; systemctl is-active kubelet; echo $?")
    assert r.out == "inactive\n3\n"
    assert not host.kubelet_running
    r = await sh(cluster, "sudo systemctl restart kubelet.service && systemctl is-active kubelet")
    assert r.out == "active\n" and host.kubelet_running


async def test_ip_addresses(cluster):
    host = cluster.hosts[0]
    host.ip_addresses.append(("br-ex", "127.0.3.200/32"))
    r = await sh(cluster, "ip -o address | egrep '127.0.3.200|127.0.3.201'")
    assert r.out.startswith("2: br-ex    inet 127.0.3.200/32 scope global br-ex\\")
    r = await sh(cluster, "ip address del 127.0.3.200/32 dev br-ex")
    assert (r.status, r.err) == (2, "RTNETLINK answers: Operation not permitted\n")
    r = await sh(cluster, "sudo ip address del 127.0.3.200/32 dev br-ex")
    assert r.status == 0 and ("br-ex", "127.0.3.200/32") not in host.ip_addresses


async def test_recovery_scripts_check_their_dependencies(cluster):
    # the scripts are simulated for real (tests/test_drill_backup.py,
    # tests/test_drill_restore_scripts.py); this bare cluster lacks what they source
    r = await sh(cluster, "sudo -E /usr/local/bin/cluster-restore.sh /home/core/assets/backup")
    assert (r.status, r.err) == (1, "")
    assert r.out.startswith("required dependencies not found")


# --- etcdctl through crictl exec ------------------------------------------------------------


async def test_openshift_style_etcdctl_invocation(cluster, monkeypatch):
    calls = []

    def run_etcdctl(argv, env, cl, host):
        calls.append((argv, env, host.name))
        return 0, '[{"Endpoint":"https://127.0.3.1:2379"}]\n', ""

    monkeypatch.setattr(crictl, "run_etcdctl", run_etcdctl)
    addr = cluster.hosts[0].address
    script = ("sudo -n sh -c 'crictl exec \"$(crictl ps --name '\"'\"'^etcdctl$'\"'\"' "
              "--state running -q | head -n 1)\" env -u ETCDCTL_ENDPOINTS etcdctl "
              f"--endpoints=https://{addr}:2379 endpoint status --cluster -w json'")
    r = await sh(cluster, script)
    assert (r.status, r.err) == (0, "")
    assert r.out == '[{"Endpoint":"https://127.0.3.1:2379"}]\n'
    argv, env, host = calls[0]
    assert argv == [f"--endpoints=https://{addr}:2379", "endpoint", "status", "--cluster",
                    "-w", "json"]
    assert host == "master-0"
    assert "ETCDCTL_ENDPOINTS" not in env
    assert env["ETCDCTL_API"] == "3"
    assert env["ETCDCTL_CERT"].endswith("/etcd-peer-master-0.crt")

    # plain exec keeps the pod's endpoints: every member's client URL
    r = await sh(cluster, "sudo crictl exec $(sudo crictl ps --name etcdctl -q) etcdctl "
                          "member list")
    env = calls[-1][1]
    assert env["ETCDCTL_ENDPOINTS"] == ",".join(m.client_url for m in cluster.etcd.members)


async def test_etcdctl_failure_and_missing_container(cluster, monkeypatch):
    monkeypatch.setattr(crictl, "run_etcdctl",
                        lambda argv, env, cl, host: (1, "", "Error: context deadline exceeded\n"))
    r = await sh(cluster, "sudo crictl exec $(sudo crictl ps --name etcdctl -q) etcdctl "
                          "endpoint health")
    assert r.status == 1
    assert r.err.startswith("Error: context deadline exceeded\n")
    assert "command terminated with exit code 1" in r.err
    # no etcdctl container running: crictl exec gets an empty ID
    await sh(cluster, "sudo mv /etc/kubernetes/manifests/etcd-pod.yaml /tmp")
    cluster.clock.advance(kubelet.STOP_DELAY + 1)
    r = await sh(cluster, "sudo crictl exec \"$(sudo crictl ps --name etcdctl -q)\" etcdctl "
                          "endpoint health")
    assert r.status == 1 and "could not find container" in r.err


# --- host contents --------------------------------------------------------------------------


def test_crictl_table_matches_the_documented_layout():
    from tui.drill.commands.crictl import tabwrite

    # the sample line in the OpenShift restore documentation (RST-12)
    documented = ("3ad41b7908e32       36f86e2eeaaffe662df0d21041eb22b8198e0e58abeeae8c743c3e6e97"
                  "7e8009                                                         About a minute "
                  "ago   Running             etcd                                          0     "
                  "              7c05f8af362f0")
    wide_image = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:" + "a" * 64
    rows = [["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"],
            ["3ad41b7908e32", "36f86e2eeaaffe662df0d21041eb22b8198e0e58abeeae8c743c3e6e977e8009",
             "About a minute ago", "Running", "etcd", "0", "7c05f8af362f0", "etcd-master-0"],
            ["0123456789abc", wide_image, "2 hours ago", "Running",
             "kube-apiserver-cert-regeneration-controller", "0", "fedcba9876543",
             "kube-apiserver-master-0"]]
    assert tabwrite(rows).splitlines()[1].startswith(documented)


def test_worker_and_repeated_population():
    cluster = make_cluster()
    worker = DrillHost(name="worker-0", address="127.0.3.101", role="worker",
                       ip_addresses=[("br-ex", "127.0.3.101/24")])
    cluster.hosts.append(worker)
    populate_control_plane_host(cluster, worker)
    assert any(p.startswith("/var/lib/kubelet/pki/kubelet-client-") for p in worker.files)
    assert "/var/lib/kubelet/pki/kubelet-client-current.pem" in worker.links
    assert not [p for p in worker.files if p.startswith("/etc/kubernetes/manifests/")]
    assert not [c for c in worker.containers if c.name.startswith("etcd")]
    master = cluster.hosts[0]
    before = (len(master.containers), len(master.files), list(master.ip_addresses))
    populate_control_plane_host(cluster, master)
    assert (len(master.containers), len(master.files), list(master.ip_addresses)) == before
    ids = [c.container_id for c in master.containers]
    assert len(set(ids)) == len(ids) and all(len(i) == 64 for i in ids)


async def test_crictl_stop_restarts_container_next_attempt(cluster):
    member = cluster.etcd.member_by_name("master-0")
    r = await sh(cluster, "sudo crictl stop $(sudo crictl ps -q --name '^etcd$')")
    assert r.status == 0 and len(r.out.strip()) == 64
    assert not member.running
    cluster.clock.advance(kubelet.START_DELAY + 1)
    r = await sh(cluster, "sudo crictl ps --name '^etcd$'")
    row = r.out.splitlines()[1].split()
    assert row[row.index("Running") + 2] == "1"  # ATTEMPT
    assert member.running


async def test_cd_export_and_sudo_login_shell(cluster):
    r = await sh(cluster, "cd /tmp && pwd; cd /nope; echo $?; sudo -i pwd; sudo -i nosuch")
    assert r.out == "/tmp\n1\n/root\n"
    assert r.err == ("bash: line 1: cd: /nope: No such file or directory\n"
                     "-bash: line 1: nosuch: command not found\n")


async def test_chmod_missing_operands_say_what_coreutils_says(cluster):
    """GNU chmod 8.32: `chmod` alone and `chmod MODE` without a file (exit 1)."""
    r = await sh(cluster, "chmod")
    assert (r.status, r.err) == (1, "chmod: missing operand\n"
                                    "Try 'chmod --help' for more information.\n")
    r = await sh(cluster, "chmod 600")
    assert (r.status, r.err) == (1, "chmod: missing operand after '600'\n"
                                    "Try 'chmod --help' for more information.\n")
