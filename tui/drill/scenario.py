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

# every program a drill host runs: hostfiles puts a binary on disk for each
from tui.drill import (
    commands,  # noqa: F401
    encryption,
    objects,
    pacemaker,
)
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
        _place_backup(cluster, doc["backup"], source)
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


def _place_backup(cluster: DrillCluster, spec, source: str) -> None:
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


# --- the `drill:` section: what a training session makes of a scenario ----------------------
#
# drill:
#   objective: "one line the trainee reads first"
#   runbook: restore          # the ideal path's runbook, or null (a status-only drill)
#   rto_minutes: 45           # recovery-time objective, drill (simulated) minutes
#   ideal: {host | recovery_host, path, backup_dir, wait_minutes, retry: [STEP...],
#           actions: [{at: {step, event}, host, command, why}], notes: [...]}
#   expected_score: 100       # what the ideal path scores
#   hints: ["...", ...]       # one at a time on request
#   traps: [{kind, detail, host?, name?, step?}, ...]   # this scenario's own mistakes
#   faults: [{at: {step, event} | {after_seconds}, action, host?, member?, ...}, ...]

DRILL_KEYS = ("objective", "runbook", "rto_minutes", "ideal", "expected_score", "hints",
              "traps", "faults")
DRILL_RUNBOOKS = ("backup", "defrag", "restore", "quorum-restore", "encryption-on",
                  "encryption-off")
# the scenario-specific mistakes a session may count (besides the generic ones: a refused
# action, a wrong recovery host, a skipped check, a preflight override)
TRAP_KINDS = {
    "wrong-recovery-host": "the restore ran from another recovery host than the ideal one",
    "wrong-host": "a backup or defrag acted on another host than the ideal one",
    "wrong-backup": "the restore used another backup directory than the ideal one",
    "wrong-path": "the restore followed another procedure than the release's",
    "override-preflight": "a blocking preflight item was overridden with a reason",
    "override-interlock": "an interlock (encryption in progress, read-only) was overridden",
    "skip-step": "a failed step was skipped instead of fixed and retried",
    "approve-csr": "a CSR that must not be approved was approved",
    "host-treated-lost": "a host that only dropped its SSH session was treated as lost",
    "refused-action": "the console refused an unsafe action",
}
FAULT_ACTIONS = ("drop-host", "restore-host", "fill-db", "alarm", "stall-pod", "release-pod",
                 "drop-ssh")
FAULT_EVENTS = ("started", "finished", "failed")
# stall-pod/release-pod: a static pod by name or manifest file (tui.drill.kubelet.STATIC_PODS)
STATIC_POD_NAMES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                    "keepalived", "etcd-pod.yaml", "kube-apiserver-pod.yaml",
                    "kube-controller-manager-pod.yaml", "kube-scheduler-pod.yaml",
                    "keepalived.yaml")
IDEAL_KEYS = ("host", "recovery_host", "path", "backup_dir", "wait_minutes", "retry",
              "actions", "notes")
RESTORE_PATHS = ("4.12-4.13", "4.14-4.17", "4.18+")
_STEP_ID = re.compile(r"[A-Z]{2,5}(-[A-Z]{2,5})?-\d{2}[a-z]?|[A-Z]{2,5}(-[A-Z]{2,5})?-\d")


@dataclass(frozen=True)
class Trigger:
    """When a fault (or an ideal-path action) happens: at a journal event of a step, or
    after_seconds of drill time from the session's start."""
    step: str | None = None
    event: str | None = None
    after_seconds: float | None = None

    def to_json(self) -> dict:
        if self.after_seconds is not None:
            return {"after_seconds": self.after_seconds}
        return {"step": self.step, "event": self.event}


@dataclass(frozen=True)
class Fault:
    at: Trigger
    action: str
    host: str | None = None
    member: str | None = None
    alarm: str | None = None
    pod: str | None = None
    for_seconds: float | None = None

    @property
    def args(self) -> dict:
        """The keyword arguments for tui.drill.inject.apply(cluster, lab, action, **args)."""
        return {k: v for k, v in (("host", self.host), ("member", self.member),
                                  ("alarm", self.alarm), ("pod", self.pod),
                                  ("for_seconds", self.for_seconds)) if v is not None}


