"""`etcd-dr init` from start to end, without the command line: read the cluster through its
kubeconfig (or a drill started for it), write the inventory's text, check SSH to every host
and trust host keys as the policy says.

Outcome (the CLI's exit code): 0 every host answers SSH with a trusted key; 1 the inventory
is written but some hosts need attention (each said, with what to do); a DiscoveryError or
ConfigError (exit 2) before anything is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from tui.cluster.api import ClusterApi
from tui.discover import DiscoveredCluster, InitSettings, discover, fetch_objects, render_inventory
from tui.errors import ConfigError
from tui.hostcheck import Ask, HostCheck, TrustPolicy, choose, look, trust
from tui.inventory import expand_path, jump_problem, name_problem, parse_inventory, user_problem
from tui.journal import Journal, check_journal_path, default_journal_dir
from tui.secrets import register, register_url


@dataclass(frozen=True)
class InitRequest:
    kubeconfig: str | None = None  # None with a drill scenario
    context: str | None = None
    scenario: str | None = None  # --drill: start this scenario's simulated cluster
    drill_workdir: str | None = None  # where the drill's key and kubeconfig go (None: temp)
    known_hosts: str | None = None  # None: ~/.ssh/known_hosts (a drill: its own)
    identity_file: str | None = None
    jump: str | None = None
    user: str | None = None  # ssh.user (None: core, RHCOS's user)
    port: int | None = None  # ssh.port (None: 22)
    name: str | None = None
    workers: bool = False
    policy: TrustPolicy = TrustPolicy.NEVER
    journal: str | None = None  # where trusts are journaled (None: the journal directory)


@dataclass
class InitResult:
    text: str
    cluster: DiscoveredCluster
    checks: list[HostCheck] = field(default_factory=list)
    journal: Path | None = None

    @property
    def problems(self) -> list[HostCheck]:
        return [c for c in self.checks if not c.ready]

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0


def kubeconfig_context(path: str) -> str | None:
    """The kubeconfig's current-context (the inventory fixes it, so a later `oc login`
    elsewhere does not move the inventory to another cluster); its tokens and passwords
    become secrets no output of this process shows."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("the kubeconfig does not exist", where=path,
                          hint="Give --kubeconfig the cluster's kubeconfig file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot read the kubeconfig ({e.__class__.__name__})", where=path,
                          hint="Give --kubeconfig the cluster's kubeconfig file") from None
    if not isinstance(doc, dict):
        raise ConfigError("the kubeconfig is not a kubeconfig (no mapping)", where=path,
                          hint="Give --kubeconfig the cluster's kubeconfig file")
    for entry in doc.get("users") or []:
        user = entry.get("user") if isinstance(entry, dict) else None
        if isinstance(user, dict):
            register(*(str(user[k]) for k in ("token", "password", "client-key-data")
                       if user.get(k)))
    for entry in doc.get("clusters") or []:
        cluster = entry.get("cluster") if isinstance(entry, dict) else None
        if isinstance(cluster, dict) and isinstance(cluster.get("server"), str):
            register_url(cluster["server"])
    current = doc.get("current-context")
    return str(current) if current else None


