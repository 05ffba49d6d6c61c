"""`etcd-dr init` end to end on the real lab (issue 16): the CLI reads a Kubernetes API and
checks SSH to the hosts it found, each a real OpenSSH sshd with its own host key.

The API is a small HTTPS stand-in this test starts on a loopback address of the lab's own
subnet (a thread, stopped by the test): it answers the four GETs init makes with real
clusters' objects read at test time from the held-out reference set (the MG-AWS must-gather
of ../shared/reference/ocp-objects, as tests/test_init.py reads it), its three master Nodes
renamed to the lab's hosts (master-0.., the etcd members' names) with their InternalIP
rewritten to the lab hosts' loopback addresses; its workers stay as they were (left out). It
wants the kubeconfig's bearer token and refuses anything but GET.

What the lab differs in from an OpenShift node, and how init is told: its sshd listens on a
loopback port, not 22 (`--ssh-port`), and lets root in with the lab's key, there being no
`core` user on this machine (`--ssh-user root --identity-file KEY`). Its etcd members run
beside the sshds, not in an etcd pod, so `crictl exec` (the inventory's default etcdctl)
has nothing to enter: for the status check only, the lab's own etcdctl prefix is appended
to a copy of the written inventory (the one key init does not write).

Three runs of it: --trust-on-first-use (then status, a second run, a hashed known_hosts and
a changed key), an operator answering on a terminal, and through the lab's real bastion.
"""

from __future__ import annotations

import base64
import copy
import datetime
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncssh
import pytest
import yaml

from tests.cli_runner import run_cli
from tests.test_init import aws_infrastructure, reference
from tui.inventory import load_inventory

pytest_plugins = ["tests.lab.fixtures"]
pytestmark = pytest.mark.lab

TOKEN = "sha256~etcd-dr-lab-init-" + "Q7xk3V9mZt2LwP8rN4sJ6bHc"
CONFIG = "/apis/config.openshift.io/v1"
FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


# --- the API stand-in -------------------------------------------------------------------------

def lab_objects(lab) -> dict[str, dict]:
    """path -> object: the reference set's objects, its masters become the lab's hosts."""
    nodes = copy.deepcopy(reference("nodes.json"))
    masters = sorted((n for n in nodes["items"]
                      if "node-role.kubernetes.io/master" in n["metadata"]["labels"]),
                     key=lambda n: n["metadata"]["name"])
    assert len(masters) == len(lab.hosts) == 3
    for node, host in zip(masters, lab.hosts):
        node["metadata"]["name"] = host.name
        node["metadata"]["labels"]["kubernetes.io/hostname"] = host.name
        node["status"]["addresses"] = [
            {"address": host.address if a["type"] == "InternalIP" else host.name,
             "type": a["type"]} for a in node["status"]["addresses"]]
    return {f"{CONFIG}/clusterversions/version": reference("clusterversion-mustgather-4.8.json"),
            f"{CONFIG}/infrastructures/cluster": aws_infrastructure(),
            f"{CONFIG}/proxies/cluster": reference("proxy.json"),
            "/api/v1/nodes": nodes}


