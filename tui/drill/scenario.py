"""Drill scenarios: YAML files in assets/scenarios/ that describe a cluster and its trouble."""

from __future__ import annotations

import json
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from assets import asset_path

from tui.drill import commands  # noqa: F401  (every program: hostfiles writes their binaries)
from tui.drill import encryption, objects, pacemaker
from tui.drill.drillspec import DrillSpec, parse_drill
from tui.drill.hostfiles import populate_control_plane_host
from tui.drill.model import (
    ApiState,
    Csr,
    DrillCluster,
    DrillHost,
    EtcdCluster,
    EtcdMember,
    SimClock,
)
from tui.drill.script_files import install_host_files
from tui.errors import ConfigError

MB = 1024 * 1024


@dataclass(frozen=True)
class ScenarioInfo:
    name: str
    description: str
    path: str
    objective: str = ""  # the drill section's one line ("" without one)
    runbook: str | None = None  # the drill's ideal-path runbook


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def scenario_files() -> dict[str, object]:
    folder = asset_path("scenarios")
    return {p.name[:-5]: p for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".yaml")}


def list_scenarios() -> list[ScenarioInfo]:
    out = []
    for name, path in scenario_files().items():
        doc = _read(path, str(path))
        drill = parse_drill(doc, str(path))
        out.append(ScenarioInfo(name, str(doc.get("description", "")).strip(), str(path),
                                drill.objective if drill else "",
                                drill.runbook if drill else None))
    return out


def _read(path, source: str) -> dict:
    try:
        # libyaml's loader where PyYAML has it: every drill, CLI run and test reads these
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the scenario ({e})", where=source) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark else source
        raise ConfigError(f"not valid YAML: {getattr(e, 'problem', e)}", where=where) from None
    if not isinstance(doc, dict):
        raise ConfigError("a scenario must be a YAML mapping", where=source)
    return doc


def load_scenario_doc(name_or_path: str) -> tuple[dict, str]:
    files = scenario_files()
    if name_or_path in files:
        path = files[name_or_path]
        return _read(path, str(path)), name_or_path
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return _read(p, str(p)), p.stem
    raise ConfigError(f"no scenario named {name_or_path!r}",
                      hint="Known scenarios: " + ", ".join(files) +
                      " (etcd-dr scenarios lists them)")


def _num(doc: dict, key: str, default: float, source: str) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key} must be a number, not {value!r}", where=source)
    return value


ENCRYPTION_TYPES = ("", "identity", "aescbc", "aesgcm")
ENCRYPTION_OPERATORS = ("openshiftapiserver", "kubeapiserver", "authentication")


def _encryption_type(api_doc: dict, source: str) -> str:
    value = api_doc.get("encryption")
    value = "" if value is None else value
    if not isinstance(value, str) or value not in ENCRYPTION_TYPES:
        raise ConfigError(f"api.encryption must be one of identity, aescbc, aesgcm (or empty "
                          f"for unset), not {value!r}", where=source)
    return value


def _encrypted_overrides(api_doc: dict, source: str) -> dict[str, dict | None]:
    doc = api_doc.get("encrypted") or {}
    if not isinstance(doc, dict):
        raise ConfigError("api.encrypted must map operators to conditions", where=source)
    out: dict[str, dict | None] = {}
    for key, cond in doc.items():
        if key not in ENCRYPTION_OPERATORS:
            raise ConfigError(f"api.encrypted: unknown operator {key!r}",
                              where=source, hint="Operators: " + ", ".join(ENCRYPTION_OPERATORS))
        if cond is not None and not (isinstance(cond, dict) and
                                     str(cond.get("status")) in ("True", "False", "Unknown")):
            raise ConfigError(f"api.encrypted.{key} must be null or a condition with status "
                              f"True, False or Unknown (and optional reason, message), "
                              f"not {cond!r}", where=source)
        out[key] = None if cond is None else {k: str(v) for k, v in cond.items()
                                              if k in ("status", "reason", "message")}
    return out


