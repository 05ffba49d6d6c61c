"""`etcd-dr init`'s discovery: the cluster's API objects -> a DiscoveredCluster -> the
inventory's YAML, with a comment on every key.

Pure functions over the objects as the API returns them (ClusterVersion, Infrastructure,
the Node list, Proxy), so they are tested on real clusters' objects; `fetch_objects` is the
only part that talks to the API, and only reads. What init does over SSH afterwards (check
each host, trust host keys) is tui/hostcheck.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from tui.cluster.api import CONFIG_GROUP, ClusterApi, describe_api_error
from tui.errors import ConfigError
from tui.inventory import TOPOLOGIES, address_problem, name_problem, release_problem

ROLE_LABEL = "node-role.kubernetes.io/"
CONTROL_PLANE_LABELS = ("master", "control-plane")

# what each topology means to an operator, and how many control-plane nodes it has
TOPOLOGY_WORDS = {
    "HighlyAvailable": "highly available: 3 (or 5) control-plane nodes, each an etcd member",
    "HighlyAvailableArbiter": "arbiter: 2 control-plane nodes and an arbiter node, each an "
                              "etcd member",
    "SingleReplica": "single-node OpenShift: one control-plane node, one etcd member",
    "DualReplica": "two-node with fencing: etcd runs under Pacemaker on 2 control-plane nodes; "
                   "etcd-dr's runbooks refuse this topology (see Red Hat's Two-node with "
                   "Fencing recovery)",
    "External": "external (hosted) control plane: etcd does not run on this cluster's nodes",
}
EXPECTED_CONTROL_PLANE = {"HighlyAvailable": (3, 5), "HighlyAvailableArbiter": (2,),
                          "SingleReplica": (1,), "DualReplica": (2,)}


@dataclass(frozen=True)
class DiscoveredHost:
    name: str
    address: str
    role: str  # control-plane | arbiter | worker
    ready: bool
    address_source: str = "InternalIP"
    labels: tuple[str, ...] = ()  # its node-role labels, as found


@dataclass(frozen=True)
class DiscoveredProxy:
    http_proxy: str | None = None
    https_proxy: str | None = None
    no_proxy: str | None = None
    trusted_ca: str | None = None
    credentials_removed: bool = False  # a proxy URL had user:password@, not written


@dataclass(frozen=True)
class DiscoveredCluster:
    name: str
    name_source: str
    version: str | None
    version_note: str | None  # an update under way, or why there is no version
    platform: str | None
    topology: str
    topology_source: str
    hosts: tuple[DiscoveredHost, ...]  # control-plane and arbiter first, then workers
    workers_left_out: int  # worker nodes not listed (init lists them with --workers)
    proxy: DiscoveredProxy | None
    api_server: str | None
    warnings: tuple[str, ...] = ()

    @property
    def control_plane(self) -> tuple[DiscoveredHost, ...]:
        return tuple(h for h in self.hosts if h.role == "control-plane")

    @property
    def arbiters(self) -> tuple[DiscoveredHost, ...]:
        return tuple(h for h in self.hosts if h.role == "arbiter")


class DiscoveryError(ConfigError):
    """The cluster cannot be written as an inventory (exit 2, nothing written)."""


# --- reading the objects ---------------------------------------------------------------------

def _items(obj: Mapping | list | None) -> list[dict]:
    if isinstance(obj, list):
        return [i for i in obj if isinstance(i, dict)]
    if isinstance(obj, Mapping):
        return [i for i in obj.get("items") or [] if isinstance(i, dict)]
    return []


def node_roles(node: Mapping) -> tuple[str, ...]:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return tuple(sorted(k[len(ROLE_LABEL):] for k in labels if k.startswith(ROLE_LABEL)))


def host_role(roles: tuple[str, ...]) -> str:
    """control-plane (master or control-plane label, also when it schedules workloads and
    carries the worker label: a compact cluster), arbiter, else worker."""
    if any(r in CONTROL_PLANE_LABELS for r in roles):
        return "control-plane"
    if "arbiter" in roles:
        return "arbiter"
    return "worker"


def node_address(node: Mapping) -> tuple[str | None, str]:
    """The node's first InternalIP (kubelet lists the primary family first on dual-stack
    nodes); else its InternalDNS or Hostname, said so."""
    addresses = [a for a in (node.get("status") or {}).get("addresses") or []
                 if isinstance(a, dict) and a.get("address")]
    for kind in ("InternalIP", "InternalDNS", "Hostname"):
        for a in addresses:
            if a.get("type") == kind and address_problem(str(a["address"])) is None:
                return str(a["address"]), kind
    return None, "none"


def _ready(node: Mapping) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or []
               if isinstance(c, dict))


def cluster_name(infrastructure: Mapping | None,
                 clusterversion: Mapping | None) -> tuple[str | None, str]:
    """The cluster's name: NAME of the API URL api.NAME.BASEDOMAIN (what the installer
    was told), else the infrastructure name without its random suffix."""
    status = (infrastructure or {}).get("status") or {}
    url = status.get("apiServerURL") or ""
    host = urlsplit(url).hostname or ""
    labels = host.split(".")
    if len(labels) >= 3 and labels[0] == "api" and not name_problem(labels[1]):
        return labels[1], f"Infrastructure status.apiServerURL ({url})"
    infra = status.get("infrastructureName") or ""
    m = re.fullmatch(r"(.+)-[a-z0-9]{5}", infra)
    if m and not name_problem(m.group(1)):
        return m.group(1), f"Infrastructure status.infrastructureName ({infra})"
    return None, "no name found"


def release(clusterversion: Mapping | None) -> tuple[str | None, str | None]:
    """ClusterVersion status.desired.version (what the status view reads), and a note when
    an update is under way (the newest history entry is Partial)."""
    status = (clusterversion or {}).get("status") or {}
    desired = (status.get("desired") or {}).get("version")
    history = [h for h in status.get("history") or [] if isinstance(h, dict)]
    note = None
    if history and history[0].get("state") == "Partial":
        done = next((h.get("version") for h in history if h.get("state") == "Completed"),
                    None)
        note = (f"an update to {history[0].get('version')} was under way at init (last "
                f"completed: {done or 'none'}); the API's version wins when reachable")
    if not desired:
        return None, "ClusterVersion has no status.desired.version"
    if problem := release_problem(str(desired)):
        return None, f"{problem}: left out"
    return str(desired), note


def _without_credentials(url: str) -> tuple[str, bool]:
    """A proxy URL without its user:password@ (never written to an inventory)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, False
    if "@" not in parts.netloc:
        return url, False
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), True


