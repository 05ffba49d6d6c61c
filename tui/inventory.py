"""The inventory: which cluster, which hosts, how to reach them (format: shared CONTRACTS.md).

Loading never raises anything but ConfigError, whose message names the file, the key path
and the line, so the operator can fix the file without reading Python.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from tui.errors import ConfigError
from tui.located_yaml import LineLoader, Located, LocatedList, Reader, check_duplicate_keys
from tui.secrets import register_proxy

# arbiter: the third etcd member of a two-node arbiter cluster (controlPlaneTopology
# HighlyAvailableArbiter), on a small node labelled node-role.kubernetes.io/arbiter
ROLES = ("control-plane", "arbiter", "worker")
# Infrastructure status.controlPlaneTopology values (openshift/api config/v1
# types_infrastructure.go TopologyMode); what etcd-dr init writes as cluster.topology
TOPOLOGIES = ("HighlyAvailable", "HighlyAvailableArbiter", "SingleReplica", "DualReplica",
              "External")
PROXY_KEYS = ("http_proxy", "https_proxy", "no_proxy", "trusted_ca")

# OpenShift runs etcdctl in the `etcdctl` container of each etcd pod, whose environment
# carries the member's certificates and ETCDCTL_ENDPOINTS for the whole cluster. We unset
# the latter (as DEF-MAN-2 does) so --endpoints picks this host's own member only.
DEFAULT_ETCDCTL = (
    "crictl exec \"$(crictl ps --name '^etcdctl$' --state running -q | head -n 1)\" "
    "env -u ETCDCTL_ENDPOINTS etcdctl --endpoints=https://{address}:2379"
)


@dataclass(frozen=True)
class SshSettings:
    user: str = "core"
    port: int = 22
    identity_file: str | None = None
    known_hosts: str = "~/.ssh/known_hosts"
    jump: str | None = None
    sudo: bool = True
    connect_timeout: float = 10.0
    # how many SSH handshakes may be under way at once (sshd's MaxStartups defaults to 10)
    max_handshakes: int = 8
    keepalive_interval: float = 15.0
    config: str | None = None  # ssh_config file; None = asyncssh's default (~/.ssh/config)


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    role: str = "control-plane"
    port: int = 22
    user: str = "core"
    identity_file: str | None = None


@dataclass(frozen=True)
class ClusterProxy:
    """The cluster-wide proxy as `etcd-dr init` saw it (Proxy cluster): informational."""
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None
    trusted_ca: str | None = None  # the ConfigMap in openshift-config holding its CA bundle


@dataclass(frozen=True)
class Inventory:
    cluster_name: str
    hosts: tuple[Host, ...]
    ssh: SshSettings = field(default_factory=SshSettings)
    cluster_version: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    etcdctl: str = DEFAULT_ETCDCTL
    source: str = "<inventory>"
    drill: bool = False  # set only by the drill lab's own inventories (drill: true)
    # written by `etcd-dr init`, optional and informational (the API wins when reachable)
    cluster_platform: str | None = None
    cluster_topology: str | None = None
    cluster_proxy: ClusterProxy | None = None

    @property
    def control_plane(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "control-plane")

    @property
    def arbiters(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "arbiter")

    @property
    def workers(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "worker")

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        names = ", ".join(h.name for h in self.hosts)
        raise ConfigError(f"no host named {name!r} in the inventory", where=self.source,
                          hint=f"Known hosts: {names}")

    def require_host(self, name: str, flag: str = "--host") -> Host:
        """The host a command-line flag names; ConfigError (exit 2) naming the flag, the
        name and the known hosts when the inventory has no such host."""
        for h in self.hosts:
            if h.name == name:
                return h
        names = "; ".join(f"{', '.join(h.name for h in group)} ({role})"
                          for role, group in (("control-plane", self.control_plane),
                                              ("arbiter", self.arbiters),
                                              ("worker", self.workers)) if group)
        raise ConfigError(f"{flag} {name!r}: there is no host of that name in "
                          + ("the drill cluster" if self.drill else "the inventory"),
                          where=None if self.drill else self.source,
                          hint=f"Known hosts: {names}")

    def with_hosts(self, hosts: tuple[Host, ...]) -> "Inventory":
        return replace(self, hosts=hosts)


# --- loading -----------------------------------------------------------------------------

def expand_path(value: str) -> str:
    """`~` and $VARS expand in every path the inventory names."""
    return os.path.expanduser(os.path.expandvars(value))


_PORT_RANGE = range(1, 65536)
# \Z, not $: `$` also matches before a final newline, and "master-0\n" is no name
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")

# What may stand where a host is named. Values reach ssh and, through command templates such
# as etcdctl's {address}, a shell on the hosts: only an IP literal or an RFC 1123 host name
# is accepted, so nothing in them can mean anything to a shell.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_SCOPE = re.compile(r"^[A-Za-z0-9_.-]+\Z")  # an IPv6 zone: fe80::1%eth0
# POSIX's portable user names (useradd's default rule), at most 32 characters
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\Z")
# the releases tui/versions.py reads: 4.MINOR, 4.MINOR.Z, and pre-releases such as 4.16.0-rc.2
_VERSION = re.compile(r"^4\.\d{1,3}(\.\d{1,4}(-[0-9A-Za-z][0-9A-Za-z.-]*)?)?\Z")


def address_problem(text: str) -> str | None:
    """Why `text` is not an IP literal or an RFC 1123 host name (None when it is one)."""
    if text.startswith("[") and text.endswith("]"):
        return "an address is written without brackets (e.g. fd00::5)"
    if "%" in text:
        ip, _, scope = text.partition("%")
        if not _SCOPE.match(scope):
            return "an IPv6 zone is letters, digits, '.', '_' and '-' (e.g. fe80::1%eth0)"
        try:
            ipaddress.IPv6Address(ip)
        except ValueError:
            return "only an IPv6 address has a %zone"
        return None
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    if text.count(":") == 1 and text.rpartition(":")[2].isdigit():
        return "the port goes in its own key (port:), not in the address"
    if ":" in text:
        return "not an IPv6 address"
    name = text[:-1] if text.endswith(".") else text  # a fully qualified name may end in '.'
    if not name or len(name) > 253:
        return "a host name is 1 to 253 characters"
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return ("neither an IP address nor a host name (a host name is labels of letters, "
                "digits and '-', not starting or ending with '-', at most 63 characters each, "
                "joined by '.')")
    if labels[-1].isdigit():
        return "not an IP address (each of the four numbers 0-255, no leading zeros)"
    return None


def address_key(text: str) -> str:
    """One spelling per address, to find the same machine listed twice: IPv6 compressed
    (and IPv4-mapped IPv6 as IPv4), host names in lower case without a final '.'."""
    ip, _, scope = text.partition("%")
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return text.rstrip(".").lower()
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.compressed + (f"%{scope}" if scope else "")


def jump_problem(text: str) -> str | None:
    """Why `text` is not [user@]host[:port] (an IPv6 host as [address]:port)."""
    user, at, rest = text.rpartition("@")
    if at and not _USER.match(user):
        return f"{user!r} is not a user name"
    port = ""
    if rest.startswith("["):
        m = re.fullmatch(r"\[([^\]]*)\]:([^:]*)", rest)
        if not m:
            return "write an IPv6 jump host as [ADDRESS]:PORT, e.g. core@[fd00::1]:22"
        host, port = m.groups()
        if ":" not in host:
            return "only an IPv6 address goes in brackets"
    elif rest.count(":") > 1:
        return "write an IPv6 jump host as [ADDRESS]:PORT, e.g. core@[fd00::1]:22"
    else:
        host, _, port = rest.partition(":")
        if _ and not port:
            return "the port after ':' is missing"
    problem = address_problem(host) if host else "the host is missing"
    if problem:
        return f"host {host!r}: {problem}"
    if port and not (port.isdigit() and port.isascii() and int(port) in _PORT_RANGE):
        return f"{port!r} is not a TCP port (1-65535)"
    return None


def _readable_file(path: str) -> str | None:
    """Why `path` is not a readable regular file (None when it is one)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as e:
        return f"{path} cannot be read ({e.strerror or e.__class__.__name__})"
    if stat.S_ISDIR(st.st_mode):
        return f"{path} is a directory, not a file"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if not os.access(path, os.R_OK):
        return f"{path} cannot be read by this user (permission denied)"
    return None