def default_init_journal(cluster: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return default_journal_dir() / f"{cluster}-init-{stamp}.jsonl"


def check_request(request: InitRequest) -> None:
    """What the command line gave, checked before the API is asked anything (the inventory
    would refuse the same, naming a file the operator has not seen yet)."""
    if request.journal:
        check_journal_path(request.journal)
    if request.jump is not None and (problem := jump_problem(request.jump)):
        raise ConfigError(f"--jump {request.jump!r}: {problem}",
                          hint="Write it as [user@]host[:port], e.g. core@bastion.example.com:22")
    if request.user is not None and (problem := user_problem(request.user)):
        raise ConfigError(f"--ssh-user {problem}",
                          hint="Give the user etcd-dr logs in as on the hosts, e.g. core")
    if request.port is not None and not 1 <= request.port <= 65535:
        raise ConfigError(f"--ssh-port {request.port} is not a TCP port (1-65535)",
                          hint="Give the port the hosts' sshd listens on, e.g. 22")
    if request.identity_file is not None:
        path = expand_path(request.identity_file)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConfigError(f"--identity-file: {path} is not a readable file",
                              hint="Give the SSH private key's path, or leave it out to use "
                                   "the agent and ~/.ssh")
    if request.known_hosts is not None:
        path = expand_path(request.known_hosts)
        if os.path.exists(path) and not os.path.isfile(path):
            raise ConfigError(f"--known-hosts: {path} is not a regular file",
                              hint="Give the path of a known_hosts file (it may not exist yet)")
    if request.name is not None and (problem := name_problem(request.name)):
        raise ConfigError(f"--name {problem}", hint="Give the cluster's name, e.g. prod-east")


def drill_settings(lab, request: InitRequest) -> InitSettings:
    """How a drill's hosts are reached, as its own inventory says: its key, an empty
    ssh_config, and the loopback ports its SSH servers listen on (no Node object can tell
    them); its known_hosts unless another is given."""
    return InitSettings(
        kubeconfig=str(lab.kubeconfig_path), context="admin",
        known_hosts=request.known_hosts or str(lab.known_hosts_path),
        identity_file=request.identity_file or str(lab.key_path),
        ssh_config=str(lab.ssh_config_path), jump=request.jump, connect_timeout="5s",
        host_ports={h.address: h.ssh_port for h in lab.cluster.hosts})


class InitSession:
    """One `etcd-dr init`, in phases the caller runs in order on one event loop: `start`
    (a drill if asked, discovery, the inventory's first text), `look` (SSH to each host),
    then, outside the loop, hostcheck.choose (the operator's answers), then `finish` (trust
    what was chosen, the final text); `close` in every case."""

    def __init__(self, request: InitRequest, *, say: Callable[[str], None] = lambda _: None,
                 lab=None):
        self.request = request
        self.say = say
        self.lab = lab  # a started DrillLab to discover, else one started for a scenario
        self._own_lab = False
        self.found: DiscoveredCluster | None = None
        self.settings: InitSettings | None = None
        self.inventory = None
        self.checks: list[HostCheck] = []
        self.journal_path: Path | None = None

    async def start(self) -> None:
        request = self.request
        check_request(request)
        if self.lab is None and request.scenario is not None:
            from tui.drill.lab import DrillLab  # start-up: the drill only when asked for

            self.lab = DrillLab(request.scenario, workdir=request.drill_workdir)
            self._own_lab = True
            await self.lab.start()
            self.say(f"drill cluster {self.lab.cluster.name} (scenario "
                     f"{self.lab.cluster.scenario}) started for init; it stops when init ends")
        if self.lab is not None:
            settings = drill_settings(self.lab, request)
            kubeconfig_context(settings.kubeconfig)  # its token: a secret from now on
        else:
            assert request.kubeconfig is not None
            kubeconfig = os.path.abspath(expand_path(request.kubeconfig))
            current = kubeconfig_context(kubeconfig)
            settings = InitSettings(
                kubeconfig=kubeconfig, context=request.context or current,
                known_hosts=request.known_hosts or "~/.ssh/known_hosts",
                identity_file=request.identity_file, jump=request.jump)
        if request.user is not None:
            settings = replace(settings, user=request.user)
        if request.port is not None:
            settings = replace(settings, port=request.port)
        if settings.known_hosts:
            settings = replace(settings, known_hosts=_absolute(settings.known_hosts))
        if settings.identity_file:
            settings = replace(settings, identity_file=os.path.abspath(
                expand_path(settings.identity_file)))
        self.settings = settings
        api = ClusterApi(settings.kubeconfig, settings.context, read_only=True, timeout=10.0)
        try:
            objects = await fetch_objects(api)
        finally:
            await api.close()
        found = discover(clusterversion=objects.clusterversion,
                         infrastructure=objects.infrastructure, nodes=objects.nodes,
                         proxy=objects.proxy, name=request.name, workers=request.workers)
        self.found = found
        hosts = ", ".join(f"{h.name} {h.address}" + ("" if h.role == "control-plane" else
                                                     f" ({h.role})") for h in found.hosts)
        self.say(f"cluster {found.name}: {found.version or 'version unknown'}, "
                 f"{found.platform or 'platform unknown'}, {found.topology}; hosts: {hosts}")
        for warning in found.warnings:
            self.say(f"warning: {warning}")
        # the file must load as it will be loaded later: the same checks, now
        self.inventory = parse_inventory(render_inventory(found, settings), _SOURCE)

    async def look(self) -> list[HostCheck]:
        inv = self.inventory
        self.say(f"checking SSH to {len(inv.hosts)} host(s) as {inv.ssh.user} (known_hosts "
                 f"{inv.ssh.known_hosts})")
        self.checks = await look(inv)
        return self.checks

    def choose(self, ask: Ask | None = None) -> dict[str, str]:
        return choose(self.checks, self.request.policy, self.inventory.ssh.known_hosts, ask)

    async def finish(self, chosen: dict[str, str]) -> InitResult:
        def journal_for() -> Journal:
            self.journal_path = Path(self.request.journal) if self.request.journal else \
                default_init_journal(self.found.name)
            return Journal(self.journal_path, "init")

        await trust(self.inventory, self.checks, chosen, journal_for=journal_for)
        text = render_inventory(self.found, self.settings,
                                host_notes={c.name: c.note() for c in self.checks})
        parse_inventory(text, _SOURCE)
        return InitResult(text, self.found, self.checks, self.journal_path)

    async def close(self) -> None:
        if self._own_lab and self.lab is not None:
            await self.lab.stop()


_SOURCE = "<the inventory init writes>"


async def run_init(request: InitRequest, *, ask: Ask | None = None,
                   say: Callable[[str], None] = lambda _: None, lab=None) -> InitResult:
    """Every phase on this loop (tests, and callers without a prompt to run outside it)."""
    session = InitSession(request, say=say, lab=lab)
    try:
        await session.start()
        await session.look()
        return await session.finish(session.choose(ask))
    finally:
        await session.close()


def _absolute(path: str) -> str:
    """A path the inventory names, absolute unless written from the home directory."""
    if path.startswith("~"):
        return path
    return os.path.abspath(expand_path(path))