def _encryption_state(api: ApiState, api_doc: dict, clock: SimClock, source: str) -> None:
    """Encrypted conditions and a migration under way, from api.encryption,
    api.encryption_started_minutes_ago and api.migration_minutes."""
    rollout = api_doc.get("rollout_in_progress", False)
    if not isinstance(rollout, bool):
        raise ConfigError(f"api.rollout_in_progress must be true or false, not {rollout!r}",
                          where=source)
    api.rollout_in_progress = rollout
    minutes = _num(api_doc, "migration_minutes", encryption.DEFAULT_MINUTES, source)
    if minutes <= 0:
        raise ConfigError(f"api.migration_minutes must be more than 0, not {minutes!r}",
                          where=source)
    api.encryption_minutes = float(minutes)
    if "encryption_started_minutes_ago" not in api_doc:
        for key, cond in encryption.settled_conditions(api.encryption_type).items():
            api.encrypted.setdefault(key, cond)
        return
    ago = _num(api_doc, "encryption_started_minutes_ago", 0, source)
    if ago < 0:
        raise ConfigError(f"api.encryption_started_minutes_ago must be 0 or more, not {ago!r}",
                          where=source)
    if api.encryption_type == "":
        raise ConfigError("api.encryption_started_minutes_ago needs api.encryption: aescbc or "
                          "aesgcm (encryption under way) or identity (decryption under way)",
                          where=source)
    # what the operators showed when it began: never encrypted before an encryption,
    # fully encrypted before a decryption (api.encrypted overrides either)
    start = encryption.settled_conditions(
        "identity" if encryption.encrypting(api.encryption_type) else "aescbc")
    start.update(api.encrypted)
    api.encryption_from = start
    api.encryption_since = clock.now() - ago * 60.0
    api.encrypted = dict(start)
    encryption.sync_api(api, clock.now())


def _leader_moves_after(etcd_doc: dict, n_cp: int, source: str) -> float | None:
    """etcd.leader_moves_after_seconds: the leader moves once, that long after the start."""
    if etcd_doc.get("leader_moves_after_seconds") is None:
        return None
    value = etcd_doc["leader_moves_after_seconds"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"etcd.leader_moves_after_seconds must be a number of simulated "
                          f"seconds more than 0, not {value!r}", where=source)
    if n_cp < 3:
        raise ConfigError("etcd.leader_moves_after_seconds needs control_plane: 3 or 5 "
                          "(a single member has nobody to hand the leadership to)",
                          where=source)
    return float(value)


