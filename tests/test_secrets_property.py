"""Secrets never written (issue #12, part 3): 1,000 generated secrets in 20+ shapes, in
realistic surroundings, through every output — the redactor, a real journal file, the
headless printer, the report, Command.redacted()/display() and the console's panes — and
none of them shows a secret. Then the named leaks, exactly; and what must NOT be redacted.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shlex
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tui import secrets
from tui.fleet.commands import Command
from tui.journal import Journal, read_journal
from tui.report import render_markdown, summarize
from tui.runbooks.context import RunEvent
from tui.runbooks.headless import HeadlessOperator
from tui.secrets import REDACTED, redact, redact_text
from tui.widgets.redacted_log import RedactedLog

# --- the secrets --------------------------------------------------------------------------

# CI runs the same 1,000 examples every time; SECRETS_RANDOM=1 SECRETS_EXAMPLES=20000 explores
DERANDOMIZE = os.environ.get("SECRETS_RANDOM") is None
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7f))
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_B64 = _ALNUM + "+/"
_B64URL = _ALNUM + "-_"
# a password as people choose them: anything printable, spaces included ('/', '@', ':',
# '%', quotes, '$'...)
_PASSWORD = _PRINTABLE + " "


def _secret(alphabet: str, min_size: int = 8, max_size: int = 40):
    """At least one digit somewhere (so that a secret is never a substring of the words
    around it, e.g. "redacted" or "proxy"), never blank at its ends."""
    return st.tuples(st.text(alphabet, min_size=min_size - 1, max_size=max_size - 1),
                     st.sampled_from("0123456789"), st.integers(0, max_size)) \
        .map(lambda t: t[0][:t[2]] + t[1] + t[0][t[2]:]).map(lambda s: s.strip() or "0pw0")


@dataclass(frozen=True)
class Case:
    shape: str
    text: str  # the secret in its surroundings
    needles: tuple[str, ...]  # what must appear in no output
    register: tuple[str, ...] = ()  # values registered first (proxy, inventory)


def _pem(kind: str, body: str, end: bool) -> str:
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    block = [f"-----BEGIN {kind}-----", *lines]
    if end:
        block.append(f"-----END {kind}-----")
    return "\n".join(block)


def _jwt(payload: str) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    signature = base64.urlsafe_b64encode(payload[::-1].encode()).decode().rstrip("=")
    return f"{enc({'alg': 'RS256', 'kid': 'x'})}.{enc({'sub': payload})}.{signature}"


def _percent_needles(pw: str) -> tuple[str, ...]:
    return (pw, quote(pw, safe=""))


SHAPES = {
    # URL userinfo, the issue's proxy leaks: '/', '@', space, percent-escapes, user-only token
    "proxy-url": (_secret(_PASSWORD.replace("'", "").replace('"', "")),
                  lambda pw: (f"export HTTPS_PROXY={shlex.quote(f'http://proxy-user:{pw}@proxy.example.com:3128')}; "
                              f"/usr/local/bin/cluster-backup.sh /home/core/assets/backup", (pw,))),
    "proxy-url-percent": (_secret(_PASSWORD),
                          lambda pw: (f"HTTP_PROXY=http://me:{quote(pw, safe='')}@10.0.0.9:3128 "
                                      f"NO_PROXY=.cluster.local", _percent_needles(pw))),
    "proxy-token-only": (_secret(_ALNUM + "-._~"),
                         lambda pw: (f"curl --proxy https://{pw}@proxy.corp:8443/ -sS "
                                     f"https://quay.io/v2/", (pw,))),
    "proxy-url-json": (_secret(_PASSWORD),
                       lambda pw: (json.dumps({"httpsProxy": f"http://u:{pw}@proxy:3128",
                                               "noProxy": "10.0.0.0/16"}), (pw,))),
    "proxy-url-stderr": (_secret(_PASSWORD.replace("'", "").replace('"', "")),
                         lambda pw: (f"curl: (56) Received HTTP code 407 from proxy after "
                                     f"CONNECT to http://admin:{pw}@proxy.example.com:3128\n"
                                     f"exit status 56", (pw,))),
    # flags, both forms
    "password-flag": (_secret(_PASSWORD),
                      lambda pw: (f"etcdctl --endpoints=https://10.0.0.5:2379 --password "
                                  f"{shlex.quote(pw)} endpoint health", (pw,))),
    "password-flag-eq": (_secret(_PASSWORD),
                         lambda pw: (f"etcdctl --password={shlex.quote(pw)} member list -w "
                                     f"json", (pw,))),
    "user-flag-eq": (_secret(_PASSWORD),
                     lambda pw: (f"etcdctl --user={shlex.quote('root:' + pw)} get /x", (pw,))),
    "user-flag-space": (_secret(_PASSWORD),
                        lambda pw: (f"etcdctl --user {shlex.quote('root:' + pw)} alarm list",
                                    (pw,))),
    "token-flag": (_secret(_PASSWORD),
                   lambda pw: (f"oc login --token {shlex.quote(pw)} --server="
                               f"https://api.example.com:6443", (pw,))),
    "token-flag-eq": (_secret(_PASSWORD),
                      lambda pw: (f"oc --token={shlex.quote(pw)} get nodes", (pw,))),
    "etcdctl-user-env": (_secret(_PASSWORD),
                         lambda pw: (f"env ETCDCTL_USER={shlex.quote('root:' + pw)} etcdctl "
                                     f"get /x", (pw,))),
    # tokens
    "bearer-header": (_secret(_B64URL + ".~+/", 12),
                      lambda pw: (f"curl -k -H 'Authorization: Bearer {pw}' "
                                  f"https://api.example.com:6443/version", (pw,))),
    "jwt": (_secret(_B64URL, 16),
            lambda pw: ((lambda j: (f"error: token {j} is expired (exp 1700000000)",
                                    (j, j.split('.')[1])))(_jwt(pw)))),
    "sha256-token": (_secret(_B64URL, 43, 43),
                     lambda pw: (f"Using token sha256~{pw} from kubeconfig context admin",
                                 (pw,))),
    # keys
    "pem-private-key": (_secret(_B64, 64, 200),
                        lambda pw: ("ssh key:\n" + _pem("OPENSSH PRIVATE KEY", pw, True)
                                    + "\nend of file", tuple(pw[i:i + 64] for i in
                                                             range(0, len(pw), 64)
                                                             if len(pw[i:i + 64]) >= 8))),
    "pem-unterminated": (_secret(_B64, 64, 200),
                         lambda pw: ("cat: short read\n" + _pem("RSA PRIVATE KEY", pw, False),
                                     tuple(pw[i:i + 64] for i in range(0, len(pw), 64)
                                           if len(pw[i:i + 64]) >= 8))),
    # kubeconfig
    "client-key-data": (_secret(_B64, 24, 120),
                        lambda pw: (f"users:\n- name: admin\n  user:\n    client-certificate-"
                                    f"data: LS0tCERU\n    client-key-data: {pw}\n", (pw,))),
    "certificate-authority-data": (_secret(_B64, 24, 120),
                                   lambda pw: (f"clusters:\n- cluster:\n    certificate-"
                                               f"authority-data: {pw}\n    server: "
                                               f"https://api:6443\n", (pw,))),
    "kubeconfig-token": (_secret(_B64URL + "~", 20),
                         lambda pw: (f"- name: admin\n  user:\n    token: {pw}\n", (pw,))),
    # environment assignments
    "aws-secret-env": (_secret(_B64, 20, 40),
                       lambda pw: (f"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
                                   f"AWS_SECRET_ACCESS_KEY={pw}\nAWS_REGION=us-east-1", (pw,))),
    "export-token-env": (_secret(_PASSWORD),
                         lambda pw: (f"export FOO_TOKEN={shlex.quote(pw)}; ./upload.sh "
                                     f"/home/core/assets/backup", (pw,))),
    "password-env-line": (_secret(_PASSWORD),
                          lambda pw: (f"HOME=/root\nDB_PASSWORD={pw}\nPATH=/usr/bin", (pw,))),
    "api-key-env": (_secret(_ALNUM + "-_", 16),
                    lambda pw: (f"env MONITORING_API_KEY={pw} ./check", (pw,))),
    # structured
    "json-password": (_secret(_PASSWORD),
                      lambda pw: (json.dumps({"username": "root", "password": pw,
                                              "endpoint": "https://10.0.0.5:2379"}), (pw,))),
    "yaml-password": (_secret(_PASSWORD.replace("#", "")),
                      lambda pw: (f"etcd:\n  user: root\n  password: {pw}\n  host: m0\n",
                                  (pw,))),
    "docker-auth": (_secret(_B64, 16, 60),
                    lambda pw: (json.dumps({"auths": {"quay.io": {"auth": pw,
                                                                 "email": "x@example.com"}}}),
                                (pw,))),
    "authorization-basic": (_secret(_B64, 12),
                            lambda pw: (f"> Authorization: Basic {pw}\n> Accept: */*", (pw,))),
    # by value only: no pattern knows these shapes, registration does
    "registered-proxy-freetext": (_secret(_PASSWORD),
                                  lambda pw: (f"dial tcp: lookup failed for {pw} (and "
                                              f"{quote(pw, safe='')})",
                                              _percent_needles(pw),
                                              (f"http://user:{quote(pw, safe='')}@proxy:3128",))),
    "registered-inventory-freetext": (_secret(_PASSWORD),
                                      lambda pw: (f"warning: {pw} rejected by member",
                                                  (pw,), (f"etcdctl --password "
                                                          f"{shlex.quote(pw)}",))),
}


def _make(name):
    strategy, make = SHAPES[name]

    def build(pw: str) -> Case:
        out = make(pw)
        return Case(name, out[0], tuple(out[1]), tuple(out[2]) if len(out) > 2 else ())

    return strategy.map(build)


CASES = st.sampled_from(sorted(SHAPES)).flatmap(_make)


def _register(case: Case) -> None:
    for value in case.register:
        if value.startswith("http"):
            secrets.register_proxy({"HTTPS_PROXY": value})
        else:
            secrets.register(*secrets.prefix_secrets(value))


def _outputs(case: Case, journal: Journal) -> dict[str, str]:
    """The case's text through every output of etcd-dr."""
    text = case.text
    out: dict[str, str] = {"redact_text": redact_text(text),
                           "redact(nested)": json.dumps(redact({"a": [{"detail": text}]}),
                                                        ensure_ascii=False)}
    # the journal: a real file, read back
    size = journal.path.stat().st_size if journal.path.exists() else 0
    journal.write("BAK-4", "failed", ["master-0"], command=text, output=text,
                  error=f"exit status 1: {text}")
    raw = journal.path.read_bytes()[size:].decode("utf-8")
    out["journal file"] = raw
    out["journal values"] = "\n".join(str(v) for v in json.loads(raw).values())
    # the headless printer (stdout and stderr)
    stdout, stderr = io.StringIO(), io.StringIO()
    operator = HeadlessOperator(yes=True, out=stdout, err=stderr, interactive=False)
    for kind in ("step", "failed", "note", "warning"):
        operator.show(RunEvent(kind, "BAK-4", text, ("master-0",)))
    out["headless stdout"], out["headless stderr"] = stdout.getvalue(), stderr.getvalue()
    # the report, from records that were never redacted (an old or hand-edited journal)
    records = [{"time": "2026-01-01T00:00:00+00:00", "runbook": "backup", "step": "-",
                "event": "planned", "hosts": [], "params": {"host": "master-0",
                                                            "override": text}},
               {"time": "2026-01-01T00:00:01+00:00", "runbook": "backup", "step": "BAK-4",
                "event": "failed", "hosts": ["master-0"], "command": text,
                "exit_status": 1, "error": text},
               {"time": "2026-01-01T00:00:02+00:00", "runbook": "backup", "step": "-",
                "event": "failed", "hosts": [], "error": text}]
    summary = summarize(records, "j.jsonl")
    out["report md"] = render_markdown(summary)
    out["report json"] = json.dumps(summary, ensure_ascii=False)
    # commands as the journal and the panes show them
    cmd = Command.of("sh", "-c", text, privileged=True)
    out["Command.redacted"] = cmd.redacted(True)
    out["Command.display"] = cmd.display(True)
    # the console's panes, line by line as the fleet delivers output
    pane = RedactedLog()
    out["pane"] = "\n".join(pane.redact_lines(text.split("\n")))
    return out