def read_proxy(proxy: Mapping | None) -> DiscoveredProxy | None:
    """Proxy cluster: status first (what the cluster uses, with the noProxy it adds), then
    spec; None when no proxy is set."""
    if not proxy:
        return None
    spec, status = proxy.get("spec") or {}, proxy.get("status") or {}
    values: dict[str, str | None] = {}
    removed = False
    for key, field_name in (("http_proxy", "httpProxy"), ("https_proxy", "httpsProxy"),
                            ("no_proxy", "noProxy")):
        value = status.get(field_name) or spec.get(field_name)
        if value and key != "no_proxy":
            value, cut = _without_credentials(str(value))
            removed = removed or cut
        values[key] = str(value) if value else None
    if not values["http_proxy"] and not values["https_proxy"]:
        return None
    trusted = (spec.get("trustedCA") or {}).get("name") or None
    return DiscoveredProxy(trusted_ca=trusted, credentials_removed=removed, **values)


def discover(*, clusterversion: Mapping | None, infrastructure: Mapping | None,
             nodes: Mapping | list, proxy: Mapping | None = None, name: str | None = None,
             workers: bool = False) -> DiscoveredCluster:
    """The inventory's facts from the API objects. DiscoveryError when the cluster cannot be
    an inventory: no control-plane node with an address, or a control plane that is not on
    the cluster's nodes."""
    warnings: list[str] = []
    if name is not None:
        if problem := name_problem(name):
            raise DiscoveryError(f"--name {problem}", hint="Give the cluster's name, e.g. "
                                                           "prod-east")
        name_source = "--name at init"
    else:
        found, name_source = cluster_name(infrastructure, clusterversion)
        if found is None:
            raise DiscoveryError("the cluster's name could not be read from its "
                                 "Infrastructure object (apiServerURL, infrastructureName)",
                                 hint="Give it with --name NAME")
        name = found
    version, version_note = release(clusterversion)

    infra_status = (infrastructure or {}).get("status") or {}
    platform = (infra_status.get("platformStatus") or {}).get("type") or \
        infra_status.get("platform") or None
    if platform is not None and name_problem(str(platform)):
        warnings.append(f"the platform {platform!r} is not a plain name: left out")
        platform = None

    hosts: list[DiscoveredHost] = []
    workers_left_out = 0
    for node in sorted(_items(nodes), key=lambda n: (n.get("metadata") or {}).get("name", "")):
        node_name = str((node.get("metadata") or {}).get("name") or "")
        roles = node_roles(node)
        role = host_role(roles)
        if role == "worker" and not workers:
            workers_left_out += 1
            continue
        if name_problem(node_name):
            warnings.append(f"node {node_name!r}: its name cannot name a host: left out")
            continue
        address, source = node_address(node)
        if address is None:
            warnings.append(f"node {node_name} ({role}) has no usable address "
                            f"(InternalIP, InternalDNS, Hostname): left out")
            continue
        if source != "InternalIP":
            warnings.append(f"node {node_name} has no InternalIP: its {source} is used")
        ready = _ready(node)
        if not ready and role != "worker":
            warnings.append(f"node {node_name} ({role}) is not Ready")
        hosts.append(DiscoveredHost(node_name, address, role, ready, source, roles))
    order = {"control-plane": 0, "arbiter": 1, "worker": 2}
    hosts.sort(key=lambda h: order[h.role])  # stable: by name within a role

    control_plane = [h for h in hosts if h.role == "control-plane"]
    arbiters = [h for h in hosts if h.role == "arbiter"]
    topology = infra_status.get("controlPlaneTopology")
    if topology == "External":
        raise DiscoveryError(
            "the cluster's control plane is External (hosted control planes): etcd does not "
            "run on its nodes, so there is no etcd host to list",
            hint="Run etcd-dr against the management cluster that hosts this control plane")
    if topology in TOPOLOGIES:
        topology_source = "Infrastructure status.controlPlaneTopology"
    else:
        if topology:
            warnings.append(f"unknown controlPlaneTopology {topology!r}: inferred from the "
                            f"nodes instead")
        topology = ("HighlyAvailableArbiter" if arbiters else
                    "SingleReplica" if len(control_plane) == 1 else
                    "DualReplica" if len(control_plane) == 2 else "HighlyAvailable")
        topology_source = (f"inferred from {len(control_plane)} control-plane node(s): the "
                           f"Infrastructure object has no controlPlaneTopology")
    if not control_plane:
        raise DiscoveryError(
            "no control-plane node found (no node has the node-role.kubernetes.io/master or "
            "control-plane label and a usable address)",
            hint="Check the kubeconfig and context: etcd-dr needs a cluster whose etcd runs on "
                 "its control-plane nodes")
    expected = EXPECTED_CONTROL_PLANE.get(topology, ())
    if expected and len(control_plane) not in expected:
        warnings.append(f"{len(control_plane)} control-plane node(s), where {topology} has "
                        f"{' or '.join(map(str, expected))}: a node may be missing or being "
                        f"replaced; check before relying on this inventory")
    if topology == "HighlyAvailableArbiter" and not arbiters:
        warnings.append("the topology is HighlyAvailableArbiter but no node has the "
                        "node-role.kubernetes.io/arbiter label")
    if topology == "DualReplica":
        warnings.append(TOPOLOGY_WORDS["DualReplica"])
    return DiscoveredCluster(
        name=name, name_source=name_source, version=version, version_note=version_note,
        platform=platform, topology=topology, topology_source=topology_source,
        hosts=tuple(hosts), workers_left_out=workers_left_out, proxy=read_proxy(proxy),
        api_server=infra_status.get("apiServerURL"), warnings=tuple(warnings))


