"""crictl as OpenShift 4.12-4.17 nodes ship it (cri-tools 1.25-1.30, CRI-O socket), and the
etcdctl that `crictl exec` reaches inside the etcd pod's containers."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from datetime import datetime, timezone

import yaml

from tui.drill import kubelet
from tui.drill.etcdctl import run_etcdctl
from tui.drill.model import Container, DrillHost
from tui.drill.programs import CommandContext, Input, command

CRIO_SOCKET = "unix:///var/run/crio/crio.sock"
CRICTL_VERSION = "v1.26.0"


class _Fatal(Exception):
    """crictl's logrus.Fatal: one `level=fatal` line on stderr, exit status 1."""


def _fatal_line(ctx: CommandContext, msg: str) -> str:
    ts = datetime.fromtimestamp(ctx.cluster.clock.now(), timezone.utc)
    # logrus' text format without a terminal (an SSH exec channel has none)
    return f'time="{ts.strftime("%Y-%m-%dT%H:%M:%SZ")}" level=fatal msg={json.dumps(msg)}\n'


def human_duration(seconds: float) -> str:
    """docker/go-units HumanDuration, as crictl's CREATED column uses it."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(round(seconds / 3600))
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def tabwrite(rows: list[list[str]], minwidth: int = 20, padding: int = 3) -> str:
    """Go's text/tabwriter as crictl configures it (minwidth 20, padding 3, spaces): every
    cell but a row's last is padded to its column's width."""
    ncols = max(len(r) for r in rows)
    widths = []
    for i in range(ncols - 1):
        cells = [len(r[i]) for r in rows if len(r) > i + 1]
        widths.append(max([minwidth] + [c + padding for c in cells]))
    out = []
    for r in rows:
        line = "".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])) + r[-1]
        out.append(line + "\n")
    return "".join(out)


def _labels(c: Container) -> dict[str, str]:
    return {"io.kubernetes.container.name": c.name, "io.kubernetes.pod.name": c.pod,
            "io.kubernetes.pod.namespace": c.namespace,
            "io.kubernetes.pod.uid": c.pod_id[:8] + "-" + c.pod_id[8:12] + "-" +
            c.pod_id[12:16] + "-" + c.pod_id[16:20] + "-" + c.pod_id[20:32]}


def _image_column(host: DrillHost, c: Container) -> str:
    """What the IMAGE column shows. On real nodes static pods' containers show a bare image
    ID and other pods' the full pull spec, which makes the column very wide (see the sample
    `crictl ps` line in the restore documentation)."""
    static = any(c.pod == kubelet.pod_name(spec, host) for spec in kubelet.STATIC_PODS.values())
    m = re.search(r"@sha256:([0-9a-f]{64})$", c.image)
    return m.group(1) if m and static else c.image


# --- urfave/cli-style flags ------------------------------------------------------------------


def _parse(args: list[str], spec: dict[str, tuple[tuple[str, ...], bool]]):
    """spec: canonical name -> (aliases incl. itself, takes_value). Stops at the first
    positional argument, as Go's flag package does. Returns (values, positionals)."""
    lookup = {a: (name, takes) for name, (aliases, takes) in spec.items() for a in aliases}
    values: dict[str, list[str] | bool] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            return values, args[i + 1:]
        if not a.startswith("-") or a == "-":
            return values, args[i:]
        body = a.lstrip("-")
        name, eq, value = body.partition("=")
        if name not in lookup and a.startswith("-") and not a.startswith("--") and len(body) > 1 \
                and all(ch in lookup and not lookup[ch][1] for ch in body):
            for ch in body:  # -aq: short options combined
                values[lookup[ch][0]] = True
            i += 1
            continue
        if name not in lookup:
            raise _Fatal(f"flag provided but not defined: {a.split('=')[0]}")
        canon, takes = lookup[name]
        if takes:
            if not eq:
                i += 1
                if i >= len(args):
                    raise _Fatal(f"flag needs an argument: {a}")
                value = args[i]
            values.setdefault(canon, [])
            values[canon].append(value)  # type: ignore[union-attr]
        else:
            values[canon] = value.lower() not in ("false", "0") if eq else True
        i += 1
    return values, []