@pytest.fixture
def clean_registry():
    secrets.forget_all()
    yield
    secrets.forget_all()


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    secrets.forget_all()
    with Journal(tmp_path_factory.mktemp("secrets") / "j.jsonl", "backup") as j:
        yield j
    secrets.forget_all()


@settings(max_examples=int(os.environ.get("SECRETS_EXAMPLES", 1000)), deadline=None,
          derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=CASES)
def test_no_generated_secret_reaches_any_output(case, journal):
    surroundings = case.text
    for needle in case.needles:
        surroundings = surroundings.replace(needle, "")
    assume(all(n not in surroundings for n in case.needles))
    _register(case)
    for name, shown in _outputs(case, journal).items():
        for needle in case.needles:
            assert needle not in shown, f"{case.shape}: {needle!r} in {name}: {shown!r}"
    # idempotent: the runner compares the journal's command with the command redacted again
    once = redact_text(case.text)
    assert redact_text(once) == once


def test_there_are_at_least_20_shapes():
    assert len(SHAPES) >= 20


# --- the issue's named leaks, exactly ---------------------------------------------------------


@pytest.mark.parametrize("password", ["pa/ss9word", "p@ss@9word", "pass 9 word", "p%2Fss9%40w"])
def test_a_proxy_password_with_a_slash_an_at_a_space_or_escapes_is_redacted(password):
    url = f"http://proxy-user:{password}@proxy.example.com:3128"
    shown = redact_text(f"export HTTPS_PROXY={shlex.quote(url)}; cluster-backup.sh")
    assert shown.replace("'", "") == \
        "export HTTPS_PROXY=http://<redacted>@proxy.example.com:3128; cluster-backup.sh"
    journal_value = redact({"params": {"proxy": {"HTTPS_PROXY": url}}})
    assert journal_value == {"params": {"proxy": {
        "HTTPS_PROXY": "http://<redacted>@proxy.example.com:3128"}}}