# --- writing the inventory ---------------------------------------------------------------------

@dataclass(frozen=True)
class InitSettings:
    """What the inventory says besides the cluster's facts: how to reach the API and the
    hosts from this machine."""
    kubeconfig: str | None
    context: str | None
    known_hosts: str = "~/.ssh/known_hosts"
    user: str = "core"
    port: int = 22  # ssh.port: every host's, unless host_ports says otherwise
    identity_file: str | None = None
    ssh_config: str | None = None
    jump: str | None = None
    connect_timeout: str = "10s"
    # per-host SSH ports by address, when a host's sshd is not on port 22 (the drill's are
    # on loopback ports no Node object can tell)
    host_ports: Mapping[str, int] = field(default_factory=dict)


def _q(value: object) -> str:
    """A YAML scalar: text always double-quoted (a version stays text, a path stays a
    path), JSON escapes being YAML's."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())  # one line, whatever the API said


def render_inventory(found: DiscoveredCluster, settings: InitSettings, *,
                     host_notes: Mapping[str, str] | None = None,
                     written_at: datetime | None = None) -> str:
    """The inventory as YAML text, every key with a comment saying where its value came
    from. host_notes: a line per host name from the SSH check (its key, its state)."""
    when = (written_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    out: list[str] = [
        f"# etcd-dr inventory of cluster {found.name}, written by `etcd-dr init` on {when}",
        (f"# from the API at {found.api_server or 'the kubeconfig server'}. Check it, then "
         f"run: etcd-dr status --inventory THIS_FILE"),
    ]
    for warning in found.warnings:
        out.append(f"# WARNING at init: {_comment(warning)}")
    out.append("cluster:")
    out.append(f"  # the cluster's name, from {_comment(found.name_source)}; it names the "
               f"journal files")
    out.append(f"  name: {_q(found.name)}")
    if found.version:
        out.append("  # ClusterVersion status.desired.version at init; the API's wins when "
                   "reachable")
        if found.version_note:
            out.append(f"  # {_comment(found.version_note)}")
        out.append(f"  version: {_q(found.version)}")
    elif found.version_note:
        out.append(f"  # no version: {_comment(found.version_note)}")
    if found.platform:
        out.append("  # Infrastructure status.platformStatus.type")
        out.append(f"  platform: {_q(found.platform)}")
    out.append(f"  # {_comment(found.topology_source)}: "
               f"{_comment(TOPOLOGY_WORDS[found.topology])}")
    out.append(f"  topology: {_q(found.topology)}")
    proxy = found.proxy
    if proxy is None:
        out.append("  # no cluster-wide proxy is set (Proxy cluster)")
    else:
        out.append("  # the cluster-wide proxy at init (Proxy cluster, status first), for the "
                   "record: runbooks read it from the API when they run")
        if proxy.credentials_removed:
            out.append("  # its URL's user:password@ was left out: etcd-dr never writes "
                       "credentials; the runbooks read them from the API")
        out.append("  proxy:")
        for key, words in (("http_proxy", "HTTP_PROXY"), ("https_proxy", "HTTPS_PROXY"),
                           ("no_proxy", "NO_PROXY"),
                           ("trusted_ca", "the ConfigMap (openshift-config) of its CA bundle")):
            value = getattr(proxy, key)
            if value:
                out.append(f"    {key}: {_q(value)}  # {words}")
    out.append("# the kubeconfig etcd-dr reads the API with (its token stays in that file, "
               "never in this one)")
    if settings.kubeconfig:
        out.append(f"kubeconfig: {_q(settings.kubeconfig)}")
    if settings.context:
        out.append("# the kubeconfig's context for this cluster, fixed at init (a later "
                   "change of current-context does not move this inventory)")
        out.append(f"context: {_q(settings.context)}")
    out.append("# how etcd-dr reaches the hosts over SSH")
    out.append("ssh:")
    out.append("  user: \"core\"  # RHCOS's user; etcd-dr needs passwordless sudo (core has it)"
               if settings.user == "core" else f"  user: {_q(settings.user)}  # given at init")
    out.append("  port: 22  # sshd's port on the hosts (a host's own port: hosts[].port)"
               if settings.port == 22 else
               f"  port: {settings.port}  # given at init: sshd's port on the hosts")
    if settings.identity_file:
        out.append(f"  identity_file: {_q(settings.identity_file)}  # the private key, "
                   f"besides the agent's")
    if settings.ssh_config:
        out.append(f"  config: {_q(settings.ssh_config)}  # the ssh_config file read")
    out.append(f"  known_hosts: {_q(settings.known_hosts)}  # host keys, checked strictly; "
               f"init added the keys it trusted")
    if settings.jump:
        out.append(f"  jump: {_q(settings.jump)}  # the bastion every host is reached through")
    out.append("  sudo: true  # privileged commands run under sudo -n")
    out.append(f"  connect_timeout: {_q(settings.connect_timeout)}  # per SSH connection "
               f"attempt")
    left_out = (f"; {found.workers_left_out} worker node(s) left out (etcd-dr init --workers "
                f"lists them)" if found.workers_left_out else "")
    out.append(f"# the nodes etcd runs on, by node name (the etcd member's name){left_out}")
    out.append("hosts:")
    for h in found.hosts:
        roles = ", ".join(h.labels) or "none"
        state = "Ready" if h.ready else "NOT Ready"
        out.append(f"  # node {h.name}: {state} at init; node-role labels: {roles}")
        note = (host_notes or {}).get(h.name)
        if note:
            out.append(f"  # SSH at init: {_comment(note)}")
        out.append(f"  - name: {_q(h.name)}  # the Node's name")
        out.append(f"    address: {_q(h.address)}  # its {h.address_source}")
        out.append(f"    role: {_q(h.role)}  # control-plane, arbiter or worker")
        port = settings.host_ports.get(h.address)
        if port and port != settings.port:
            out.append(f"    port: {port}  # its sshd listens here")
    return "\n".join(out) + "\n"


# --- reading the API ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ApiObjects:
    clusterversion: dict | None
    infrastructure: dict | None
    nodes: dict
    proxy: dict | None


async def fetch_objects(api: ClusterApi) -> ApiObjects:
    """Read the four objects discovery needs (GETs only). The API must answer: without it
    there is nothing to discover (DiscoveryError, exit 2)."""

    async def optional(plural: str, name: str) -> dict | None:
        try:
            return await api.get_cluster_object(CONFIG_GROUP, plural, name)
        except ConfigError:
            raise
        except Exception as e:
            if getattr(e, "status", None) == 404:
                return None
            raise

    try:
        async with asyncio.timeout(api.timeout * 3):
            cv, infra, nodes, proxy = await asyncio.gather(
                optional("clusterversions", "version"), optional("infrastructures", "cluster"),
                api.get_json("/api/v1/nodes"), optional("proxies", "cluster"))
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - any client failure: the API's, said plainly
        raise DiscoveryError(f"cannot read the cluster: {describe_api_error(e, api.server)}",
                             where=api.kubeconfig,
                             hint="init needs the API: check the kubeconfig, the context and "
                                  "that the API answers (oc whoami)") from None
    if cv is None:
        raise DiscoveryError("the API has no ClusterVersion: this is not an OpenShift 4 "
                             "cluster", where=api.kubeconfig,
                             hint="Check the kubeconfig and the context")
    return ApiObjects(cv, infra, nodes if isinstance(nodes, dict) else {}, proxy)