def load_inventory(path: str | os.PathLike) -> Inventory:
    source = str(path)
    try:
        text = Path(expand_path(source)).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("the inventory file does not exist", where=source,
                          hint="Check the path given to --inventory") from None
    except IsADirectoryError:
        raise ConfigError("the inventory is a directory, not a file", where=source,
                          hint="Give --inventory the YAML file itself") from None
    except OSError as e:
        raise ConfigError(f"cannot read the inventory ({e.strerror or e})", where=source,
                          hint="Check the path given to --inventory") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"the inventory is not UTF-8 text (byte {e.start})", where=source,
                          hint="Give --inventory the YAML file itself") from None
    return parse_inventory(text, source)


def parse_inventory(text: str, source: str = "<inventory>") -> Inventory:
    r = Reader(source)
    try:
        doc = yaml.load(text, Loader=LineLoader)  # noqa: S506 - SafeLoader subclass
    except ConfigError:
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"not valid YAML: {problem}", where=f"{source}{line}",
                          hint="Fix the YAML syntax (indentation, colons, quotes)") from None
    except (ValueError, TypeError, RecursionError) as e:
        raise ConfigError(f"not valid YAML: {e}", where=source) from None
    if doc is None:
        r.fail("(top level)", None, "the file is empty")
    top = r.mapping(doc, "(top level)", 1)
    check_duplicate_keys(r, top)
    r.check_keys(top, "", {"cluster", "kubeconfig", "context", "ssh", "etcdctl", "hosts", "drill"})

    cluster = r.mapping(r.get(top, "cluster", "", dict, required=True), "cluster",
                        top.lines.get("cluster"))
    r.check_keys(cluster, "cluster", {"name", "version", "platform", "topology", "proxy"})
    cluster_name = r.get(cluster, "name", "cluster", str, required=True)
    if not _NAME.match(cluster_name):
        # it names the journal files: letters, digits, '.', '_' and '-' only
        r.fail("cluster.name", cluster.lines.get("name"),
               f"{cluster_name!r} is not a cluster name (letters, digits, '.', '_' and '-')")
    version = _read_version(r, cluster, text)
    platform = r.get(cluster, "platform", "cluster", str)
    if platform is not None and not _NAME.match(platform):
        r.fail("cluster.platform", cluster.lines.get("platform"),
               f"{platform!r} is not a platform name (as Infrastructure status.platform "
               f"writes it: AWS, BareMetal, None, ...)")
    topology = r.get(cluster, "topology", "cluster", str)
    if topology is not None and topology not in TOPOLOGIES:
        r.fail("cluster.topology", cluster.lines.get("topology"),
               f"{topology!r} is not a control-plane topology",
               hint="Use one of " + ", ".join(TOPOLOGIES)
                    + " (Infrastructure status.controlPlaneTopology)")
    proxy = _read_proxy(r, cluster)

    kubeconfig = r.get(top, "kubeconfig", "", str)
    context = r.get(top, "context", "", str)
    etcdctl = r.get(top, "etcdctl", "", str, default=DEFAULT_ETCDCTL)
    from tui.fleet.prefix import SHAPE, PrefixError, parse_prefix  # one command, parsed now
    try:
        parse_prefix(etcdctl)
    except PrefixError as e:
        r.fail("etcdctl", top.lines.get("etcdctl"), str(e), hint=f"Write it as {SHAPE}")

    ssh_map = r.get(top, "ssh", "", dict, default=None)
    ssh = SshSettings()
    if ssh_map is not None:
        r.check_keys(ssh_map, "ssh", {"user", "port", "identity_file", "known_hosts", "jump",
                                      "sudo", "connect_timeout", "max_handshakes",
                                      "keepalive_interval", "config"})
        port = r.get(ssh_map, "port", "ssh", int, default=22)
        if port not in _PORT_RANGE:
            r.fail("ssh.port", ssh_map.lines.get("port"), f"{port} is not a TCP port (1-65535)")
        max_hs = r.get(ssh_map, "max_handshakes", "ssh", int, default=8)
        if max_hs < 1:
            r.fail("ssh.max_handshakes", ssh_map.lines.get("max_handshakes"), "must be at least 1")
        identity = _read_file(r, ssh_map, "identity_file", "ssh")
        config = _read_file(r, ssh_map, "config", "ssh")
        known_hosts = expand_path(r.get(ssh_map, "known_hosts", "ssh", str,
                                        default="~/.ssh/known_hosts"))
        # known_hosts may not exist yet (a fresh operator account; trust on first use writes
        # it), but a directory or a device there is a mistake
        if os.path.exists(known_hosts) and not os.path.isfile(known_hosts):
            r.fail("ssh.known_hosts", ssh_map.lines.get("known_hosts"),
                   f"{known_hosts} is not a regular file",
                   hint="Give the path of a known_hosts file (it may not exist yet)")
        jump = r.get(ssh_map, "jump", "ssh", str)
        if jump is not None and (problem := jump_problem(jump)):
            r.fail("ssh.jump", ssh_map.lines.get("jump"), f"{jump!r}: {problem}",
                   hint="Write it as [user@]host[:port], e.g. core@bastion.example.com:22")
        ssh = SshSettings(
            user=_read_user(r, ssh_map, "ssh", "core"),
            port=port,
            identity_file=identity,
            known_hosts=known_hosts,
            jump=jump,
            sudo=r.get(ssh_map, "sudo", "ssh", bool, default=True),
            connect_timeout=r.get(ssh_map, "connect_timeout", "ssh", float, default=10.0),
            max_handshakes=max_hs,
            keepalive_interval=r.get(ssh_map, "keepalive_interval", "ssh", float, default=15.0),
            config=config,
        )
    else:
        ssh = SshSettings(known_hosts=expand_path(ssh.known_hosts))

    hosts_value = r.get(top, "hosts", "", list, required=True)
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    machines: dict[tuple[str, int], tuple[str, int]] = {}  # (address, port) -> (name, line)
    for i, item in enumerate(hosts_value):
        path = f"hosts[{i}]"
        line = hosts_value.lines[i] if isinstance(hosts_value, LocatedList) else None
        h = r.mapping(item, path, line)
        r.check_keys(h, path, {"name", "address", "role", "port", "user", "identity_file"})
        name = r.get(h, "name", path, str, required=True)
        if not _NAME.match(name):
            r.fail(f"{path}.name", h.lines.get("name"),
                   f"{name!r} is not a host name (letters, digits, '.', '_' and '-')")
        if name in seen:
            r.fail(f"{path}.name", h.lines.get("name"),
                   f"{name!r} is already used by the host on line {seen[name]}")
        seen[name] = h.lines.get("name", line or 0)
        address = r.get(h, "address", path, str, required=True)
        if problem := address_problem(address):
            r.fail(f"{path}.address", h.lines.get("address"),
                   f"{address!r} is not an address: {problem}",
                   hint="Write an IP address (10.0.0.5, fd00::5) or a host name "
                        "(master-0.example.com)")
        role = r.get(h, "role", path, str, default="control-plane")
        if role not in ROLES:
            r.fail(f"{path}.role", h.lines.get("role"), f"{role!r} is not a role",
                   hint="Use control-plane, arbiter or worker")
        port = r.get(h, "port", path, int, default=ssh.port)
        if port not in _PORT_RANGE:
            r.fail(f"{path}.port", h.lines.get("port"), f"{port} is not a TCP port (1-65535)")
        # one machine under two names would let a runbook treat the recovery host as one of
        # the others (RST-04 moving etcd's data on the recovery host itself)
        machine = (address_key(address), port)
        if machine in machines:
            other, other_line = machines[machine]
            r.fail(f"{path}.address", h.lines.get("address"),
                   f"{address!r} port {port} is also host {other!r} (line {other_line}): one "
                   f"machine under two names", hint="List each machine once")
        machines[machine] = (name, h.lines.get("address", line or 0))
        identity = _read_file(r, h, "identity_file", path)
        hosts.append(Host(
            name=name, address=address, role=role, port=port,
            user=_read_user(r, h, path, ssh.user),
            identity_file=identity or ssh.identity_file,
        ))
    if not any(h.role == "control-plane" for h in hosts):
        r.fail("hosts", top.lines.get("hosts"), "needs at least one control-plane host")

    return Inventory(
        cluster_name=cluster_name,
        cluster_version=version,
        hosts=tuple(hosts),
        ssh=ssh,
        kubeconfig=expand_path(kubeconfig) if kubeconfig else None,
        context=context,
        etcdctl=etcdctl,
        source=source,
        drill=r.get(top, "drill", "", bool, default=False),
        cluster_platform=platform,
        cluster_topology=topology,
        cluster_proxy=proxy,
    )