def test_a_proxy_whose_user_alone_is_the_token_is_redacted():
    assert redact_text("HTTP_PROXY=http://abcDEF0123token@proxy:3128 NO_PROXY=.local") == \
        "HTTP_PROXY=http://<redacted>@proxy:3128 NO_PROXY=.local"


def test_registered_proxy_credentials_are_redacted_in_any_shape(clean_registry):
    secrets.register_proxy({"HTTPS_PROXY": "http://me:p%40ss%20w0rd@proxy:3128",
                            "HTTP_PROXY": "http://T0kenOnly@proxy:3128",
                            "NO_PROXY": ".cluster.local,10.0.0.0/16"})
    text = "407 for p@ss w0rd; retried with p%40ss%20w0rd and T0kenOnly on .cluster.local"
    assert redact_text(text) == "407 for <redacted>; retried with <redacted> and <redacted> " \
                                "on .cluster.local"


@pytest.mark.parametrize("prefix, secret", [
    ("etcdctl --password 'pa ss9' --user root", "pa ss9"),
    ("etcdctl --password=pa55word", "pa55word"),
    ("etcdctl --user=root:r00tpw --endpoints=https://{address}:2379", "r00tpw"),
    ("etcdctl --user 'root:a b c9'", "a b c9"),
    ("env ETCDCTL_USER=root:envpw99 etcdctl", "envpw99"),
    ("env ETCDCTL_PASSWORD=envpw98 etcdctl", "envpw98"),
    ("env HTTPS_PROXY=http://u:pr0xy@p:3128 etcdctl", "pr0xy"),
])
def test_secrets_in_the_inventorys_etcdctl_prefix_are_found(prefix, secret):
    assert secret in secrets.prefix_secrets(prefix)


