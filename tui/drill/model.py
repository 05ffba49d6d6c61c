"""The drill cluster's state: hosts, their files and containers, the etcd members, the API.

One `DrillCluster` holds everything a scenario describes. The simulated SSH servers
(tui.drill.sshserver) answer shell commands from it through the drill shell
(tui.drill.shell), and the simulated OpenShift API (tui.drill.apiserver) serves its
objects. Both read and change the same state, so a command run over SSH shows up in the
API and the other way round, as on a real cluster.
"""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterator

from tui.versions import openshift_minor

# the longest a simulated wait really lasts before it skips ahead (see SimClock.sleep): long
# enough for the real things a wait may overlap (an SSH reconnect) to make progress
SKIP_AFTER = 0.25


class SimClock:
    """Simulated time: real elapsed time times `speed`, or frozen (for snapshot tests)."""

    def __init__(self, speed: float = 1.0, start: datetime | None = None, frozen: bool = False,
                 skip_after: float = SKIP_AFTER):
        self.speed = speed
        self.frozen = frozen
        self.skip_after = skip_after
        self._start_sim = (start or datetime.now(timezone.utc)).timestamp()
        self._start_real = time.monotonic()
        self._offset = 0.0
        # simulated seconds spent waiting, by kind (see sleep): the fair clock's parts
        self.spent: dict[str, float] = {}
        self._covered: dict[str, float] = {}

    def now(self) -> float:
        """Simulated seconds since the epoch."""
        if self.frozen:
            return self._start_sim + self._offset
        return self._start_sim + self._offset + (time.monotonic() - self._start_real) * self.speed

    def now_dt(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (tests and fault injection)."""
        self._offset += seconds

    def real_seconds(self, sim_seconds: float) -> float:
        """How long to really wait for `sim_seconds` of simulated time."""
        if self.frozen or self.speed <= 0:
            return 0.0
        return sim_seconds / self.speed

    async def sleep(self, sim_seconds: float, kind: str = "commands") -> None:
        """Wait `sim_seconds` of simulated time, and count them under `kind` (tui.pace:
        "commands" for the host programs' own time, "waiting" for a runbook's waits).

        A short wait really lasts its real share; a long one lasts at most SKIP_AFTER real
        seconds and then skips ahead to its end, since nothing but the clock is awaited: a
        trainee does not sit out ten drill minutes of a rollout. Waits that overlap (three
        hosts' scripts sleeping at once) count once."""
        start = self.now()
        end = start + max(0.0, sim_seconds)
        try:
            if self.frozen:
                self.advance(end - start)
                await asyncio.sleep(0)
            elif kind != "waiting":
                # a host program's own time passes in full (a hung `sleep` stays hung until
                # its command's timeout, as on a host); only a runbook's wait skips ahead
                await asyncio.sleep(self.real_seconds(end - start))
            else:
                await asyncio.sleep(min(self.real_seconds(end - start), self.skip_after))
                gap = end - self.now()
                if gap > 0:
                    self.advance(gap)
        finally:
            self._count(kind, start, min(end, self.now()))

    def _count(self, kind: str, start: float, end: float) -> None:
        covered = self._covered.get(kind, start)
        self.spent[kind] = self.spent.get(kind, 0.0) + max(0.0, end - max(start, covered))
        self._covered[kind] = max(covered, end)


class DrillPace:
    """The fair drill clock (tui.pace): the simulated seconds of waits and host programs,
    plus a person's real seconds while the console waits for them; the console's own
    processing is not counted."""

    def __init__(self, clock: SimClock, real: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._real = real
        self._working = 0
        self._asking = 0
        self._deciding = 0.0
        self._since: float | None = real()  # deciding since (None: the runner is working)

    def now(self) -> float:
        return self.clock.now()

    def epoch(self) -> float:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds, "waiting")

    def _settle(self) -> None:
        if self._since is not None:
            now = self._real()
            self._deciding += max(0.0, now - self._since)
            self._since = now

    def _update(self) -> None:
        self._settle()
        deciding = self._working == 0 or self._asking > 0
        if deciding and self._since is None:
            self._since = self._real()
        elif not deciding:
            self._since = None

    @contextmanager
    def working(self) -> Iterator[None]:
        self._settle()
        self._working += 1
        self._update()
        try:
            yield
        finally:
            self._settle()
            self._working -= 1
            self._update()

    @contextmanager
    def asking(self) -> Iterator[None]:
        self._settle()
        self._asking += 1
        self._update()
        try:
            yield
        finally:
            self._settle()
            self._asking -= 1
            self._update()

    def reading(self) -> dict:
        self._settle()
        return {"commands": round(self.clock.spent.get("commands", 0.0), 3),
                "waiting": round(self.clock.spent.get("waiting", 0.0), 3),
                "deciding": round(self._deciding, 3)}


@dataclass
class EtcdMember:
    """One etcd member as etcdctl would report it."""
    name: str
    member_id: int
    peer_url: str
    client_url: str
    version: str = "3.5.9"
    db_size: int = 80 * 1024 * 1024
    db_size_in_use: int = 60 * 1024 * 1024
    raft_index: int = 1_000_000
    raft_applied_index: int = 1_000_000
    is_learner: bool = False
    running: bool = True  # the etcd container is up and the member answers
    defragging: bool = False  # a member being defragmented answers nothing until done
    # a defrag under way or queued (tui.drill.faults): simulated (start, end) epoch seconds;
    # `defragging` turns on at start, and at end the file shrinks to about what is in use
    defrag_window: tuple[float, float] | None = None
    # bytes a compaction freed that still read as in use (dbSizeInUse): bbolt releases the
    # pages a write transaction frees only at a later write, and under NOSPACE none comes.
    # Real etcd keeps what its last compaction batch (1,000 revisions) freed, which for a short
    # history is all of it (a 2.5 MB file in the 3.4 lab read 36% fragmented; a defrag left
    # 20 KB); the drill keeps it all, the worst case an operator can meet
    freed_unreleased: int = 0

    @property
    def reported_in_use(self) -> int:
        """dbSizeInUse as etcd reports it."""
        return min(self.db_size, self.db_size_in_use + self.freed_unreleased)


@dataclass
class EtcdCluster:
    cluster_id: int
    members: list[EtcdMember]
    leader_id: int | None
    raft_term: int = 8
    revision: int = 900_000
    quota_backend_bytes: int = 8 * 1024 * 1024 * 1024  # OpenShift sets 8 GiB
    alarms: list[tuple[int, str]] = field(default_factory=list)  # (member_id, "NOSPACE"|"CORRUPT")
    compact_revision: int = 0  # history before this revision is gone (etcdctl compact)
    # when the leader moves on its own once (scenario etcd.leader_moves_after_seconds):
    # simulated epoch seconds, None = never (tui.drill.faults.tick applies it)
    leader_move_at: float | None = None
    # how fast a member rewrites its file in a defrag (scenario etcd.defrag_mb_per_s)
    defrag_bytes_per_second: float = 100 * 1024 * 1024

    def member(self, member_id: int) -> EtcdMember | None:
        return next((m for m in self.members if m.member_id == member_id), None)

    def member_by_name(self, name: str) -> EtcdMember | None:
        return next((m for m in self.members if m.name == name), None)

    def member_by_client_url(self, url: str) -> EtcdMember | None:
        url = url.rstrip("/")
        return next((m for m in self.members if m.client_url == url), None)

    def voting_members(self) -> list[EtcdMember]:
        return [m for m in self.members if not m.is_learner]

    def answering(self, member: EtcdMember) -> bool:
        return member.running and not member.defragging

    def has_quorum(self) -> bool:
        voters = self.voting_members()
        up = [m for m in voters if m.running]
        return len(up) * 2 > len(voters)

    def leader(self) -> EtcdMember | None:
        if self.leader_id is None or not self.has_quorum():
            return None
        m = self.member(self.leader_id)
        return m if m and m.running else None

    def elect(self, rng: random.Random | None = None) -> None:
        """Re-elect when the leader is gone (new term), as raft would."""
        if not self.has_quorum():
            self.leader_id = None
            return
        current = self.member(self.leader_id) if self.leader_id is not None else None
        if current and current.running and not current.is_learner:
            return
        candidates = [m for m in self.voting_members() if m.running]
        chosen = (rng or random).choice(candidates)
        self.leader_id = chosen.member_id
        self.raft_term += 1


@dataclass
class Container:
    """A container as `crictl ps` lists it."""
    name: str
    pod: str
    image: str = "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:0000"
    state: str = "Running"  # Running | Exited
    container_id: str = ""
    pod_id: str = ""
    created: float = 0.0
    attempt: int = 0
    namespace: str = ""  # the pod's namespace (crictl pods, io.kubernetes.pod.namespace label)


@dataclass
class DrillHost:
    """A simulated host: its files, its containers and whether it answers at all."""
    name: str
    address: str
    role: str = "control-plane"  # control-plane | worker
    up: bool = True  # False: the machine is gone (SSH connections are refused)
    sudo_nopasswd: bool = True
    files: dict[str, bytes] = field(default_factory=dict)  # absolute path -> contents
    dirs: set[str] = field(default_factory=set)  # absolute paths of directories
    containers: list[Container] = field(default_factory=list)
    kubelet_running: bool = True
    ip_addresses: list[tuple[str, str]] = field(default_factory=list)  # (device, cidr)
    log: list[str] = field(default_factory=list)  # journal-like lines the host "printed"
    ssh_port: int = 0  # set by the lab when its SSH server listens
    # Filesystem metadata beside `files`/`dirs` (tui.drill.vfs). A path missing from
    # these maps gets what a real RHCOS node has there (root-owned, 0644/0755, 0600 under
    # /etc/kubernetes, /var/lib/etcd, /var/lib/kubelet).
    links: dict[str, str] = field(default_factory=dict)  # symlink path -> target
    modes: dict[str, int] = field(default_factory=dict)  # path -> permission bits
    owners: dict[str, str] = field(default_factory=dict)  # path -> "root" | "core"
    mtimes: dict[str, float] = field(default_factory=dict)  # path -> simulated epoch seconds
    sizes: dict[str, int] = field(default_factory=dict)  # apparent size of stand-in contents
    kubelet_since: float = 0.0  # when kubelet last started (systemctl status)
    # kubelet's static-pod work in progress: "manifest/container" -> when it was noticed
    kubelet_pending: dict[str, float] = field(default_factory=dict)
    # what kubelet.sync_host last found with nothing to do (None: it had something)
    kubelet_steady: tuple | None = field(default=None, repr=False, compare=False)
    # kubelet's client/serving certificates: "valid"; "stale" (rotated after the backup was
    # taken: after a restore the node is NotReady until its PEMs are deleted and kubelet
    # restarts, RST-09/RST-10); "bootstrapping" (kubelet restarted without PEMs: it asks for
    # new ones by CSR, RST-11)
    kubelet_certs: str = "valid"
    # static pods kubelet is stuck on (live fault injection, tui.drill.inject): manifest file
    # names whose containers neither stop nor start until released
    stalled_pods: set[str] = field(default_factory=set)

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name and c.state == "Running"), None)


