"""Inputs validated at load (issue #12, part 2): a table of hostile or careless inventories,
each refused with the file, the key path and the line; the edge cases that are fine still
load; and the command line refuses the same kind of input with exit 2, naming the flag."""

from __future__ import annotations

import asyncio
import json
import re
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from tui.cli import main
from tui.durations import parse_duration
from tui.errors import ConfigError
from tui.inventory import address_key, address_problem, parse_inventory
from tui.runbooks.model import Runbook
from tui.runbooks.runner import Refused, Runner

# Each row: (what, inventory text, key path). The line the error must name is the one
# marked `#<`. KEY is replaced by a readable identity file, DIR by a directory.
HEAD = "cluster:\n  name: prod\n"
M1 = "  - name: master-1\n    address: 10.0.0.6\n"


def hosts(address: str) -> str:
    return f"hosts:\n  - name: master-0\n    address: {address}  #<\n" + M1


def ssh(body: str) -> str:
    return HEAD + "ssh:\n" + body + "hosts:\n  - {name: master-0, address: 10.0.0.5}\n"


def version(value: str) -> str:
    return ("cluster:\n  name: prod\n" f"  version: {value}  #<\n"
            "hosts:\n  - {name: master-0, address: 10.0.0.5}\n")


BAD = [
    # addresses: an IP literal or an RFC 1123 host name, nothing a shell could read
    ("command substitution", HEAD + hosts("'127.0.0.7$(touch /tmp/x)'"), "hosts[0].address"),
    ("backticks", HEAD + hosts("'`id`.example.com'"), "hosts[0].address"),
    ("semicolon", HEAD + hosts("'10.0.0.5;reboot'"), "hosts[0].address"),
    ("a space", HEAD + hosts("'10.0.0.5 10.0.0.6'"), "hosts[0].address"),
    ("an ssh option", HEAD + hosts("'-oProxyCommand=sh'"), "hosts[0].address"),
    ("a quote", HEAD + hosts("'master\"0'"), "hosts[0].address"),
    ("braces", HEAD + hosts("'{address}'"), "hosts[0].address"),
    ("a newline", HEAD + hosts('"master-0\\nreboot"'), "hosts[0].address"),
    ("octet over 255", HEAD + hosts("10.0.0.256"), "hosts[0].address"),
    ("leading zero", HEAD + hosts("010.0.0.5"), "hosts[0].address"),
    ("three octets", HEAD + hosts("10.0.5"), "hosts[0].address"),
    ("port in the address", HEAD + hosts("'10.0.0.5:22'"), "hosts[0].address"),
    ("brackets", HEAD + hosts("'[fd00::5]'"), "hosts[0].address"),
    ("bad IPv6", HEAD + hosts("'fd00::5::1'"), "hosts[0].address"),
    ("zone with a shell", HEAD + hosts("'fe80::1%$(id)'"), "hosts[0].address"),
    ("zone on IPv4", HEAD + hosts("'10.0.0.5%eth0'"), "hosts[0].address"),
    ("underscore", HEAD + hosts("master_0.example.com"), "hosts[0].address"),
    ("label starts with -", HEAD + hosts("master.-x.example.com"), "hosts[0].address"),
    ("label ends with -", HEAD + hosts("master-.example.com"), "hosts[0].address"),
    ("empty label", HEAD + hosts("master..example.com"), "hosts[0].address"),
    ("label of 64", HEAD + hosts("a" * 64 + ".example.com"), "hosts[0].address"),
    ("name of 254", HEAD + hosts(".".join(["a" * 63] * 4) + "b"), "hosts[0].address"),
    ("not ASCII", HEAD + hosts("mäster-0.example.com"), "hosts[0].address"),
    ("a second host's address", HEAD + "hosts:\n  - {name: master-0, address: 10.0.0.5}\n"
     "  - {name: master-1, address: 'x|y'}  #<\n", "hosts[1].address"),
    # the jump host: [user@]host[:port] with the same rule
    ("jump: shell", ssh("  jump: 'core@bastion;id'  #<\n"), "ssh.jump"),
    ("jump: bare IPv6", ssh("  jump: 'core@fd00::1'  #<\n"), "ssh.jump"),
    ("jump: IPv6 no port", ssh("  jump: 'core@[fd00::1]'  #<\n"), "ssh.jump"),
    ("jump: IPv4 in brackets", ssh("  jump: 'core@[10.0.0.1]:22'  #<\n"), "ssh.jump"),
    ("jump: port 0", ssh("  jump: 'core@bastion:0'  #<\n"), "ssh.jump"),
    ("jump: port a word", ssh("  jump: 'core@bastion:ssh'  #<\n"), "ssh.jump"),
    ("jump: empty port", ssh("  jump: 'core@bastion:'  #<\n"), "ssh.jump"),
    ("jump: bad user", ssh("  jump: 'co re@bastion'  #<\n"), "ssh.jump"),
    ("jump: empty user", ssh("  jump: '@bastion'  #<\n"), "ssh.jump"),
    ("jump: option", ssh("  jump: '-oProxyCommand=sh'  #<\n"), "ssh.jump"),
    # user names
    ("ssh.user: shell", ssh("  user: 'core;id'  #<\n"), "ssh.user"),
    ("ssh.user: option", ssh("  user: '-oProxyCommand=sh'  #<\n"), "ssh.user"),
    ("ssh.user: too long", ssh(f"  user: {'u' * 33}  #<\n"), "ssh.user"),
    ("host user: space", HEAD + "hosts:\n  - name: master-0\n    address: 10.0.0.5\n"
     "    user: 'ad min'  #<\n", "hosts[0].user"),
    # the release: quoted text, 4.MINOR[.Z]
    ("unquoted 4.20", version("4.20"), "cluster.version"),
    ("unquoted 4.16", version("4.16"), "cluster.version"),
    ("a whole number", version("4"), "cluster.version"),
    ("a leading v", version("'v4.16'"), "cluster.version"),
    ("OpenShift 3", version("'3.11'"), "cluster.version"),
    ("OpenShift 5", version("'5.0'"), "cluster.version"),
    ("text after it", version("'4.16.3; rm -rf /'"), "cluster.version"),
    ("only a minor", version("'4.'"), "cluster.version"),
    # files the inventory names
    ("identity missing", ssh("  identity_file: /nonexistent/id_ed25519  #<\n"),
     "ssh.identity_file"),
    ("identity from an unset $VAR", ssh("  identity_file: $ETCD_DR_TEST_UNSET/key  #<\n"),
     "ssh.identity_file"),
    ("identity a directory", ssh("  identity_file: DIR  #<\n"), "ssh.identity_file"),
    ("host identity missing", HEAD + "hosts:\n  - name: master-0\n    address: 10.0.0.5\n"
     "    identity_file: ~/nonexistent-etcd-dr-key  #<\n", "hosts[0].identity_file"),
    ("ssh config missing", ssh("  config: /nonexistent/ssh_config  #<\n"), "ssh.config"),
    ("known_hosts a directory", ssh("  known_hosts: DIR  #<\n"), "ssh.known_hosts"),
    # durations: finite and more than zero
    ("NaN timeout", ssh("  connect_timeout: .nan  #<\n"), "ssh.connect_timeout"),
    ("infinite timeout", ssh("  connect_timeout: .inf  #<\n"), "ssh.connect_timeout"),
    ("zero timeout", ssh("  connect_timeout: 0  #<\n"), "ssh.connect_timeout"),
    ("negative keepalive", ssh("  keepalive_interval: -5  #<\n"), "ssh.keepalive_interval"),
    ("negative text", ssh("  connect_timeout: -1s  #<\n"), "ssh.connect_timeout"),
    ("0s keepalive", ssh("  keepalive_interval: 0s  #<\n"), "ssh.keepalive_interval"),
    ("400 digits", ssh(f"  connect_timeout: {'9' * 400}  #<\n"), "ssh.connect_timeout"),
    # a key written twice: YAML would keep the last without a word
    ("hosts twice", HEAD + "hosts:\n  - {name: master-0, address: 10.0.0.5}\n"
     "hosts:  #<\n  - {name: master-1, address: 10.0.0.6}\n", "hosts"),
    ("ssh.user twice", ssh("  user: core\n  user: root  #<\n"), "ssh.user"),
    ("address twice in one host", HEAD + "hosts:\n  - name: master-0\n    address: 10.0.0.5\n"
     "    address: 10.0.0.6  #<\n", "hosts[0].address"),
    ("twice in a flow mapping", HEAD + "hosts:\n"
     "  - {name: master-0, address: 10.0.0.5, name: master-1}  #<\n", "hosts[0].name"),
    # one machine under two names (RST-04 would treat the recovery host as another one)
    ("same IPv4", HEAD + "hosts:\n  - {name: master-0, address: 10.0.0.5}\n"
     "  - {name: master-1, address: 10.0.0.5}  #<\n", "hosts[1].address"),
    ("same name, other case", HEAD + "hosts:\n  - {name: m0, address: m0.example.com}\n"
     "  - {name: m1, address: M0.Example.COM.}  #<\n", "hosts[1].address"),
    ("same IPv6, other spelling", HEAD + "hosts:\n  - {name: m0, address: 'fd00::5'}\n"
     "  - {name: m1, address: 'fd00:0:0:0::5'}  #<\n", "hosts[1].address"),
    ("IPv4-mapped IPv6", HEAD + "hosts:\n  - {name: m0, address: 10.0.0.5}\n"
     "  - {name: m1, address: '::ffff:10.0.0.5'}  #<\n", "hosts[1].address"),
    ("same port by default", HEAD + "ssh:\n  port: 2222\nhosts:\n"
     "  - {name: m0, address: 10.0.0.5}\n  - {name: m1, address: 10.0.0.5, port: 2222}  #<\n",
     "hosts[1].address"),
    # the cluster's name names journal files
    ("cluster name with a path", "cluster:\n  name: ../../etc/x  #<\n"
     "hosts:\n  - {name: master-0, address: 10.0.0.5}\n", "cluster.name"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inventory-files")
    key = root / "id_ed25519"
    key.write_text("not really a key\n")
    (root / "a-directory").mkdir()
    return SimpleNamespace(key=str(key), dir=str(root / "a-directory"), root=root)


def materialise(text: str, files) -> str:
    return text.replace("KEY", files.key).replace("DIR", files.dir)


def marked_line(text: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if "#<" in line)


def test_the_table_is_big_enough():
    assert len(BAD) >= 30
    assert len({what for what, _, _ in BAD}) == len(BAD)


@pytest.mark.parametrize("what, text, key", BAD, ids=[row[0] for row in BAD])
def test_a_bad_inventory_names_file_key_and_line(what, text, key, files, monkeypatch):
    monkeypatch.delenv("ETCD_DR_TEST_UNSET", raising=False)
    text = materialise(text, files)
    with pytest.raises(ConfigError) as e:
        parse_inventory(text, "prod.yaml")
    message = e.value.message
    assert message.startswith(f"prod.yaml, line {marked_line(text)}: {key}: "), message
    assert "\n" not in message


def test_a_number_for_the_version_says_how_to_quote_it():
    with pytest.raises(ConfigError) as e:
        parse_inventory(version("4.20"), "prod.yaml")
    # YAML read 4.2; the operator wrote 4.20 and is told to write "4.20", not "4.2"
    assert 'Quote it: version: "4.20"' in e.value.message
    assert "4.2)" in e.value.message


def test_a_duplicate_key_names_both_lines():
    with pytest.raises(ConfigError) as e:
        parse_inventory(ssh("  user: core\n  sudo: true\n  user: root\n"), "prod.yaml")
    assert "ssh.user: is given twice, on lines 4 and 6" in e.value.message


def test_a_duplicate_address_names_both_hosts():
    text = HEAD + "hosts:\n  - {name: m0, address: 10.0.0.5}\n  - {name: m1, address: 10.0.0.5}\n"
    with pytest.raises(ConfigError) as e:
        parse_inventory(text, "prod.yaml")
    assert "'10.0.0.5' port 22 is also host 'm0' (line 4)" in e.value.message


def test_an_alias_bomb_is_not_walked_exponentially():
    # each level refers to the one below nine times: 9**9 paths, 10 objects
    levels = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]"
                                for i in range(1, 10)]
    text = "\n".join(levels) + "\ncluster: {name: x}\nhosts: [{name: m0, address: 10.0.0.5}]\n"
    with pytest.raises(ConfigError, match="a0: is not a known key"):
        parse_inventory(text, "bomb.yaml")