def self_signed(address: str, directory: Path) -> tuple[Path, Path, bytes]:
    """A serving certificate for the IP address (its own CA), as cert file, key file, PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "etcd-dr lab API stand-in")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = directory / "api.crt", directory / "api.key"
    cert_path.write_bytes(pem)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path, pem


class ApiStandIn:
    """HTTPS on ADDRESS:ephemeral port, one thread, bearer token required, GETs only."""

    def __init__(self, address: str, objects: dict[str, dict], directory: Path):
        self.objects = objects
        self.requests: list[tuple[str, str, bool]] = []  # method, path, token given
        cert, key, self.ca_pem = self_signed(address, directory)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _status(self, code: int, reason: str) -> None:
                self._answer(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                    "reason": reason, "code": code})

            def do_GET(self) -> None:  # http.server's name
                path = self.path.split("?", 1)[0]
                authorized = self.headers.get("Authorization") == f"Bearer {TOKEN}"
                stand_in.requests.append(("GET", path, authorized))
                if not authorized:
                    return self._status(401, "Unauthorized")
                if path in stand_in.objects:
                    return self._answer(200, stand_in.objects[path])
                return self._status(404, "NotFound")

            def _refuse(self) -> None:
                stand_in.requests.append((self.command, self.path, False))
                self._status(405, "MethodNotAllowed")

            do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://{address}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="lab-init-api")

    def start(self) -> ApiStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "admin",
            "clusters": [{"name": "lab", "cluster": {
                "server": self.url,
                "certificate-authority-data": base64.b64encode(self.ca_pem).decode()}}],
            "users": [{"name": "admin", "user": {"token": TOKEN}}],
            "contexts": [{"name": "admin", "context": {"cluster": "lab", "user": "admin"}}],
        }))
        path.chmod(0o600)
        return path


@pytest.fixture
def api(lab, tmp_path):
    directory = tmp_path / "api"
    directory.mkdir()
    # an address of the lab's own claimed 127.0.N.0/24 (hosts are .1-.3, a bastion .250)
    stand_in = ApiStandIn(lab.subnet.address(240), lab_objects(lab), directory).start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


# --- what the lab's hosts really present --------------------------------------------------------

def real_host_keys(lab) -> dict[str, tuple[str, str]]:
    """host name -> (key type and base64, SHA256 fingerprint), from the sshd's host key file."""
    out = {}
    for h in lab.hosts:
        public = asyncssh.read_private_key(h.sshd.host_key).convert_to_public()
        algorithm, blob = public.export_public_key().decode().split()[:2]
        out[h.name] = (f"{algorithm} {blob}", public.get_fingerprint("sha256"))
    return out


def keyscan(lab) -> dict[str, str]:
    """host name -> "type base64", as ssh-keyscan hears it from each sshd."""
    ssh_keyscan = shutil.which("ssh-keyscan")
    if ssh_keyscan is None:
        return {}
    proc = subprocess.run([ssh_keyscan, "-T", "5", "-t", "ed25519", "-p", str(lab.port),
                           *(h.address for h in lab.hosts)],
                          capture_output=True, text=True, timeout=30, check=False)
    by_address = {}
    for line in proc.stdout.splitlines():
        if line and not line.startswith("#"):
            where, algorithm, blob = line.split()[:3]
            by_address[where.removeprefix("[").partition("]")[0]] = f"{algorithm} {blob}"
    return {h.name: by_address.get(h.address, "") for h in lab.hosts}


def known_hosts_entries(path: Path) -> dict[str, str]:
    """"[address]:port" -> "type base64", every line of the file."""
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            where, algorithm, blob = line.split()[:3]
            assert where not in entries, f"{where} twice in {path}"
            entries[where] = f"{algorithm} {blob}"
    return entries