@dataclass
class OperatorState:
    """One static-pod operator's CR (operator.openshift.io/v1 etcds, kubeapiservers,
    kubecontrollermanagers, kubeschedulers `cluster`) and its revision rollout
    (tui.drill.controllers moves it on)."""
    plural: str
    latest: int  # status.latestAvailableRevision
    node_revisions: dict[str, int] = field(default_factory=dict)  # node -> currentRevision
    spec: dict = field(default_factory=dict)  # patched spec fields (merge-patch semantics)
    generation: int = 2
    installing: str | None = None  # the node the installer works on now
    installing_since: float = 0.0
    # when the next node's install may count from (the revision's creation, or the previous
    # node's end), so a coarse tick does not stretch a rollout; None = from when it is seen
    next_start: float | None = None
    # etcd only: this rollout may add members on control-plane hosts without etcd (the
    # quorum guard was off when it began after a restore, or 4.18+)
    scale_up: bool = False
    force_changed_at: float | None = None  # when forceRedeploymentReason last changed


@dataclass
class Machine:
    """A machine.openshift.io/v1beta1 Machine of openshift-machine-api."""
    name: str
    host: str  # the drill host it is (or will be) the instance of
    role: str  # master | worker
    phase: str  # Provisioning | Provisioned | Running | Deleting | Failed
    created: float
    phase_since: float
    instance: str = ""  # provider instance ID (the providerID's last part)
    # the machine that replaces this one once its deletion is through (name decided at once)
    replacement: str | None = None