def build_cluster(name_or_path: str, *, speed: float = 1.0, address_base: str = "127.0.3",
                  clock: SimClock | None = None) -> DrillCluster:
    doc, name = load_scenario_doc(name_or_path)
    path = str(scenario_files().get(name_or_path, name_or_path))
    source = f"scenario {name} ({path})"  # errors name the scenario, its file and the key
    parse_drill(doc, path)  # fail early
    n_cp = int(_num(doc, "control_plane", 3, source))
    n_workers = int(_num(doc, "workers", 0, source))
    topology = _topology(doc, n_cp, source)
    etcd_doc = doc.get("etcd") or {}
    version = str(etcd_doc.get("version", "3.5.6"))
    hosts: list[DrillHost] = []
    members: list[EtcdMember] = []
    host_over = doc.get("hosts") or {}
    member_over = doc.get("members") or {}
    for i in range(n_cp):
        hname = f"master-{i}"
        address = f"{address_base}.{i + 1}"
        over = host_over.get(hname) or {}
        hosts.append(DrillHost(name=hname, address=address, role="control-plane",
                               up=bool(over.get("up", True)),
                               sudo_nopasswd=bool(over.get("sudo_nopasswd", True)),
                               ip_addresses=[("br-ex", f"{address}/24")]))
        m_over = {**etcd_doc, **(member_over.get(hname) or {})}
        # stable member IDs per name, so drills and snapshots look the same every run
        member_id = (zlib.crc32(f"{name}/{hname}".encode()) << 32) | zlib.crc32(hname.encode())
        members.append(EtcdMember(
            name=hname, member_id=member_id,
            peer_url=f"https://{address}:2380", client_url=f"https://{address}:2379",
            version=str(m_over.get("version", version)),
            db_size=int(_num(m_over, "db_size_mb", 142, source) * MB),
            db_size_in_use=int(_num(m_over, "in_use_mb", 121, source) * MB),
            raft_index=int(_num(m_over, "raft_index", 1_048_576 + i, source)),
            raft_applied_index=int(_num(m_over, "raft_index", 1_048_576 + i, source)),
            running=bool(m_over.get("running", True)) and hosts[-1].up,
            is_learner=_bool(m_over, "is_learner", False, f"members.{hname}.", source),
        ))
    for i in range(n_workers):
        hosts.append(DrillHost(name=f"worker-{i}", address=f"{address_base}.{101 + i}",
                               role="worker",
                               ip_addresses=[("br-ex", f"{address_base}.{101 + i}/24")]))
    leader_name = etcd_doc.get("leader", "master-0")
    leader = next((m for m in members if m.name == leader_name), None)
    if leader is None:
        raise ConfigError(f"etcd.leader {leader_name!r} is not a control-plane host", where=source)
    alarms = []
    for a in etcd_doc.get("alarms") or []:
        m = next((m for m in members if m.name == a.get("member")), None)
        if m is None or a.get("alarm") not in ("NOSPACE", "CORRUPT"):
            raise ConfigError(f"bad alarm {a!r} (member: master-N, alarm: NOSPACE|CORRUPT)",
                              where=source)
        alarms.append((m.member_id, a["alarm"]))
    etcd = EtcdCluster(cluster_id=zlib.crc32(name.encode()) << 31 | 0x1234567,
                       members=members, leader_id=leader.member_id,
                       quota_backend_bytes=int(_num(etcd_doc, "quota_mb", 8192, source) * MB),
                       alarms=alarms)
    if etcd_doc.get("defrag_mb_per_s") is not None:  # a busy disk: defrags take longer
        rate = etcd_doc["defrag_mb_per_s"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
            raise ConfigError(f"etcd.defrag_mb_per_s must be a number of MB per simulated "
                              f"second more than 0, not {rate!r}", where=source)
        etcd.defrag_bytes_per_second = float(rate) * MB
    api_doc = doc.get("api") or {}
    if not isinstance(api_doc, dict):
        raise ConfigError("api must be a mapping (reachable, encryption, encrypted, proxy, "
                          "...)", where=source)
    api = ApiState(reachable=bool(api_doc.get("reachable", True)),
                   version=str(doc.get("version", "4.12.30")),
                   encryption_type=_encryption_type(api_doc, source),
                   encrypted=_encrypted_overrides(api_doc, source),
                   proxy={k: str(v) for k, v in (api_doc.get("proxy") or {}).items()},
                   topology=topology)
    clock = clock or SimClock(speed)
    leader_moves = _leader_moves_after(etcd_doc, n_cp, source)
    if leader_moves is not None:
        etcd.leader_move_at = clock.now() + leader_moves
    _encryption_state(api, api_doc, clock, source)
    cluster = DrillCluster(name=str(doc.get("cluster_name", f"drill-{name}")),
                           clock=clock, hosts=hosts, etcd=etcd, api=api,
                           scenario=name, description=str(doc.get("description", "")))
    for h in hosts:
        populate_control_plane_host(cluster, h)
    for h in cluster.control_plane():
        install_host_files(cluster, h)  # what cluster-backup.sh sources
    if pacemaker.is_pacemaker_cluster(cluster):
        pacemaker.prepare_hosts(cluster)  # etcd under Pacemaker, not a static pod
    encryption.attach(cluster)  # API patches of spec.encryption.type start a migration
    _restore_objects(cluster, doc, api_doc, source)
    if doc.get("backup") is not None:
        place_backup(cluster, doc["backup"], source)
    for h in hosts:
        if not h.up:
            m = cluster.member_of(h)
            if m:
                m.running = False
    cluster.changed()
    return cluster


# infrastructure status.controlPlaneTopology values the drill models, and the control-plane
# sizes each goes with (DualReplica: two nodes with fencing, etcd run by Pacemaker)
TOPOLOGIES = {"HighlyAvailable": (3, 5), "SingleReplica": (1,), "DualReplica": (2,)}


def _topology(doc: dict, n_cp: int, source: str) -> str:
    """The scenario's `topology:` ("" when it leaves it to the control plane's size)."""
    value = doc.get("topology")
    if value is None:
        if n_cp not in (1, 3, 5):
            raise ConfigError("control_plane must be 1, 3 or 5 (2 goes with topology: "
                              "DualReplica, two nodes with fencing)", where=source)
        return ""
    if value not in TOPOLOGIES:
        raise ConfigError(f"topology must be one of {', '.join(TOPOLOGIES)}, not {value!r}",
                          where=source)
    if n_cp not in TOPOLOGIES[value]:
        sizes = " or ".join(str(n) for n in TOPOLOGIES[value])
        raise ConfigError(f"topology {value} needs control_plane: {sizes}, not {n_cp}",
                          where=source)
    return value


NETWORK_TYPES = ("OVNKubernetes", "OpenShiftSDN")
PLATFORMS = ("AWS", "BareMetal", "None")
# restore: options. etcdctl_unavailable: podman cannot pull the etcd image and no copy is
# cached (cluster-backup.sh aborts, leaving its tarball); corrupt_tarball: the backup's
# static_kuberesources tarball is damaged (4.12-4.17 cluster-restore.sh fails after moving
# the member); backup_pulls_etcdctl: whether a late 4.12/4.13 z-stream already carries the
# 4.14 backup script (tui/drill/backup_script.pulls_etcdctl_first)
RESTORE_OPTIONS = {"kubelet_certs_rotated": bool, "etcdctl_unavailable": bool,
                   "corrupt_tarball": bool, "backup_pulls_etcdctl": bool}


def _bool(doc: dict, key: str, default: bool, where: str, source: str) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}{key} must be true or false, not {value!r}", where=source)
    return value