def _one(values: dict, name: str, default: str | None = None) -> str | None:
    v = values.get(name)
    return v[-1] if isinstance(v, list) and v else default


# --- listing ---------------------------------------------------------------------------------

PS_FLAGS = {
    "all": (("all", "a"), False), "quiet": (("quiet", "q"), False),
    "name": (("name",), True), "state": (("state", "s"), True), "label": (("label",), True),
    "pod": (("pod", "p"), True), "image": (("image",), True), "id": (("id",), True),
    "latest": (("latest", "l"), False), "last": (("last", "n"), True),
    "output": (("output", "o"), True), "no-trunc": (("no-trunc",), False),
    "verbose": (("verbose", "v"), False), "resolve-image-path": (("resolve-image-path", "r"), False),
}
STATES = {"created": None, "running": "Running", "exited": "Exited", "unknown": None}


def select_containers(host: DrillHost, values: dict) -> list[Container]:
    state = _one(values, "state")
    if state is not None and state.lower() not in STATES:
        raise _Fatal("listing containers: --state should be one of created, running, exited "
                     "or unknown")
    rx = None
    name = _one(values, "name")
    if name:
        try:
            rx = re.compile(name)
        except re.error as e:
            raise _Fatal(f"listing containers: error parsing regexp: {e}") from None
    labels = {}
    for spec in values.get("label") or []:
        k, eq, v = spec.partition("=")
        if not eq:
            raise _Fatal(f"listing containers: incorrectly specified label: {spec}")
        labels[k] = v
    out = []
    for c in host.containers:
        if state is not None:
            if STATES[state.lower()] != c.state:
                continue
        elif not values.get("all") and c.state != "Running":
            continue
        if rx and not rx.search(c.name):
            continue
        if labels and any(_labels(c).get(k) != v for k, v in labels.items()):
            continue
        pod = _one(values, "pod")
        if pod and not c.pod_id.startswith(pod):
            continue
        cid = _one(values, "id")
        if cid and not c.container_id.startswith(cid):
            continue
        image = _one(values, "image")
        if image and image not in c.image:
            continue
        out.append(c)
    out.sort(key=lambda c: -c.created)
    if values.get("latest"):
        out = out[:1]
    last = _one(values, "last")
    if last and last.isdigit() and int(last) > 0:
        out = out[:int(last)]
    return out


def _state_enum(c: Container) -> str:
    return "CONTAINER_RUNNING" if c.state == "Running" else "CONTAINER_EXITED"


async def _ps(ctx: CommandContext, args: list[str]) -> int:
    values, _ = _parse(args, PS_FLAGS)
    containers = select_containers(ctx.host, values)
    output = _one(values, "output", "table")
    if output in ("json", "yaml"):
        doc = {"containers": [{
            "id": c.container_id, "podSandboxId": c.pod_id,
            "metadata": {"name": c.name, "attempt": c.attempt},
            "image": {"image": c.image, "annotations": {}}, "imageRef": c.image,
            "state": _state_enum(c), "createdAt": str(int(c.created * 1e9)),
            "labels": _labels(c),
            "annotations": {"io.kubernetes.container.restartCount": str(c.attempt),
                            "io.kubernetes.container.terminationMessagePolicy": "FallbackToLogsOnError"},
        } for c in containers]}
        if output == "json":
            ctx.out(json.dumps(doc, indent=2) + "\n")
        else:

            ctx.out(yaml.safe_dump(doc, sort_keys=False))
        return 0
    if output != "table":
        raise _Fatal(f'unsupported output format "{output}"')
    if values.get("quiet"):
        ctx.out("".join(c.container_id + "\n" for c in containers))
        return 0
    now = ctx.cluster.clock.now()
    trunc = not values.get("no-trunc")
    rows = [["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"]]
    for c in containers:
        created = c.created or now - 86400  # containers a scenario made without a time
        rows.append([c.container_id[:13] if trunc else c.container_id,
                     _image_column(ctx.host, c) if trunc else c.image,
                     human_duration(now - created) + " ago", c.state, c.name,
                     str(c.attempt), c.pod_id[:13] if trunc else c.pod_id, c.pod])
    ctx.out(tabwrite(rows))
    return 0


