"""The inventory: which cluster, which hosts, how to reach them (format: shared CONTRACTS.md).

Loading never raises anything but ConfigError, whose message names the file, the key path
and the line, so the operator can fix the file without reading Python.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from tui.durations import parse_duration
from tui.errors import ConfigError

ROLES = ("control-plane", "worker")

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

    @property
    def control_plane(self) -> tuple[Host, ...]:
        return tuple(h for h in self.hosts if h.role == "control-plane")

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

    def with_hosts(self, hosts: tuple[Host, ...]) -> "Inventory":
        return replace(self, hosts=hosts)


# --- loading -----------------------------------------------------------------------------

class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping key and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = _Located()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise ConfigError("a mapping key is not a plain value",
                              where=f"line {key_node.start_mark.line + 1}") from None
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = value_node.start_mark.line + 1
    mapping.line = node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> list:
    seq = _LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    seq.lines = [child.start_mark.line + 1 for child in node.value]
    seq.line = node.start_mark.line + 1
    return seq


class _Located(dict):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.line = 0


class _LocatedList(list):
    lines: list[int]
    line = 0


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def expand_path(value: str) -> str:
    """`~` and $VARS expand in every path the inventory names."""
    return os.path.expanduser(os.path.expandvars(value))


class _Reader:
    """Reads typed values out of the parsed YAML, failing with file:line and key path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, path: str, line: int | None, problem: str, hint: str | None = None):
        where = f"{self.source}, line {line}" if line else self.source
        raise ConfigError(f"{path}: {problem}", where=where,
                          hint=hint or "See the inventory format in the README")

    def mapping(self, value: Any, path: str, line: int | None) -> _Located:
        if not isinstance(value, dict):
            self.fail(path, line, f"expected a mapping, got {_kind(value)}")
        return value  # type: ignore[return-value]

    def get(self, m: _Located, key: str, path: str, kind: type | tuple, *, required=False,
            default: Any = None) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in m or m[key] is None:
            if required:
                self.fail(full, getattr(m, "line", None), "is required but missing")
            return default
        value = m[key]
        line = m.lines.get(key) if isinstance(m, _Located) else None
        if kind is float:
            try:
                return parse_duration(value)
            except ValueError as e:
                self.fail(full, line, str(e))
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(full, line, f"expected {_article(want)}, got {_kind(value)} {value!r}")
        if kind is str and not value.strip():
            self.fail(full, line, "must not be empty")
        return value

    def check_keys(self, m: _Located, path: str, allowed: set[str]) -> None:
        for key in m:
            if key not in allowed:
                full = f"{path}.{key}" if path else str(key)
                self.fail(full, m.lines.get(key), "is not a known key",
                          hint="Known keys here: " + ", ".join(sorted(allowed)))


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__) \
        if not isinstance(value, (_Located, _LocatedList)) else \
        ("a mapping" if isinstance(value, dict) else "a list")


def _article(word: str) -> str:
    return {"str": "text", "int": "a whole number", "bool": "true or false",
            "dict": "a mapping", "list": "a list"}.get(word, word)


_PORT_RANGE = range(1, 65536)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def load_inventory(path: str | os.PathLike) -> Inventory:
    source = str(path)
    try:
        text = Path(expand_path(source)).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("the inventory file does not exist", where=source,
                          hint="Check the path given to --inventory") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the inventory ({e.__class__.__name__}: {e})",
                          where=source) from None
    return parse_inventory(text, source)


def parse_inventory(text: str, source: str = "<inventory>") -> Inventory:
    r = _Reader(source)
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
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
    r.check_keys(top, "", {"cluster", "kubeconfig", "context", "ssh", "etcdctl", "hosts", "drill"})

    cluster = r.mapping(r.get(top, "cluster", "", dict, required=True), "cluster",
                        top.lines.get("cluster"))
    r.check_keys(cluster, "cluster", {"name", "version"})
    cluster_name = r.get(cluster, "name", "cluster", str, required=True)
    version = r.get(cluster, "version", "cluster", (str, int, float))
    if version is not None:
        version = str(version)

    kubeconfig = r.get(top, "kubeconfig", "", str)
    context = r.get(top, "context", "", str)
    etcdctl = r.get(top, "etcdctl", "", str, default=DEFAULT_ETCDCTL)

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
        identity = r.get(ssh_map, "identity_file", "ssh", str)
        config = r.get(ssh_map, "config", "ssh", str)
        ssh = SshSettings(
            user=r.get(ssh_map, "user", "ssh", str, default="core"),
            port=port,
            identity_file=expand_path(identity) if identity else None,
            known_hosts=expand_path(r.get(ssh_map, "known_hosts", "ssh", str,
                                          default="~/.ssh/known_hosts")),
            jump=r.get(ssh_map, "jump", "ssh", str),
            sudo=r.get(ssh_map, "sudo", "ssh", bool, default=True),
            connect_timeout=r.get(ssh_map, "connect_timeout", "ssh", float, default=10.0),
            max_handshakes=max_hs,
            keepalive_interval=r.get(ssh_map, "keepalive_interval", "ssh", float, default=15.0),
            config=expand_path(config) if config else None,
        )
    else:
        ssh = SshSettings(known_hosts=expand_path(ssh.known_hosts))

    hosts_value = r.get(top, "hosts", "", list, required=True)
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(hosts_value):
        path = f"hosts[{i}]"
        line = hosts_value.lines[i] if isinstance(hosts_value, _LocatedList) else None
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
        if any(c.isspace() for c in address) or address.startswith("-"):
            r.fail(f"{path}.address", h.lines.get("address"), f"{address!r} is not an address")
        role = r.get(h, "role", path, str, default="control-plane")
        if role not in ROLES:
            r.fail(f"{path}.role", h.lines.get("role"), f"{role!r} is not a role",
                   hint="Use control-plane or worker")
        port = r.get(h, "port", path, int, default=ssh.port)
        if port not in _PORT_RANGE:
            r.fail(f"{path}.port", h.lines.get("port"), f"{port} is not a TCP port (1-65535)")
        identity = r.get(h, "identity_file", path, str)
        hosts.append(Host(
            name=name, address=address, role=role, port=port,
            user=r.get(h, "user", path, str, default=ssh.user),
            identity_file=expand_path(identity) if identity else ssh.identity_file,
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
    )