def _read_proxy(r: Reader, cluster: Located) -> ClusterProxy | None:
    """cluster.proxy: the cluster-wide proxy's settings, each text. A proxy URL's
    credentials, when an operator wrote some, become secrets no output shows."""
    proxy_map = r.get(cluster, "proxy", "cluster", dict)
    if proxy_map is None:
        return None
    r.check_keys(proxy_map, "cluster.proxy", set(PROXY_KEYS))
    values = {key: r.get(proxy_map, key, "cluster.proxy", str) for key in PROXY_KEYS}
    register_proxy({k: v for k, v in values.items() if v and k != "trusted_ca"})
    return ClusterProxy(**values)


def release_problem(text: str) -> str | None:
    """Why `text` is not an OpenShift 4 release as cluster.version takes it (None if it is)."""
    return None if _VERSION.match(text) else f"{text!r} is not an OpenShift 4 release"


def name_problem(text: str) -> str | None:
    """Why `text` cannot be a cluster or host name of the inventory (None if it can)."""
    return None if _NAME.match(text) else \
        f"{text!r} is not a name (letters, digits, '.', '_' and '-')"


def _read_version(r: Reader, cluster: Located, text: str) -> str | None:
    """cluster.version: text like "4.20" or "4.16.3". YAML reads an unquoted 4.20 as the
    number 4.2, which would pick another release's procedure: a number is an error."""
    value = cluster.get("version")
    line = cluster.lines.get("version")
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        written = _written_value(text, line, "version") or repr(value)
        r.fail("cluster.version", line,
               f"{written} is a number to YAML ({value!r}), not a release",
               hint=f'Quote it: version: "{written}"' if _VERSION.match(written) else
               'Write it quoted, like version: "4.20" or version: "4.16.3"')
    version = r.get(cluster, "version", "cluster", str)
    if not _VERSION.match(version):
        r.fail("cluster.version", line, f"{version!r} is not an OpenShift 4 release",
               hint='Write it like "4.20" or "4.16.3" (quoted)')
    return version