def test_the_redactor_knows_the_issues_missed_shapes():
    jwt = _jwt("system:serviceaccount:openshift-etcd:etcd-backup-9")
    cases = {
        f"Authorization failed for {jwt}": f"Authorization failed for {REDACTED}",
        f"error: {jwt} expired": f"error: {REDACTED} expired",
        "oc login --token sha256~abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG --server=x":
            "oc login --token <redacted> --server=x",
        "oc login --token=9f8e7d6c5b4a --server=x": "oc login --token=<redacted> --server=x",
        "    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVF\n":
            "    client-key-data: <redacted>\n",
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/Pu\n":
            "-----BEGIN EC PRIVATE KEY-----<redacted>",
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY":
            "AWS_SECRET_ACCESS_KEY=<redacted>",
        "export FOO_TOKEN='a b c'; next": "export FOO_TOKEN='<redacted>'; next",
        '{"password": "hunter 2", "user": "root"}': '{"password": "<redacted>", "user": "root"}',
        "password: hunter 2 and more\nhost: m0": "password: <redacted>\nhost: m0",
        "curl -H 'Authorization: Bearer abcdefgh12345' https://x":
            "curl -H 'Authorization: <redacted>",
    }
    for text, shown in cases.items():
        assert redact_text(text) == shown, text