def _str_list(value, key: str, source: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of strings, not {value!r}", where=source)
    return list(value)


def _restore_objects(cluster: DrillCluster, doc: dict, api_doc: dict, source: str) -> None:
    """What the restore works with through the API: network type, platform, machines,
    persistent volumes, admission webhooks, extra CSRs, the `restore:` options.

    Keys: api.network_type (OVNKubernetes | OpenShiftSDN), api.platform (AWS | BareMetal |
    None; BareMetal: api.api_vips, api.ingress_vips), api.machines (true: Machines of
    openshift-machine-api for every host; default true unless platform None),
    api.persistent_volumes (a list of {name, type: local|csi, node, capacity, driver,
    storage_class, claim: NS/NAME}), api.webhooks (a list of {name, kind: validating|mutating,
    failure_policy: Fail|Ignore, namespaces: [...]}: a Fail one matching
    openshift-ovn-kubernetes keeps deleted OVN pods from coming back), api.pending_csrs (a list
    of {username, signer: client|serving, name}: pending CSRs nobody should approve, e.g. from
    an unknown node; name fixes the object's name, else csr-xxxxx), restore: {RESTORE_OPTIONS}."""
    api = cluster.api
    network = api_doc.get("network_type", "OVNKubernetes")
    if network not in NETWORK_TYPES:
        raise ConfigError(f"api.network_type must be one of {', '.join(NETWORK_TYPES)}, not "
                          f"{network!r}", where=source)
    api.network_type = network
    platform = api_doc.get("platform", "AWS")
    platform = "None" if platform is None else platform
    if platform not in PLATFORMS:
        raise ConfigError(f"api.platform must be one of {', '.join(PLATFORMS)}, not "
                          f"{platform!r}", where=source)
    api.platform = platform
    api.api_vips = _str_list(api_doc.get("api_vips"), "api.api_vips", source)
    api.ingress_vips = _str_list(api_doc.get("ingress_vips"), "api.ingress_vips", source)
    if (api.api_vips or api.ingress_vips) and platform != "BareMetal":
        raise ConfigError("api.api_vips and api.ingress_vips need api.platform: BareMetal",
                          where=source)
    machines = _bool(api_doc, "machines", platform != "None", "api.", source)
    restore = doc.get("restore") or {}
    if not isinstance(restore, dict):
        raise ConfigError(f"restore must be a mapping ({', '.join(RESTORE_OPTIONS)}), not "
                          f"{restore!r}", where=source)
    for key, value in restore.items():
        if key not in RESTORE_OPTIONS:
            raise ConfigError(f"restore: unknown key {key!r}", where=source,
                              hint="Keys: " + ", ".join(RESTORE_OPTIONS))
        if not isinstance(value, RESTORE_OPTIONS[key]):
            raise ConfigError(f"restore.{key} must be true or false, not {value!r}",
                              where=source)
    cluster.options = dict(restore)
    hosts = {h.name for h in cluster.hosts}
    pvs = api_doc.get("persistent_volumes")
    if pvs is None:
        pvs = _default_pvs(cluster)
    if not isinstance(pvs, list):
        raise ConfigError("api.persistent_volumes must be a list", where=source)
    for i, pv in enumerate(pvs):
        key = f"api.persistent_volumes[{i}]"
        if not isinstance(pv, dict) or not isinstance(pv.get("name"), str):
            raise ConfigError(f"{key} must be a mapping with a name", where=source)
        if pv.get("type", "csi") not in ("local", "csi"):
            raise ConfigError(f"{key}.type must be local or csi, not {pv.get('type')!r}",
                              where=source)
        if pv.get("type") == "local" and pv.get("node") not in hosts:
            raise ConfigError(f"{key}.node {pv.get('node')!r} is not a host of this scenario",
                              where=source)
    api.persistent_volumes = [dict(pv) for pv in pvs]
    hooks = api_doc.get("webhooks") or []
    if not isinstance(hooks, list):
        raise ConfigError("api.webhooks must be a list", where=source)
    for i, w in enumerate(hooks):
        key = f"api.webhooks[{i}]"
        if not isinstance(w, dict) or not isinstance(w.get("name"), str):
            raise ConfigError(f"{key} must be a mapping with a name", where=source)
        if w.get("kind", "validating") not in ("validating", "mutating"):
            raise ConfigError(f"{key}.kind must be validating or mutating, not "
                              f"{w.get('kind')!r}", where=source)
        if w.get("failure_policy", "Fail") not in ("Fail", "Ignore"):
            raise ConfigError(f"{key}.failure_policy must be Fail or Ignore, not "
                              f"{w.get('failure_policy')!r}", where=source)
        _str_list(w.get("namespaces"), f"{key}.namespaces", source)
    api.webhooks = [dict(w) for w in hooks]
    objects.init_objects(cluster, machines=machines)
    extra = api_doc.get("pending_csrs") or []
    if not isinstance(extra, list):
        raise ConfigError("api.pending_csrs must be a list", where=source)
    for i, c in enumerate(extra):
        key = f"api.pending_csrs[{i}]"
        if not isinstance(c, dict) or not isinstance(c.get("username"), str):
            raise ConfigError(f"{key} must be a mapping with a username", where=source)
        signer = c.get("signer", "serving")
        if signer not in ("client", "serving"):
            raise ConfigError(f"{key}.signer must be client or serving, not {signer!r}",
                              where=source)
        serving = signer == "serving"
        name = c.get("name")
        if name is not None and not (isinstance(name, str) and
                                     re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name)):
            raise ConfigError(f"{key}.name must be a Kubernetes object name (lower case, "
                              f"digits, '-'), not {name!r}", where=source)
        if name is not None and any(x.name == name for x in api.csrs):
            raise ConfigError(f"{key}.name {name!r} is already taken", where=source)
        api.csrs.append(Csr(
            name=name or objects.new_name(cluster, "csr-"),
            signer="kubernetes.io/kubelet-serving" if serving else
            "kubernetes.io/kube-apiserver-client-kubelet",
            username=c["username"],
            groups=["system:nodes", "system:authenticated"] if serving else
            ["system:serviceaccounts", "system:authenticated"],
            usages=["digital signature", "server auth" if serving else "client auth"],
            created=cluster.clock.now() - 600))