def _written_value(text: str, line: int | None, key: str) -> str | None:
    """The value as the file spells it (4.20, not YAML's 4.2), for the error message."""
    if not line:
        return None
    lines = text.splitlines()
    if line > len(lines):
        return None
    m = re.search(rf"\b{re.escape(key)}\s*:\s*([0-9][0-9._eE+-]*)", lines[line - 1])
    return m.group(1) if m else None


def _read_file(r: Reader, m: Located, key: str, path: str) -> str | None:
    """A file the inventory names (after ~ and $VAR expansion) that must exist and be
    readable now: a missing key would otherwise surface as "auth-failed" on every host."""
    value = r.get(m, key, path, str)
    if value is None:
        return None
    expanded = expand_path(value)
    if problem := _readable_file(expanded):
        shown = f"{value!r} ({problem})" if expanded != value else problem
        r.fail(f"{path}.{key}", m.lines.get(key), shown,
               hint=f"Fix the path, or leave {key} out"
                    + (" to use the SSH agent and ~/.ssh/config" if key == "identity_file"
                       else ""))
    return expanded


def user_problem(text: str) -> str | None:
    """Why `text` is not a user name the inventory takes (None when it is one)."""
    if _USER.match(text):
        return None
    return (f"{text!r} is not a user name (a letter or '_' first, then letters, digits, "
            f"'.', '_' or '-'; at most 32)")


def _read_user(r: Reader, m: Located, path: str, default: str) -> str:
    user = r.get(m, "user", path, str, default=default)
    if problem := user_problem(user):
        r.fail(f"{path}.user", m.lines.get("user"), problem)
    return user