def init_journal_lines(state_home: Path) -> list[dict]:
    files = sorted((state_home / "etcd-dr" / "journals").glob("*-init-*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def etcd_dr(*args) -> subprocess.CompletedProcess:
    proc = run_cli(*args, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def init(lab, kubeconfig: Path, out: Path, known_hosts: Path, *extra) -> subprocess.CompletedProcess:
    return etcd_dr("init", "--kubeconfig", kubeconfig, "-o", out, "--known-hosts", known_hosts,
                   "--identity-file", lab.key_path, "--ssh-user", "root",
                   "--ssh-port", lab.port, *extra)


# --- the test -----------------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_init_on_the_real_lab_trusts_the_real_host_keys_and_status_then_works(
        lab, api, tmp_path, private_state_home):
    started = time.monotonic()
    real = real_host_keys(lab)
    heard = keyscan(lab)
    if heard:  # what ssh-keyscan hears is what the host key files say
        assert heard == {name: key for name, (key, _) in real.items()}
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    known, out = tmp_path / "known_hosts", tmp_path / "lab.yaml"

    # 1. first run: every key unknown, trusted on first use, journaled
    first = init(lab, kubeconfig, out, known, "--trust-on-first-use")
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout == ""  # the inventory went to -o
    names = [h.name for h in lab.hosts]
    assert f"hosts: {', '.join(f'{h.name} {h.address}' for h in lab.hosts)}" in first.stderr
    assert f"checking SSH to 3 host(s) as root (known_hosts {known})" in first.stderr
    for h in lab.hosts:
        line = (f"  {h.name} {h.address}: connected, key {real[h.name][1]}; its key was "
                f"trusted on first use (--trust-on-first-use, journaled)")
        assert line in first.stderr.splitlines(), first.stderr
    assert "every host answers SSH with a trusted key" in first.stderr
    entries = known_hosts_entries(known)
    assert entries == {f"[{h.address}]:{lab.port}": real[h.name][0] for h in lab.hosts}

    journal = init_journal_lines(private_state_home)
    assert [(j["runbook"], j["step"], j["event"], j["hosts"]) for j in journal] == [
        ("init", "-", "override", [name]) for name in names]
    for j, h in zip(journal, lab.hosts):
        assert j["action"] == "trust-host-key" and j["fingerprint"] == real[h.name][1]
        assert (j["address"], j["port"], j["known_hosts"]) == (h.address, lab.port, str(known))
        assert "--trust-on-first-use" in j["reason"]
    assert f"trusted keys are journaled in {private_state_home}" in first.stderr

    # the inventory: the lab's hosts by their InternalIP, as init was told to reach them
    inventory = load_inventory(out)
    assert inventory.cluster_name == "ci-ln-5ylibmb-d5d6b"
    assert inventory.cluster_version == "4.8.0-0.nightly-2021-07-31-065602"
    assert [(h.name, h.address, h.role, h.port, h.user) for h in inventory.hosts] == [
        (h.name, h.address, "control-plane", lab.port, "root") for h in lab.hosts]
    assert (inventory.ssh.user, inventory.ssh.port) == ("root", lab.port)
    assert inventory.ssh.known_hosts == str(known)
    assert inventory.ssh.identity_file == str(lab.key_path)
    assert inventory.kubeconfig == str(kubeconfig) and inventory.context == "admin"
    text = out.read_text()
    assert f"  port: {lab.port}  # given at init" in text
    assert "etcdctl" not in text

    # 2. status through the written inventory and those known_hosts: the members are up
    status_inventory = tmp_path / "lab-status.yaml"
    status_inventory.write_text(text + "# the lab's etcd runs beside sshd, not in a pod\n"
                                + yaml.safe_dump({"etcdctl": lab.etcdctl_prefix()}))
    status = etcd_dr("status", "--inventory", status_inventory, "--json")
    snap = json.loads(status.stdout)
    assert [(h["name"], h["ssh"]["state"]) for h in snap["hosts"]] == [
        (name, "connected") for name in names], status.stderr
    assert sorted(m["name"] for m in snap["members"]) == names
    assert all(m["errors"] == [] for m in snap["members"]), snap["members"]
    assert snap["leader"] in names and snap["alarms"] == []
    # status read the API through the inventory's kubeconfig; the stand-in serves init's four
    # objects only, so the APIServer it asks for next is a 404 (said, not a crash)
    assert snap["api"]["configured"] and "404" in snap["api"]["error"], snap["api"]
    assert (f"{CONFIG}/apiservers/cluster", True) in {(p, t) for _, p, t in api.requests}
    assert known_hosts_entries(known) == entries  # status trusted nothing

    # 3. a second run: the keys are known, nothing new is trusted or journaled
    again = init(lab, kubeconfig, tmp_path / "again.yaml", known)
    assert again.returncode == 0, again.stdout + again.stderr
    for h in lab.hosts:
        assert f"  {h.name} {h.address}: connected, key {real[h.name][1]}" \
            in again.stderr.splitlines(), again.stderr
    assert "trusted" not in again.stderr.replace("with a trusted key", "")
    assert known_hosts_entries(known) == entries
    assert len(init_journal_lines(private_state_home)) == len(journal)

    # ... also where known_hosts is hashed (HashKnownHosts, Debian's and Ubuntu's default)
    ssh_keygen = shutil.which("ssh-keygen")
    if ssh_keygen is not None:
        hashed = tmp_path / "known_hosts_hashed"
        shutil.copyfile(known, hashed)
        subprocess.run([ssh_keygen, "-H", "-f", str(hashed)], check=True, capture_output=True)
        assert all(line.startswith("|1|") for line in hashed.read_text().splitlines())
        before = hashed.read_bytes()
        again_hashed = init(lab, kubeconfig, tmp_path / "hashed.yaml", hashed)
        assert again_hashed.returncode == 0, again_hashed.stdout + again_hashed.stderr
        assert "trusted on first use" not in again_hashed.stderr
        assert hashed.read_bytes() == before

    # 4. a changed key in known_hosts: refused, never trusted, even on first use
    changed = tmp_path / "known_hosts_changed"
    other = asyncssh.generate_private_key("ssh-ed25519").convert_to_public()
    wrong = " ".join(other.export_public_key().decode().split()[:2])
    victim = lab.hosts[1]
    changed.write_text(known.read_text().replace(real[victim.name][0], wrong))
    before = changed.read_bytes()
    refused = init(lab, kubeconfig, tmp_path / "refused.yaml", changed, "--trust-on-first-use")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    lines = refused.stderr.splitlines()
    (said,) = [line for line in lines if line.startswith(f"  {victim.name} {victim.address}:")]
    assert "host-key-mismatch" in said and real[victim.name][1] in said, said
    assert said.count(other.get_fingerprint()) == 1, said  # the known (wrong) key, once
    for h in lab.hosts:
        if h is not victim:
            assert f"  {h.name} {h.address}: connected, key {real[h.name][1]}" in lines
    assert f"1 host(s) are not ready: {victim.name}" in refused.stderr
    assert changed.read_bytes() == before  # the wrong key stays; the real one is not added
    assert len(init_journal_lines(private_state_home)) == len(journal)
    assert "host-key-mismatch" in (tmp_path / "refused.yaml").read_text()

    # the API was only read, always with the token, and the token was shown nowhere
    assert api.requests and all(m == "GET" and given for m, _, given in api.requests)
    assert {"/api/v1/nodes", f"{CONFIG}/clusterversions/version"} <= {p for _, p, _ in
                                                                       api.requests}
    journals = (private_state_home / "etcd-dr" / "journals").glob("*")
    for text in [p.stdout + p.stderr for p in (first, status, again, refused)] + [
            f.read_text() for f in (out, tmp_path / "again.yaml", tmp_path / "refused.yaml",
                                    known, status_inventory, *journals)]:
        assert TOKEN not in text and "sha256~" not in text
    assert time.monotonic() - started < 60


@pytest.mark.timeout(120)
def test_on_a_terminal_the_operator_is_shown_each_real_key_and_only_a_yes_is_trusted(
        lab, api, tmp_path, private_state_home):
    """The prompt as an operator meets it (a terminal on stdin, the answers typed ahead):
    each host's real fingerprint is shown before its question; y trusts (journaled
    `confirmed`), n leaves the host untrusted."""
    import os
    import pty

    real = real_host_keys(lab)
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    known, out = tmp_path / "known_hosts", tmp_path / "lab.yaml"
    master, slave = pty.openpty()
    try:
        os.write(master, b"y\nn\ny\n")
        r = run_cli("init", "--kubeconfig", kubeconfig, "-o", out, "--known-hosts", known,
                    "--identity-file", lab.key_path, "--ssh-user", "root",
                    "--ssh-port", lab.port, stdin=slave, fork=False, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 1, r.stdout + r.stderr
    # (the typed answers echo on the terminal, not on stderr: a prompt and the next line meet)
    for h in lab.hosts:
        shown = (f"{h.name} ({h.address} port {lab.port}) presents a host key that is not in "
                 f"known_hosts: {real[h.name][1]}\n")
        assert shown in r.stderr, r.stderr
    assert r.stderr.count("[y/N]:") == 3
    said_no = lab.hosts[1]
    assert (f"  {said_no.name} {said_no.address}: host-key-unknown: {real[said_no.name][1]}: "
            f"not trusted (the operator said no)\n") in r.stderr, r.stderr
    assert known_hosts_entries(known) == {f"[{h.address}]:{lab.port}": real[h.name][0]
                                          for h in lab.hosts if h is not said_no}
    journal = init_journal_lines(private_state_home)
    assert [(j["event"], j["hosts"], j["fingerprint"]) for j in journal] == [
        ("confirmed", [h.name], real[h.name][1]) for h in lab.hosts if h is not said_no]
    assert TOKEN not in r.stdout + r.stderr + out.read_text()


@pytest.mark.timeout(120)
def test_init_through_a_real_jump_host_trusts_the_hosts_behind_it_never_the_jump_host(
        make_lab, tmp_path, private_state_home):
    """--jump: the hosts live in a network namespace only the bastion's sshd reaches. Their
    keys are read and trusted through it; the bastion's own key is never trusted by init,
    not even on first use: unknown, every host is unreachable and the bastion's fingerprint
    is said, and once the operator has it in known_hosts, init goes through."""
    lab = make_lab(bastion=True, label="initjump")
    directory = tmp_path / "api"
    directory.mkdir()
    api = ApiStandIn(lab.subnet.address(240), lab_objects(lab), directory).start()
    try:
        kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
        bastion = asyncssh.read_private_key(lab.bastion_host.sshd.host_key).convert_to_public()
        real = real_host_keys(lab)

        known = tmp_path / "known_hosts"
        unknown = init(lab, kubeconfig, tmp_path / "unknown.yaml", known, "--jump", lab.jump,
                       "--trust-on-first-use")
        assert unknown.returncode == 1, unknown.stdout + unknown.stderr
        for h in lab.hosts:
            (said,) = [line for line in unknown.stderr.splitlines()
                       if line.startswith(f"  {h.name} {h.address}: ")]
            assert "unreachable: jump host" in said and bastion.get_fingerprint() in said, said
        # the closing advice is the jump host's, not "run init again on a terminal"
        assert "the jump host is what stops them, and init never trusts a jump host's key " \
            "itself" in unknown.stderr, unknown.stderr
        assert not known.exists() or known.read_text() == ""
        assert init_journal_lines(private_state_home) == []

        b = lab.bastion_host
        known.write_text(f"[{b.address}]:{b.port} {bastion.export_public_key().decode()}")
        first = init(lab, kubeconfig, tmp_path / "lab.yaml", known, "--jump", lab.jump,
                     "--trust-on-first-use")
        assert first.returncode == 0, first.stdout + first.stderr
        for h in lab.hosts:
            assert (f"  {h.name} {h.address}: connected, key {real[h.name][1]}; its key was "
                    f"trusted on first use (--trust-on-first-use, journaled)"
                    in first.stderr.splitlines()), first.stderr
        assert known_hosts_entries(known) == {
            f"[{b.address}]:{b.port}": " ".join(bastion.export_public_key().decode().split()[:2]),
            **{f"[{h.address}]:{lab.port}": real[h.name][0] for h in lab.hosts}}
        assert [(j["event"], j["hosts"]) for j in init_journal_lines(private_state_home)] == [
            ("override", [h.name]) for h in lab.hosts]
        inventory = load_inventory(tmp_path / "lab.yaml")
        assert inventory.ssh.jump == lab.jump
        for text in (unknown.stdout + unknown.stderr, first.stdout + first.stderr,
                     (tmp_path / "lab.yaml").read_text()):
            assert TOKEN not in text
    finally:
        api.stop()