def _default_pvs(cluster: DrillCluster) -> list[dict]:
    """A few PVs a real cluster has: local storage on the first workers (or control plane)
    and CSI volumes of the platform's driver."""
    nodes = [h.name for h in cluster.hosts if h.role == "worker"] or \
        [h.name for h in cluster.control_plane()]
    driver = {"AWS": "ebs.csi.aws.com"}.get(cluster.api.platform, "topolvm.io")
    pvs = [{"name": f"local-pv-{zlib.crc32(f'{cluster.name}/{n}'.encode()):08x}",
            "type": "local", "node": n, "capacity": "100Gi", "storage_class": "local-sc",
            "device": "sdb", "claim": "db/data-postgres-0" if i == 0 else None,
            "reclaim": "Delete"}
           for i, n in enumerate(nodes[:2])]
    for i, claim in enumerate(("openshift-monitoring/prometheus-k8s-db-prometheus-k8s-0",
                               "openshift-image-registry/image-registry-storage")):
        pvs.append({"name": f"pvc-{uuid_like(cluster.name, i)}", "type": "csi",
                    "driver": driver, "capacity": "20Gi" if i == 0 else "100Gi",
                    "storage_class": "gp3-csi" if driver.startswith("ebs") else "lvms-vg1",
                    "claim": claim})
    return pvs


def uuid_like(seed: str, i: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"drill-pv/{seed}/{i}"))


BACKUP_KEYS = ("host", "dir", "taken_minutes_ago", "version")


def place_backup(cluster: DrillCluster, spec, source: str) -> None:
    """Backups taken earlier (what cluster-backup.sh leaves): snapshot_<ts>.db and
    static_kuberesources_<ts>.tar.gz on a control-plane host, for restore drills. `backup:`
    is one mapping or a list of them (several backups: in one directory, that is the
    two-snapshots fault; in several, the operator picks one). `version:` writes the etcd-dr
    manifest a backup taken by `etcd-dr run backup` has beside it, saying that release (the
    restore preflight compares it with the cluster's: another z-stream blocks)."""
    specs = spec if isinstance(spec, list) else [spec]
    if not specs:
        raise ConfigError("backup must be a mapping or a list of mappings (host, dir, "
                          "taken_minutes_ago, version), not an empty list", where=source)
    for i, one in enumerate(specs):
        _place_one_backup(cluster, one, f"backup[{i}]" if isinstance(spec, list) else "backup",
                          source)