@dataclass(frozen=True)
class Trap:
    kind: str
    detail: str
    host: str | None = None
    name: str | None = None
    step: str | None = None


@dataclass(frozen=True)
class IdealAction:
    """Something the ideal path does outside the console (a command on a host's shell, as
    an operator does in another terminal), at a journal event."""
    at: Trigger
    host: str
    command: str
    why: str = ""


@dataclass(frozen=True)
class Ideal:
    host: str | None = None  # backup, defrag: the host acted on
    recovery_host: str | None = None  # restore, quorum-restore
    path: str | None = None  # restore: the procedure
    backup_dir: str | None = None  # restore: the backup directory (else the default)
    wait_minutes: float = 0.0  # drill minutes to wait before starting the runbook
    retry: tuple[str, ...] = ()  # steps that fail once on the ideal path and are retried
    actions: tuple[IdealAction, ...] = ()
    notes: tuple[str, ...] = ()

    def run_args(self, runbook: str) -> list[str]:
        """The `etcd-dr run RUNBOOK` options of the ideal path (besides --drill, --scenario,
        --speed, --yes)."""
        out = []
        host = self.recovery_host if runbook in ("restore", "quorum-restore") else self.host
        if host:
            out += ["--host", host]
        if self.backup_dir:
            out += ["--backup-dir", self.backup_dir]
        return out


@dataclass(frozen=True)
class DrillSpec:
    objective: str
    runbook: str | None
    rto_minutes: float
    ideal: Ideal
    expected_score: int
    hints: tuple[str, ...]
    traps: tuple[Trap, ...]
    faults: tuple[Fault, ...]  # tui.drill.inject.FaultSchedule takes them as they are

    def traps_of(self, kind: str) -> list[Trap]:
        return [t for t in self.traps if t.kind == kind]


def load_drill(name_or_path: str) -> DrillSpec | None:
    """The scenario's `drill:` section, validated (None when it has none). Errors name the
    scenario file and the key."""
    files = scenario_files()
    path = files[name_or_path] if name_or_path in files else Path(name_or_path)
    doc, _ = load_scenario_doc(name_or_path)
    return parse_drill(doc, str(path))