@dataclass
class Csr:
    """A certificates.k8s.io/v1 CertificateSigningRequest."""
    name: str
    signer: str  # kubernetes.io/kube-apiserver-client-kubelet | kubernetes.io/kubelet-serving
    username: str
    groups: list[str]
    usages: list[str]
    created: float
    node: str | None = None  # the drill host that asked (None: scenario extras)
    approved_at: float | None = None
    denied: bool = False


@dataclass
class PodRecord:
    """A pod the drill's controllers manage through the API (OVN-Kubernetes pods): its
    current name, when it was created and when it runs (None = not yet: Pending)."""
    app: str
    node: str
    name: str
    created: float
    running_at: float | None = None


@dataclass
class ApiState:
    """What the simulated OpenShift API serves (objects shaped like real clusters')."""
    reachable: bool = True
    version: str = "4.12.30"
    encryption_type: str = ""  # "" | identity | aescbc | aesgcm
    # Encrypted condition per operator: {"status","reason","message"}; None = condition absent
    encrypted: dict[str, dict | None] = field(default_factory=dict)
    etcd_revision: int = 7
    etcd_conditions: dict[str, dict] = field(default_factory=dict)
    node_ready: dict[str, bool] = field(default_factory=dict)
    proxy: dict[str, str] = field(default_factory=dict)
    token: str = ""  # bearer token the API accepts; never logged
    # a kube-apiserver revision rollout is under way (its clusteroperator is Progressing):
    # cluster-backup.sh refuses to run then, unless given --force
    rollout_in_progress: bool = False
    # the encryption migration tui.drill.encryption drives: when the current encryption or
    # decryption began (simulated epoch seconds; None = settled), how long the slowest
    # operator takes, and the Encrypted conditions as they were when it began
    encryption_since: float | None = None
    encryption_minutes: float = 20.0
    encryption_from: dict[str, dict | None] = field(default_factory=dict)
    # --- what the restore touches (tui.drill.objects serves it, tui.drill.controllers moves
    # it on with the clock)
    network_type: str = "OVNKubernetes"  # | OpenShiftSDN
    platform: str = "AWS"  # infrastructure status.platformStatus.type: AWS | BareMetal | None
    # infrastructure status.controlPlaneTopology: "" = what the control plane's size says
    # (HighlyAvailable, or SingleReplica for one host); "DualReplica" = two nodes with
    # fencing, whose etcd Pacemaker runs (tui.drill.pacemaker)
    topology: str = ""
    api_vips: list[str] = field(default_factory=list)  # BareMetal: apiServerInternalIPs
    ingress_vips: list[str] = field(default_factory=list)
    operators: dict[str, OperatorState] = field(default_factory=dict)  # by plural
    machines: list[Machine] = field(default_factory=list)
    csrs: list[Csr] = field(default_factory=list)
    pods: dict[tuple[str, str], PodRecord] = field(default_factory=dict)  # (app, node)
    node_deleted: dict[str, float] = field(default_factory=dict)  # Node deleted at (sim time)
    node_created: dict[str, float] = field(default_factory=dict)  # Node registered at
    persistent_volumes: list[dict] = field(default_factory=list)  # scenario-shaped PV specs
    webhooks: list[dict] = field(default_factory=list)  # {name, kind, failure_policy, ...}
    # controllers' bookkeeping
    bootstrap_since: dict[str, float] = field(default_factory=dict)  # host -> certs asked
    members_complete_since: float | None = None  # every control-plane host runs a member
    learner_running_since: dict[int, float] = field(default_factory=dict)
    installed_at: float = 0.0  # simulated time the cluster was installed (objects' ages)
    serial: int = 0  # for new object names (csr-xxxxx, pod suffixes)

    @property
    def release(self) -> tuple[int, int]:
        """(major, minor) of the cluster's OpenShift version; 4.12 when it cannot be read."""
        return openshift_minor(self.version) or (4, 12)


@dataclass
class DrillCluster:
    name: str
    clock: SimClock
    hosts: list[DrillHost]
    etcd: EtcdCluster
    api: ApiState
    scenario: str = "healthy"
    description: str = ""
    listeners: list[Callable[[], None]] = field(default_factory=list)
    options: dict = field(default_factory=dict)  # the scenario's `restore:` mapping
    restored_at: float | None = None  # simulated time the last restore script ran
    # called with a host whose machine went away or came back (tui.drill.controllers):
    # the lab starts or stops that host's SSH server
    host_hooks: list[Callable[["DrillHost"], None]] = field(default_factory=list)

    def host(self, name: str) -> DrillHost | None:
        return next((h for h in self.hosts if h.name == name), None)

    def host_by_address(self, address: str) -> DrillHost | None:
        return next((h for h in self.hosts if h.address == address), None)

    def member_of(self, host: DrillHost) -> EtcdMember | None:
        return self.etcd.member_by_name(host.name)

    def control_plane(self) -> list[DrillHost]:
        return [h for h in self.hosts if h.role == "control-plane"]

    def changed(self) -> None:
        """Call after a change so derived state (leader, API conditions) follows it."""
        self.etcd.elect()
        for listener in list(self.listeners):
            listener()