def _place_one_backup(cluster: DrillCluster, spec, key: str, source: str) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(f"{key} must be a mapping ({', '.join(BACKUP_KEYS)}), not {spec!r}",
                          where=source)
    for k in spec:
        if k not in BACKUP_KEYS:
            raise ConfigError(f"{key}: unknown key {k!r}", where=source,
                              hint="Keys: " + ", ".join(BACKUP_KEYS))
    host = cluster.host(str(spec.get("host", "master-0")))
    if host is None or host.role != "control-plane":
        raise ConfigError(f"{key}.host {spec.get('host')!r} is not a control-plane host",
                          where=source)
    directory = str(spec.get("dir", "/home/core/assets/backup")).rstrip("/")
    if not directory.startswith("/"):
        raise ConfigError(f"{key}.dir must be an absolute path, not {directory!r}",
                          where=source)
    minutes = _num(spec, "taken_minutes_ago", 90, f"{source}, {key}")
    if minutes < 0:
        raise ConfigError(f"{key}.taken_minutes_ago must be 0 or more, not {minutes!r}",
                          where=source)
    version = spec.get("version")
    if version is not None and not (isinstance(version, str) and
                                    re.fullmatch(r"4\.\d+\.\d+", version)):
        raise ConfigError(f"{key}.version must be an OpenShift release like \"4.12.28\" "
                          f"(quoted), not {version!r}", where=source)
    taken = cluster.clock.now() - minutes * 60
    ts = datetime.fromtimestamp(taken, timezone.utc).strftime("%Y-%m-%d_%H%M%S")
    parts = directory.strip("/").split("/")
    for i in range(1, len(parts) + 1):
        host.dirs.add("/" + "/".join(parts[:i]))
    member = cluster.member_of(host)
    snapshot_size = member.db_size_in_use if member else 100 * MB
    files = {f"snapshot_{ts}.db": (snapshot_size, b"etcd snapshot (drill stand-in)\n"),
             f"static_kuberesources_{ts}.tar.gz": (55092, b"static pod resources (drill)\n")}
    if version is not None:
        files[f"etcd-dr-manifest_{ts}.json"] = (None, _manifest(
            cluster, host, directory, ts, version, taken, snapshot_size))
    for name, (size, content) in files.items():
        path = f"{directory}/{name}"
        host.files[path] = content
        host.sizes[path] = int(size) if size is not None else len(content)
        host.mtimes[path] = taken
        host.modes[path] = 0o600
        host.owners[path] = "root"


def _manifest(cluster: DrillCluster, host: DrillHost, directory: str, ts: str, version: str,
              taken: float, snapshot_size: int) -> bytes:
    """What `etcd-dr run backup` writes beside a backup (tui.runbooks.backup._manifest)."""
    doc = {"made_by": "etcd-dr", "cluster": cluster.name, "version": version,
           "host": host.name, "directory": directory, "timestamp": ts,
           "snapshot": f"snapshot_{ts}.db",
           "static_kuberesources": f"static_kuberesources_{ts}.tar.gz",
           "possibly_dirty": False,
           "etcd": {"hash": zlib.crc32(f"{cluster.name}/{ts}".encode()), "revision": None,
                    "totalKey": None, "totalSize": snapshot_size},
           "encryption": cluster.api.encryption_type or None, "api_reachable": True,
           "written_at": datetime.fromtimestamp(taken + 5, timezone.utc)
           .isoformat(timespec="seconds"),
           "sizes": {f"snapshot_{ts}.db": snapshot_size,
                     f"static_kuberesources_{ts}.tar.gz": 55092}}
    return (json.dumps(doc, indent=2) + "\n").encode()


# --- the `drill:` section (tui.drill.drillspec) ---------------------------------------------


def load_drill(name_or_path: str) -> DrillSpec | None:
    """The scenario's `drill:` section, validated (None when it has none). Errors name the
    scenario file and the key."""
    files = scenario_files()
    path = files[name_or_path] if name_or_path in files else Path(name_or_path)
    doc, _ = load_scenario_doc(name_or_path)
    return parse_drill(doc, str(path))