def _text(value, key: str, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string, not {value!r}", where=where)
    return value.strip()


def _positive(value, key: str, where: str, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not (value >= 0 if zero else value > 0):
        raise ConfigError(f"{key} must be a number {'of 0 or more' if zero else 'above 0'}, "
                          f"not {value!r}", where=where)
    return float(value)


def _mapping(value, key: str, keys: tuple[str, ...], where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping, not {value!r}", where=where)
    for k in value:
        if k not in keys:
            raise ConfigError(f"{key}: unknown key {k!r}", where=where,
                              hint="Keys: " + ", ".join(keys))
    return value


def _list(value, key: str, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list, not {value!r}", where=where)
    return value


def _scenario_hosts(doc: dict) -> tuple[list[str], list[str]]:
    n_cp = doc.get("control_plane", 3)
    n_workers = doc.get("workers", 0)
    cp = [f"master-{i}" for i in range(n_cp if isinstance(n_cp, int) else 3)]
    return cp, cp + [f"worker-{i}" for i in range(n_workers if isinstance(n_workers, int)
                                                  else 0)]


def _host(value, key: str, hosts: list[str], where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if value not in hosts:
        raise ConfigError(f"{key} {value!r} is not a host of this scenario", where=where,
                          hint="Hosts: " + ", ".join(hosts))
    return value


def _step(value, key: str, where: str) -> str:
    if not isinstance(value, str) or not _STEP_ID.fullmatch(value):
        raise ConfigError(f"{key} must be a runbook step ID such as RST-04 or DEF-MAN-2, "
                          f"not {value!r}", where=where)
    return value


def _trigger(value, key: str, where: str) -> Trigger:
    at = _mapping(value, key, ("step", "event", "after_seconds"), where)
    if "after_seconds" in at:
        if "step" in at or "event" in at:
            raise ConfigError(f"{key}: give either step and event, or after_seconds",
                              where=where)
        return Trigger(after_seconds=_positive(at["after_seconds"], f"{key}.after_seconds",
                                               where, zero=True))
    step = _step(at.get("step"), f"{key}.step", where)
    event = at.get("event", "started")
    if event not in FAULT_EVENTS:
        raise ConfigError(f"{key}.event must be one of {', '.join(FAULT_EVENTS)}, not "
                          f"{event!r}", where=where)
    return Trigger(step=step, event=event)


_FAULT_ARGS = {  # action: (required, optional)
    "drop-host": (("host",), ("for_seconds",)),
    "restore-host": (("host",), ()),
    "fill-db": (("member",), ()),
    "alarm": (("member",), ("alarm",)),
    "stall-pod": (("host", "pod"), ("for_seconds",)),
    "release-pod": (("host", "pod"), ()),
    "drop-ssh": (("host", "for_seconds"), ()),
}


def _fault(value, key: str, doc: dict, where: str) -> Fault:
    f = _mapping(value, key, ("at", "action", "host", "member", "alarm", "pod",
                              "for_seconds"), where)
    action = f.get("action")
    if action not in FAULT_ACTIONS:
        raise ConfigError(f"{key}.action must be one of {', '.join(FAULT_ACTIONS)}, not "
                          f"{action!r}", where=where)
    if "at" not in f:
        raise ConfigError(f"{key}.at is missing: when the fault happens ({{step, event}} or "
                          f"{{after_seconds}})", where=where)
    required, optional = _FAULT_ARGS[action]
    for k in ("host", "member", "alarm", "pod", "for_seconds"):
        if k in f and k not in required + optional:
            raise ConfigError(f"{key}.{k} does not go with action {action}", where=where,
                              hint=f"{action} takes " + ", ".join(required + optional))
        if k in required and f.get(k) is None:
            raise ConfigError(f"{key}.{k} is missing (action {action} needs it)", where=where)
    cp, hosts = _scenario_hosts(doc)
    alarm = f.get("alarm", "NOSPACE" if action == "alarm" else None)
    if alarm is not None and alarm not in ("NOSPACE", "CORRUPT"):
        raise ConfigError(f"{key}.alarm must be NOSPACE or CORRUPT, not {alarm!r}", where=where)
    pod = f.get("pod")
    if pod is not None and pod not in STATIC_POD_NAMES:
        raise ConfigError(f"{key}.pod must be a static pod ({', '.join(STATIC_POD_NAMES[:5])}"
                          f", or its manifest file name), not {pod!r}", where=where)
    return Fault(
        at=_trigger(f["at"], f"{key}.at", where), action=action,
        host=_host(f.get("host"), f"{key}.host", hosts, where, required=False),
        member=_host(f.get("member"), f"{key}.member", cp, where, required=False),
        alarm=alarm, pod=pod,
        for_seconds=None if f.get("for_seconds") is None else
        _positive(f["for_seconds"], f"{key}.for_seconds", where))


def _trap(value, key: str, doc: dict, where: str) -> Trap:
    t = _mapping(value, key, ("kind", "detail", "host", "name", "step"), where)
    kind = t.get("kind")
    if kind not in TRAP_KINDS:
        raise ConfigError(f"{key}.kind: unknown trap kind {kind!r}", where=where,
                          hint="Kinds: " + ", ".join(TRAP_KINDS))
    _, hosts = _scenario_hosts(doc)
    if kind == "approve-csr" and not isinstance(t.get("name"), str):
        raise ConfigError(f"{key}.name is missing: the CSR that must not be approved",
                          where=where)
    if kind == "approve-csr":
        names = {c.get("name") for c in (doc.get("api") or {}).get("pending_csrs") or []
                 if isinstance(c, dict)}
        if t["name"] not in names:
            raise ConfigError(f"{key}.name {t['name']!r} is not one of api.pending_csrs' "
                              f"names", where=where)
    if kind in ("wrong-recovery-host", "wrong-host", "host-treated-lost") and "host" in t:
        _host(t["host"], f"{key}.host", hosts, where)
    return Trap(kind=kind, detail=_text(t.get("detail"), f"{key}.detail", where),
                host=t.get("host"),
                name=None if t.get("name") is None else str(t["name"]),
                step=None if t.get("step") is None else _step(t["step"], f"{key}.step", where))


def _ideal(value, runbook: str | None, doc: dict, where: str) -> Ideal:
    i = _mapping(value or {}, "drill.ideal", IDEAL_KEYS, where)
    cp, hosts = _scenario_hosts(doc)
    restore = runbook in ("restore", "quorum-restore")
    if "recovery_host" in i and not restore:
        raise ConfigError("drill.ideal.recovery_host goes with drill.runbook restore or "
                          "quorum-restore (backup and defrag: drill.ideal.host)", where=where)
    if "host" in i and runbook not in ("backup", "defrag"):
        raise ConfigError("drill.ideal.host goes with drill.runbook backup or defrag "
                          "(restore: drill.ideal.recovery_host)", where=where)
    path = i.get("path")
    if path is not None and (runbook != "restore" or path not in RESTORE_PATHS):
        raise ConfigError(f"drill.ideal.path must be one of {', '.join(RESTORE_PATHS)} with "
                          f"drill.runbook restore, not {path!r}", where=where)
    backup_dir = i.get("backup_dir")
    if backup_dir is not None and (runbook != "restore" or not isinstance(backup_dir, str)
                                   or not backup_dir.startswith("/")):
        raise ConfigError(f"drill.ideal.backup_dir must be an absolute path with "
                          f"drill.runbook restore, not {backup_dir!r}", where=where)
    retry = [_step(s, f"drill.ideal.retry[{n}]", where)
             for n, s in enumerate(_list(i.get("retry"), "drill.ideal.retry", where))]
    actions = []
    for n, a in enumerate(_list(i.get("actions"), "drill.ideal.actions", where)):
        key = f"drill.ideal.actions[{n}]"
        a = _mapping(a, key, ("at", "host", "command", "why"), where)
        actions.append(IdealAction(
            at=_trigger(a.get("at"), f"{key}.at", where),
            host=_host(a.get("host"), f"{key}.host", hosts, where),
            command=_text(a.get("command"), f"{key}.command", where),
            why=_text(a.get("why"), f"{key}.why", where, required=False) or ""))
    notes = [_text(x, f"drill.ideal.notes[{n}]", where)
             for n, x in enumerate(_list(i.get("notes"), "drill.ideal.notes", where))]
    return Ideal(
        host=_host(i.get("host"), "drill.ideal.host", cp, where, required=False),
        recovery_host=_host(i.get("recovery_host"), "drill.ideal.recovery_host", cp, where,
                            required=False),
        path=path, backup_dir=backup_dir,
        wait_minutes=_positive(i.get("wait_minutes", 0), "drill.ideal.wait_minutes", where,
                               zero=True),
        retry=tuple(retry), actions=tuple(actions), notes=tuple(notes))


def parse_drill(doc: dict, where: str) -> DrillSpec | None:
    """The validated `drill:` section of a scenario document (None when it has none)."""
    if doc.get("drill") is None:
        return None
    d = _mapping(doc["drill"], "drill", DRILL_KEYS, where)
    for key in ("objective", "rto_minutes", "expected_score"):
        if key not in d:
            raise ConfigError(f"drill.{key} is missing", where=where)
    runbook = d.get("runbook")
    if runbook is not None and runbook not in DRILL_RUNBOOKS:
        raise ConfigError(f"drill.runbook must be one of {', '.join(DRILL_RUNBOOKS)} (or "
                          f"null for a status-only drill), not {runbook!r}", where=where)
    score = d["expected_score"]
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise ConfigError(f"drill.expected_score must be a whole number from 0 to 100, not "
                          f"{score!r}", where=where)
    hints = [_text(h, f"drill.hints[{n}]", where)
             for n, h in enumerate(_list(d.get("hints"), "drill.hints", where))]
    traps = [_trap(t, f"drill.traps[{n}]", doc, where)
             for n, t in enumerate(_list(d.get("traps"), "drill.traps", where))]
    faults = [_fault(f, f"drill.faults[{n}]", doc, where)
              for n, f in enumerate(_list(d.get("faults"), "drill.faults", where))]
    return DrillSpec(objective=_text(d.get("objective"), "drill.objective", where),
                     runbook=runbook,
                     rto_minutes=_positive(d["rto_minutes"], "drill.rto_minutes", where),
                     ideal=_ideal(d.get("ideal"), runbook, doc, where),
                     expected_score=score, hints=tuple(hints), traps=tuple(traps),
                     faults=tuple(faults))