def test_a_private_key_split_over_lines_is_redacted_line_by_line():
    stream = secrets.StreamRedactor()
    lines = ["key follows", "-----BEGIN OPENSSH PRIVATE KEY-----",
             "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB", "AAAAMwAAAAtzc2gt",
             "-----END OPENSSH PRIVATE KEY-----", "ssh-ed25519 AAAAC3Nza public"]
    assert stream.lines(lines) == ["key follows", "-----BEGIN OPENSSH PRIVATE KEY-----<redacted>",
                                   REDACTED, REDACTED,
                                   "<redacted>-----END OPENSSH PRIVATE KEY-----",
                                   "ssh-ed25519 AAAAC3Nza public"]


def test_short_registered_values_are_replaced_only_as_whole_tokens(clean_registry):
    secrets.register("ab9", "x")  # a single character is never looked for by value
    assert redact_text("ab9 tab9 ab9c :ab9@ x box") == "<redacted> tab9 ab9c :<redacted>@ x box"


# --- what must stay: the evidence operators need ----------------------------------------------


@pytest.mark.parametrize("text", [
    "snapshot_2026-01-01_120000.db sha256 3b5d5c3712955042212316173ccf37be800d3c7e2b1f2f1f"
    "1e1e1e1e1e1e1e1e",
    '{"hash": 3279137498, "revision": 1048576, "totalKey": 5432, "totalSize": 126877728}',
    "member 8e9e05c52164694d name=master-0 peerURLs=https://10.0.0.5:2380 "
    "clientURLs=https://10.0.0.5:2379 isLearner=false",
    "etcdctl --endpoints=https://10.0.0.5:2379 --cacert=/etc/kubernetes/ca.crt "
    "--cert=/etc/kubernetes/etcd-peer.crt --key=/etc/kubernetes/etcd-peer.key endpoint health",
    "ETCDCTL_KEY=/etc/kubernetes/static-pod-certs/secrets/etcd-all-certs/etcd-peer-m0.key",
    "ssh -J core@bastion.example.com:22 core@10.0.0.5",
    "[RST-08] done: /home/core/assets/backup on master-0 (static_kuberesources_x.tar.gz)",
    "Get https://api.example.com:6443/apis/config.openshift.io/v1/proxies/cluster: EOF",
    "the API rejected our credentials (401): the kubeconfig's token or certificate",
    "etcdctl --password-file /etc/etcd/pw --token-file /var/run/token get /x",
    "cannot get /api/v1/namespaces/openshift-config/secrets: forbidden",
])
def test_evidence_is_not_redacted(text):
    assert redact_text(text) == text