GOOD_ADDRESSES = ["10.0.0.5", "fd00::5", "fe80::1%eth0", "fe80::1%enp1s0.100", "localhost",
                  "master-0", "master-0.prod.example.com", "master-0.prod.example.com.",
                  "a" * 63 + ".example.com", "0-1.example.com", "xn--mster-0-s2a.example.com"]
GOOD_VERSIONS = ['"4.20"', '"4.16.3"', '"4.12.30"', '"4.13.0-rc.2"', "'4.21'"]


@pytest.mark.parametrize("address", GOOD_ADDRESSES)
def test_good_addresses_load(address):
    inv = parse_inventory(HEAD + f"hosts:\n  - {{name: m0, address: '{address}'}}\n")
    assert inv.hosts[0].address == address


@pytest.mark.parametrize("value", GOOD_VERSIONS)
def test_good_versions_load(value):
    assert parse_inventory(version(value)).cluster_version == value.strip("'\"")


def test_the_edges_that_are_fine_still_load(files):
    text = HEAD + f"""\
ssh:
  user: core
  identity_file: {files.key}
  known_hosts: {files.root}/known_hosts-not-written-yet
  jump: core@[fd00::1]:2222
  connect_timeout: 500ms
  keepalive_interval: 1h
hosts:
  - {{name: m0, address: 10.0.0.5}}
  - {{name: m1, address: 10.0.0.5, port: 2222}}
  - {{name: m2, address: 'fd00::5', user: _svc.admin-1, identity_file: {files.key}}}
"""
    inv = parse_inventory(text, "prod.yaml")
    assert [h.port for h in inv.hosts] == [22, 2222, 22]  # one address, two ports: two sshd
    assert inv.ssh.identity_file == files.key and inv.ssh.jump == "core@[fd00::1]:2222"
    assert inv.ssh.connect_timeout == 0.5 and inv.ssh.keepalive_interval == 3600.0
    for jump in ("bastion", "bastion.example.com:22", "root@10.0.0.1", "core@bastion:2022"):
        assert parse_inventory(ssh(f"  jump: '{jump}'\n")).ssh.jump == jump


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_an_accepted_address_has_nothing_a_shell_reads(text):
    if address_problem(text) is None:
        assert set(text) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789.-:%_"), text
        assert not text.startswith("-")
        address_key(text)  # and it has one spelling