PODS_FLAGS = {
    "quiet": (("quiet", "q"), False), "name": (("name",), True),
    "namespace": (("namespace",), True), "state": (("state", "s"), True),
    "label": (("label",), True), "id": (("id",), True), "latest": (("latest", "l"), False),
    "last": (("last", "n"), True), "output": (("output", "o"), True),
    "no-trunc": (("no-trunc",), False), "verbose": (("verbose", "v"), False),
}


async def _pods(ctx: CommandContext, args: list[str]) -> int:
    values, _ = _parse(args, PODS_FLAGS)
    pods: dict[str, dict] = {}
    for c in ctx.host.containers:
        p = pods.setdefault(c.pod_id, {"id": c.pod_id, "name": c.pod, "ns": c.namespace,
                                       "created": c.created, "ready": False})
        p["created"] = min(p["created"], c.created)
        p["ready"] = p["ready"] or c.state == "Running"
    items = sorted(pods.values(), key=lambda p: -p["created"])
    name = _one(values, "name")
    ns = _one(values, "namespace")
    state = _one(values, "state")
    pid = _one(values, "id")
    if name:
        items = [p for p in items if re.search(name, p["name"])]
    if ns:
        items = [p for p in items if re.search(ns, p["ns"])]
    if state:
        if state.lower() not in ("ready", "notready"):
            raise _Fatal("listing pod sandboxes: --state should be ready or notready")
        items = [p for p in items if p["ready"] == (state.lower() == "ready")]
    if pid:
        items = [p for p in items if p["id"].startswith(pid)]
    if values.get("latest"):
        items = items[:1]
    if values.get("quiet"):
        ctx.out("".join(p["id"] + "\n" for p in items))
        return 0
    now = ctx.cluster.clock.now()
    trunc = not values.get("no-trunc")
    rows = [["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]]
    for p in items:
        rows.append([p["id"][:13] if trunc else p["id"],
                     human_duration(now - p["created"]) + " ago",
                     "Ready" if p["ready"] else "NotReady", p["name"], p["ns"], "0", "(default)"])
    ctx.out(tabwrite(rows))
    return 0


def find_container(host: DrillHost, cid: str) -> Container | None:
    if not cid:
        return None
    matches = [c for c in host.containers if c.container_id.startswith(cid)]
    return matches[0] if len(matches) == 1 else None


def _not_found(cid: str) -> str:
    if not cid:
        return 'rpc error: code = NotFound desc = could not find container "": container ID ' \
               'should not be empty'
    return (f'rpc error: code = NotFound desc = could not find container "{cid}": container '
            f'with ID starting with {cid} not found: ID does not exist')


# --- exec ------------------------------------------------------------------------------------

EXEC_FLAGS = {
    "interactive": (("interactive", "i"), False), "tty": (("tty", "t"), False),
    "sync": (("sync", "s"), False), "timeout": (("timeout",), True),
    "transport": (("transport", "r"), True), "quiet": (("quiet", "q"), False),
}
EXEC_HELP = """NAME:
   crictl exec - Run a command in a running container

USAGE:
   crictl exec [command options] CONTAINER-ID COMMAND [ARG...]

OPTIONS:
   --interactive, -i  Keep STDIN open (default: false)
   --sync, -s         Run the command synchronously (default: false)
   --timeout value    Timeout in seconds (default: 0)
   --tty, -t          Allocate a pseudo-TTY (default: false)
   --help, -h         show help
"""

# filesystems of the containers' images, kept per container while the drill runs
_ROOTFS: dict[str, DrillHost] = {}


def _rootfs(host: DrillHost, c: Container) -> DrillHost:
    fs = _ROOTFS.get(c.container_id)
    if fs is None:
        fs = DrillHost(name=host.name, address=host.address, role=host.role)
        fs.dirs |= {"/", "/tmp", "/root", "/etc", "/usr", "/usr/bin", "/var", "/var/lib",
                    "/var/lib/etcd", "/etc/kubernetes", "/etc/kubernetes/static-pod-certs",
                    "/etc/kubernetes/static-pod-resources"}
        fs.files["/etc/hostname"] = (host.name + "\n").encode()
        fs.files["/etc/redhat-release"] = b"Red Hat Enterprise Linux release 8.6 (Ootpa)\n"
        _ROOTFS[c.container_id] = fs
    return fs


async def _exec(ctx: CommandContext, args: list[str]) -> int:
    values, rest = _parse(args, EXEC_FLAGS)
    if len(rest) < 2:
        ctx.out(EXEC_HELP)
        return 0
    cid, cmd = rest[0], rest[1:]
    c = find_container(ctx.host, cid)
    if c is None:
        raise _Fatal("execing command in container: " + _not_found(cid))
    if c.state != "Running":
        raise _Fatal("execing command in container: rpc error: code = Unknown desc = "
                     "container is not created or running")
    interactive = bool(values.get("interactive"))
    if values.get("tty"):
        if not interactive:
            raise _Fatal("execing command in container: tty=true must be specified with "
                         "interactive=true")
        if not ctx.session.tty:
            raise _Fatal("execing command in container: input is not a terminal")
    env = kubelet.container_env(ctx.cluster, ctx.host, c)
    session = dataclasses.replace(ctx.session, stdout=ctx.stdout, stderr=ctx.stderr,
                                  env=dict(env), user="root", cwd="/", container=c,
                                  fs=_rootfs(ctx.host, c), vars={})
    stdin = ctx.stdin if interactive else Input("")
    status = await session.run_program(cmd, env, stdin, ctx.stdout, ctx.stderr,
                               shell_builtins=False, not_found="none")
    if status is None:
        ctx.err(f'time="{_ts(ctx)}" level=error msg="exec failed: unable to start container '
                f'process: exec: \\"{cmd[0]}\\": executable file not found in $PATH"\n')
        status = 127
    if status != 0:
        raise _Fatal(f"execing command in container: command terminated with exit code "
                     f"{status}")
    return 0


def _ts(ctx: CommandContext) -> str:
    return datetime.fromtimestamp(ctx.cluster.clock.now(), timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


@command("etcdctl", host=False, container=True)
async def etcdctl(ctx: CommandContext, argv: list[str]) -> int:
    """etcdctl inside the etcd pod: the drill's etcd answers (tui.drill.etcdctl)."""
    result = run_etcdctl(argv[1:], dict(ctx.env), ctx.cluster, ctx.host)
    if inspect.isawaitable(result):
        result = await result
    status, out, err = result
    ctx.out(out)
    ctx.err(err)
    return status


# --- logs / stop / version -------------------------------------------------------------------


def _zap(fields: dict) -> str:
    return json.dumps(fields, separators=(",", ":"))


async def _logs(ctx: CommandContext, args: list[str]) -> int:
    values, rest = _parse(args, {"tail": (("tail",), True), "follow": (("follow", "f"), False),
                                 "timestamps": (("timestamps", "t"), False),
                                 "previous": (("previous", "p"), False),
                                 "since": (("since",), True)})
    if not rest:
        raise _Fatal("ID cannot be empty")
    c = find_container(ctx.host, rest[0])
    if c is None:
        raise _Fatal(_not_found(rest[0]))
    if values.get("follow"):
        raise _Fatal("following logs (-f) is not available in this drill build")
    t = datetime.fromtimestamp(c.created, timezone.utc)
    stamp = t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(c.created * 1000) % 1000:03d}Z"
    if c.name == "etcd":
        lines = [
            _zap({"level": "info", "ts": stamp, "caller": "etcdmain/etcd.go:73",
                        "msg": "Running: ", "args": ["etcd", "--logger=zap",
                                                     "--log-level=info"]}),
            _zap({"level": "info", "ts": stamp, "caller": "etcdserver/server.go:2068",
                        "msg": "published local member to cluster through raft",
                        "local-member-attributes": f"{{Name:{ctx.host.name}}}"}),
            _zap({"level": "info", "ts": stamp, "caller": "embed/serve.go:146",
                        "msg": "serving client traffic securely", "address": "[::]:2379"}),
        ]
    else:
        klog = t.strftime("I%m%d %H:%M:%S.") + f"{int(c.created * 1e6) % 1000000:06d}"
        lines = [f"{klog}       1 main.go:43] {c.name} starting",
                 f"{klog}       1 main.go:61] {c.name} started"]
    tail = _one(values, "tail")
    if tail and tail.lstrip("-").isdigit() and int(tail) >= 0:
        lines = lines[-int(tail):] if int(tail) else []
    ctx.err("".join(line + "\n" for line in lines))
    return 0


async def _stop(ctx: CommandContext, args: list[str]) -> int:
    _, rest = _parse(args, {"timeout": (("timeout", "t"), True)})
    if not rest:
        raise _Fatal("ID cannot be empty")
    for cid in rest:
        c = find_container(ctx.host, cid)
        if c is None:
            raise _Fatal(f'stopping the container "{cid}": {_not_found(cid)}')
        if c.state == "Running":
            c.state = "Exited"
            kubelet.container_stopped(ctx.cluster, ctx.host, c)
        ctx.out(cid + "\n")
    return 0


async def _version(ctx: CommandContext, args: list[str]) -> int:
    minor = _ocp_minor(ctx)
    ctx.out(f"Version:  0.1.0\nRuntimeName:  cri-o\nRuntimeVersion:  1.{minor + 13}.0\n"
            "RuntimeApiVersion:  v1\n")
    return 0


def _ocp_minor(ctx: CommandContext) -> int:
    m = re.match(r"4\.(\d+)", ctx.cluster.api.version)
    return int(m.group(1)) if m else 12


SUBCOMMANDS = {"ps": _ps, "pods": _pods, "exec": _exec, "logs": _logs, "stop": _stop,
               "version": _version}
NOT_SIMULATED = {"attach", "create", "inspect", "inspecti", "inspectp", "images", "image",
                 "img", "imagefsinfo", "info", "port-forward", "pull", "rm", "rmi", "rmp",
                 "run", "runp", "start", "stats", "statsp", "stopp", "update",
                 "update-runtime-config", "config", "completion", "checkpoint", "events",
                 "metricsp"}
HELP = f"""NAME:
   crictl - client for CRI

USAGE:
   crictl [global options] command [command options] [arguments...]

VERSION:
   {CRICTL_VERSION}

COMMANDS:
   exec                Run a command in a running container
   logs                Fetch the logs of a container
   pods                List pods
   ps                  List containers
   stop                Stop one or more running containers
   version             Display runtime version information
   help, h             Shows a list of commands or help for one command
"""


@command("crictl")
async def crictl(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    try:
        while args and args[0].startswith("-"):
            a = args.pop(0)
            name, eq, _ = a.lstrip("-").partition("=")
            if name in ("runtime-endpoint", "r", "image-endpoint", "i", "timeout", "t",
                        "config", "c"):
                if not eq and args:
                    args.pop(0)
                continue
            if name in ("debug", "D"):
                continue
            if name in ("help", "h"):
                ctx.out(HELP)
                return 0
            if name in ("version", "v"):
                ctx.out(f"crictl version {CRICTL_VERSION}\n")
                return 0
            raise _Fatal(f"flag provided but not defined: {a}")
        if not args or args[0] in ("help", "h"):
            ctx.out(HELP)
            return 0
        sub = args.pop(0)
        if sub in NOT_SIMULATED:
            ctx.err(f"crictl {sub}: not available in this drill build\n")
            return 1
        if sub not in SUBCOMMANDS:
            ctx.err(f"No help topic for '{sub}'\n")
            return 3
        if any(a in ("-h", "--help") for a in args[:1]):
            ctx.out(EXEC_HELP if sub == "exec" else HELP)
            return 0
        if ctx.session.user != "root":
            # the CRI-O socket is root's: this is what crictl prints to anyone else
            raise _Fatal(f'validate service connection: validate CRI v1 runtime API for '
                         f'endpoint "{CRIO_SOCKET}": rpc error: code = Unavailable desc = '
                         f'connection error: desc = "transport: Error while dialing: dial unix '
                         f'{CRIO_SOCKET[7:]}: connect: permission denied"')
        kubelet.sync_cluster(ctx.cluster)
        return await SUBCOMMANDS[sub](ctx, args)
    except _Fatal as e:
        ctx.err(_fatal_line(ctx, str(e)))
        return 1