# --- the whole path: a drill backup and defrag, headless -------------------------------------

PROXY_PASSWORD = "pr0xy/p@ss w0rd"
PROXY_TOKEN = "T0kenOnlyProxyUser"
ETCD_PASSWORD = "etcd pa55/word"


@pytest.fixture
def leaky_drill(monkeypatch, clean_registry):
    """Drill clusters with a proxy whose credentials have '/', '@' and a space (HTTPS) and a
    user-only token (HTTP), and an inventory prefix with `--user=root:PASSWORD`."""
    import dataclasses

    from tui.drill.lab import DrillLab

    start = DrillLab.start

    async def leaky_start(self, *args, **kw):
        inventory = await start(self, *args, **kw)
        self.cluster.api.proxy = {
            "httpsProxy": f"http://proxy-user:{PROXY_PASSWORD}@proxy.example.com:3128",
            "httpProxy": f"http://{PROXY_TOKEN}@proxy.example.com:3128",
            "noProxy": ".cluster.local"}
        return dataclasses.replace(inventory, etcdctl=inventory.etcdctl + " --user="
                                   + shlex.quote(f"root:{ETCD_PASSWORD}"))

    monkeypatch.setattr(DrillLab, "start", leaky_start)


async def test_proxy_and_prefix_credentials_reach_no_journal_and_no_stdout(leaky_drill,
                                                                          tmp_path):
    from tui.backend import BackendSpec
    from tui.runbooks.headless import run_headless

    shown = []
    for runbook, params in (("backup", {"host": None, "backup_dir": "/home/core/assets/backup"}),
                            ("defrag", {"wait": 1.0, "compact": False})):
        journal, out = tmp_path / f"{runbook}.jsonl", io.StringIO()
        code = await run_headless(runbook, BackendSpec(scenario="healthy", speed=300), params,
                                  yes=True, journal_path=str(journal), dry_run=False, out=out)
        assert code == 0, out.getvalue()
        plan = io.StringIO()
        await run_headless(runbook, BackendSpec(scenario="healthy", speed=300), params,
                           yes=True, journal_path=None, dry_run=True, out=plan)
        shown += [journal.read_text(), out.getvalue(), plan.getvalue()]
    everything = "\n".join(shown)
    # the commands were really sent with the credentials, and are shown without them
    assert "HTTPS_PROXY='http://<redacted>@proxy.example.com:3128'" in everything
    assert "HTTP_PROXY='http://<redacted>@proxy.example.com:3128'" in everything
    assert "--user=root:<redacted>" in everything and " defrag" in everything
    for secret in (PROXY_PASSWORD, "pr0xy/p", "ss w0rd", PROXY_TOKEN, ETCD_PASSWORD, "pa55/word"):
        assert secret not in everything


async def test_a_resumed_run_reads_the_proxy_again_instead_of_exporting_redacted():
    from types import SimpleNamespace

    from tui.runbooks.checks import reread_redacted_proxy

    ctx = SimpleNamespace(params={"proxy": {"HTTPS_PROXY": "http://<redacted>@proxy:3128"}},
                          api=SimpleNamespace(configured=False))
    await reread_redacted_proxy(ctx)
    assert ctx.params["proxy"] == {"unknown": "no kubeconfig"}  # no proxy, not <redacted>


async def test_a_host_pane_shows_commands_and_output_redacted():
    from textual.app import App

    from tui.widgets.host_log import HostLog

    class Panes(App):
        def compose(self):
            yield HostLog("master-0")

    app = Panes()
    async with app.run_test():
        pane = app.query_one(HostLog)
        pane.add("$ sudo etcdctl --password s3cr3tpass get /x")
        pane.add_lines(["-----BEGIN RSA PRIVATE KEY-----", "MIIEpAIBAAKCAQEA0", "tail"])
        pane.flush()
        assert list(pane.lines) == ["$ sudo etcdctl --password <redacted> get /x",
                                    "-----BEGIN RSA PRIVATE KEY-----<redacted>", REDACTED,
                                    REDACTED]