@pytest.mark.parametrize("value", ["nan", "inf", "0", "0s", "-1s", "-5", 0, -1, 0.0,
                                   float("nan"), float("inf"), 10 ** 400, "9" * 400, True])
def test_durations_are_finite_and_more_than_zero(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_a_blank_override_reason_is_refused_by_the_runner_itself():
    def preflight(override):
        ctx = SimpleNamespace(backend=SimpleNamespace(read_only=False),
                              params={"override": override})
        asyncio.run(Runner(Runbook("backup", "Backup", ()), ctx).preflight())
        return ctx.params["override"]

    for blank in ("   ", "\t\n", " \u3000 "):
        with pytest.raises(Refused, match="an override needs a reason"):
            preflight(blank)
    assert preflight("  the migration finished an hour ago ") == \
        "the migration finished an hour ago"
    assert preflight("") == ""  # a screen's empty override field: no override at all


# --- the command line: exit 2, the flag or key named, no traceback --------------------------

def refused(args: list[str]) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    message = result.stderr
    assert result.exit_code == 2, (result.exit_code, result.output, message)
    assert "internal error" not in message and "Traceback" not in result.output + message
    assert isinstance(result.exception, SystemExit), result.exception
    return message


@pytest.mark.parametrize("args, needle", [
    (["run", "backup", "--drill", "--override", "   ", "--yes"], "--override needs a reason"),
    (["run", "backup", "--drill", "--override", "", "--yes"], "--override needs a reason"),
    (["run", "restore", "--drill", "--reason", "x", "--yes"], "--reason goes with --path"),
    (["run", "restore", "--drill", "--path", "4.18+", "--reason", "  ", "--yes"],
     "--path needs --reason"),
    (["run", "defrag", "--drill", "--host", "master-0", "--yes"], "--host goes with"),
    (["run", "backup", "--drill", "--host", " ", "--yes"], "--host needs the name"),
    (["run", "encryption-on", "--drill", "--host", "nope", "--yes"], "--host goes with"),
    (["run", "defrag", "--drill", "--wait", "nan", "--yes"], "--wait"),
    (["run", "defrag", "--drill", "--wait", "0", "--yes"], "more than zero"),
    (["run", "defrag", "--drill", "--wait", "-1s", "--yes"], "cannot be negative"),
    (["run", "defrag", "--drill", "--wait", "9" * 400, "--yes"], "too long"),
    (["run", "defrag", "--drill", "--speed", "nan", "--yes"], "--speed"),
    (["drill", "--speed", "inf"], "--speed"),
])
def test_bad_flags_exit_2_naming_the_flag(args, needle):
    assert needle in refused(args)


@pytest.mark.parametrize("command", [["status"], ["run", "restore", "--yes", "--dry-run"],
                                     ["run", "backup", "--host", "m0", "--yes"]])
def test_a_bad_inventory_exits_2_naming_file_key_and_line(command, tmp_path):
    inv = tmp_path / "prod.yaml"
    inv.write_text("cluster:\n  name: prod\n  version: 4.20\n"
                   "hosts:\n  - {name: m0, address: '127.0.0.7$(touch /tmp/x)'}\n")
    message = refused([*command, "--inventory", inv])
    assert f"{inv}, line 3: cluster.version:" in message and 'version: "4.20"' in message


def test_run_restore_with_an_unknown_host_names_the_known_ones():
    # the regression of issue #12: this ended in "internal error: KeyError: 'nope'"
    message = refused(["run", "restore", "--drill", "--scenario", "lost-two-hosts",
                       "--host", "nope", "--yes", "--dry-run"])
    assert "--host 'nope': there is no host of that name in the drill cluster" in message
    assert "Known hosts: master-0, master-1, master-2 (control-plane)." in message


def _written(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, needle", [
    (lambda d: d, "is a directory, not a file"),
    (lambda d: _written(d / "bin.yaml", b"cluster:\n  name: \xff\xfe\n"), "not UTF-8 text"),
    (lambda d: d / "missing.yaml", "does not exist"),
])
def test_an_inventory_path_that_is_no_yaml_file_is_a_plain_error(make, needle, tmp_path):
    from tui.inventory import load_inventory

    path = make(tmp_path)
    with pytest.raises(ConfigError) as e:
        load_inventory(path)
    assert needle in str(e.value) and "Error:" not in str(e.value)


@pytest.mark.parametrize("key, value", [("hosts[0].address", "master-0\n"),
                                        ("hosts[0].address", "0\n"),
                                        ("hosts[0].name", "m0\n"),
                                        ("cluster.name", "prod\n"),
                                        ("cluster.version", "4.12\n"),
                                        ("ssh.user", "core\n")])
def test_a_final_newline_is_no_part_of_a_name(key, value):
    """Regular expressions' `$` also matches before a final newline: "master-0\n" passed as a
    host name (found by the property above). Names end where the text ends."""
    values = {"hosts[0].address": "10.0.0.5", "hosts[0].name": "m0", "cluster.name": "prod",
              "cluster.version": "4.12", "ssh.user": "core", key: value}
    text = (f"cluster: {{name: {json.dumps(values['cluster.name'])}, "
            f"version: {json.dumps(values['cluster.version'])}}}\n"
            f"ssh: {{user: {json.dumps(values['ssh.user'])}}}\n"
            f"hosts:\n  - {{name: {json.dumps(values['hosts[0].name'])}, "
            f"address: {json.dumps(values['hosts[0].address'])}}}\n")
    with pytest.raises(ConfigError, match=re.escape(key)):
        parse_inventory(text, "prod.yaml")
