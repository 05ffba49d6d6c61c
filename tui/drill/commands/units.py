"""systemd on a drill host: systemctl (status, is-active, stop, start, restart of the units
the procedures touch: kubelet, crio, and the etcd-backup-server of 4.18+) and journalctl."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from tui.drill import kubelet
from tui.drill.commands.hostinfo import boot_time
from tui.drill.programs import CommandContext, command

UNITS = {
    "kubelet": ("Kubernetes Kubelet", "/etc/systemd/system/kubelet.service",
                "/usr/bin/kubelet --config=/etc/kubernetes/kubelet.conf "
                "--bootstrap-kubeconfig=/etc/kubernetes/kubeconfig "
                "--kubeconfig=/var/lib/kubelet/kubeconfig "
                "--container-runtime-endpoint=/var/run/crio/crio.sock"),
    "crio": ("Container Runtime Interface for OCI (CRI-O)", "/usr/lib/systemd/system/crio.service",
             "/usr/bin/crio"),
    "ovs-vswitchd": ("Open vSwitch Forwarding Unit", "/usr/lib/systemd/system/ovs-vswitchd.service",
                     "ovs-vswitchd unix:/var/run/openvswitch/db.sock"),
    "ovsdb-server": ("Open vSwitch Database Unit", "/usr/lib/systemd/system/ovsdb-server.service",
                     "ovsdb-server /etc/openvswitch/conf.db"),
    "sshd": ("OpenSSH server daemon", "/usr/lib/systemd/system/sshd.service", "sshd: /usr/sbin/sshd"),
    "chronyd": ("NTP client/server", "/usr/lib/systemd/system/chronyd.service", "/usr/sbin/chronyd"),
}


# units whose (re)start the drill records in the pid file the daemon writes (its mtime is the
# start time `systemctl status` shows)
PID_FILES = {"ovs-vswitchd": "/run/openvswitch/ovs-vswitchd.pid",
             "ovsdb-server": "/run/openvswitch/ovsdb-server.pid"}


# journal identifiers of a unit's own processes (kubelet runs as kubenswrapper on RHCOS)
UNIT_PROCESSES = {"kubelet": ("kubenswrapper[",), "crio": ("crio[",)}


def _of_unit(line: str, unit: str) -> bool:
    """Whether a journal line belongs to the unit (`journalctl -u`): it names the unit, or
    it is systemd's line about it ("Started Kubernetes Kubelet.")."""
    if unit in line or any(line.startswith(p) for p in UNIT_PROCESSES.get(unit, ())):
        return True
    desc = UNITS.get(unit, ("",))[0]
    return bool(desc) and line.startswith("systemd[1]: ") and desc in line


def _unit_restarted(ctx: CommandContext, unit: str, verb: str, now: float) -> None:
    """A unit other than kubelet (re)started or stopped: systemd's journal lines; OVS's pid
    file is rewritten (RST-15 for 4.14+: `systemctl restart ovs-vswitchd ovsdb-server`)."""
    h = ctx.host
    desc = UNITS[unit][0]
    if verb == "stop":
        h.log.append(f"systemd[1]: Stopping {desc}...")
        h.log.append(f"systemd[1]: {unit}.service: Deactivated successfully.")
        h.log.append(f"systemd[1]: Stopped {desc}.")
        return
    if verb == "reload":
        h.log.append(f"systemd[1]: Reloading {desc}...")
        h.log.append(f"systemd[1]: Reloaded {desc}.")
        return
    if verb != "start":
        h.log.append(f"systemd[1]: Stopping {desc}...")
        h.log.append(f"systemd[1]: {unit}.service: Deactivated successfully.")
        h.log.append(f"systemd[1]: Stopped {desc}.")
    h.log.append(f"systemd[1]: Starting {desc}...")
    if unit in PID_FILES:
        pid_file = PID_FILES[unit]
        d = pid_file.rsplit("/", 1)[0]
        for p in ("/run", d):
            h.dirs.add(p)
        pid = 1000 + (int(now) + sum(map(ord, unit))) % 50000
        h.files[pid_file] = f"{pid}\n".encode()
        h.mtimes[pid_file] = now
        h.modes.setdefault(pid_file, 0o644)
        h.owners.setdefault(pid_file, "root")
        if unit == "ovsdb-server":
            h.log.append("ovs-ctl[%d]: Starting ovsdb-server." % pid)
        else:
            h.log.append("ovs-ctl[%d]: Starting ovs-vswitchd." % pid)
    h.log.append(f"systemd[1]: Started {desc}.")


def _unit(name: str) -> str:
    return name[:-len(".service")] if name.endswith(".service") else name


def _active(ctx: CommandContext, unit: str) -> bool:
    if unit == "kubelet":
        return ctx.host.kubelet_running
    return True


@command("systemctl")
async def systemctl(ctx: CommandContext, argv: list[str]) -> int:
    args = [a for a in argv[1:] if a not in ("--no-pager", "-l", "--full", "--quiet", "-q",
                                             "--no-block", "--now")]
    quiet = any(a in ("--quiet", "-q") for a in argv[1:])
    if not args:
        ctx.err("systemctl: listing units is not available in this drill build\n")
        return 1
    verb, units = args[0], [a for a in args[1:] if not a.startswith("-")]
    if verb in ("restart", "stop", "start", "reload", "try-restart", "enable", "disable",
                "daemon-reload", "status", "is-active", "is-enabled", "show", "cat",
                "is-failed"):
        pass
    else:
        ctx.err(f"Unknown command verb {verb}.\n")
        return 1
    if verb == "daemon-reload":
        if ctx.session.user != "root":
            ctx.err("Failed to reload daemon: Interactive authentication required.\n")
            return 1
        return 0
    if not units:
        ctx.err(f"Too few arguments.\n")
        return 1
    now = ctx.cluster.clock.now()
    status = 0
    shown_status = 0
    for raw in units:
        unit = _unit(raw)
        full = unit + ".service"
        if unit not in UNITS:
            if verb in ("status",):
                ctx.err(f"Unit {full} could not be found.\n")
                status = 4
            elif verb == "is-active":
                if not quiet:
                    ctx.out("inactive\n")
                status = 3
            else:
                ctx.err(f"Failed to {verb} {full}: Unit {full} not found.\n")
                status = 5
            continue
        if verb in ("restart", "stop", "start", "reload", "try-restart", "enable", "disable"):
            if ctx.session.user != "root":
                # no polkit agent on an SSH exec channel: systemd cannot ask for the password
                ctx.err(f"Failed to {verb} {full}: Interactive authentication required.\n"
                        f"See system logs and 'systemctl status {full}' for details.\n")
                status = 1
                continue
            if unit == "kubelet":
                h = ctx.host
                if verb in ("stop",):
                    h.kubelet_running = False
                    h.log.append(f"systemd[1]: Stopped Kubernetes Kubelet.")
                elif verb in ("start", "restart", "try-restart", "reload"):
                    if verb == "try-restart" and not h.kubelet_running:
                        continue
                    if verb in ("restart", "try-restart") and h.kubelet_running:
                        h.log.append("systemd[1]: Stopping Kubernetes Kubelet...")
                        h.log.append("systemd[1]: kubelet.service: Deactivated successfully.")
                        h.log.append("systemd[1]: Stopped Kubernetes Kubelet.")
                    h.log.append("systemd[1]: Starting Kubernetes Kubelet...")
                    h.kubelet_running = True
                    h.kubelet_since = now
                    h.log.append(f"systemd[1]: Started Kubernetes Kubelet.")
                    kubelet.kubelet_restarted(ctx.cluster, h)
            elif verb in ("restart", "try-restart", "start", "stop", "reload"):
                _unit_restarted(ctx, unit, verb, now)
            continue
        active = _active(ctx, unit)
        if verb == "is-active":
            if not quiet:
                ctx.out(("active" if active else "inactive") + "\n")
            status = status or (0 if active else 3)
        elif verb == "is-enabled":
            ctx.out("enabled\n")
        elif verb == "is-failed":
            ctx.out("active\n" if active else "inactive\n")
            status = status or (1 if active else 0)
        elif verb == "show":
            ctx.out(f"ActiveState={'active' if active else 'inactive'}\n"
                    f"SubState={'running' if active else 'dead'}\nId={full}\n")
        elif verb == "cat":
            desc, path, cmd = UNITS[unit]
            ctx.out(f"# {path}\n[Unit]\nDescription={desc}\n\n[Service]\nExecStart={cmd}\n")
        else:
            if shown_status:
                ctx.out("\n")  # systemctl status A B: a blank line between the units
            shown_status += 1
            ctx.out(_status_text(ctx, unit, active, now))
            status = status or (0 if active else 3)
    return status


def _ago(seconds: float) -> str:
    s = int(max(seconds, 0))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d} day{'s' if d != 1 else ''} {h}h ago"
    if h:
        return f"{h}h {m}min ago"
    if m:
        return f"{m}min {sec}s ago"
    return f"{sec}s ago"


def _status_text(ctx: CommandContext, unit: str, active: bool, now: float) -> str:
    desc, path, cmd = UNITS[unit]
    h = ctx.host
    since = h.kubelet_since if unit == "kubelet" and h.kubelet_since else boot_time(ctx) + 40
    if unit in PID_FILES and PID_FILES[unit] in h.mtimes:
        since = h.mtimes[PID_FILES[unit]]
    when = datetime.fromtimestamp(since, timezone.utc).strftime("%a %Y-%m-%d %H:%M:%S UTC")
    dot = "●" if active else "○"
    lines = [f"{dot} {unit}.service - {desc}",
             f"     Loaded: loaded ({path}; enabled; preset: disabled)"]
    if unit == "kubelet":
        lines += ["    Drop-In: /etc/systemd/system/kubelet.service.d",
                  "             └─01-kubens.conf, 10-mco-default-env.conf, "
                  "10-mco-default-madv.conf, 20-logging.conf, 20-nodenet.conf"]
    if active:
        pid = 2000 + sum(map(ord, unit)) % 900
        pid_text = h.files.get(PID_FILES.get(unit, ""), b"").decode(errors="replace").strip()
        if pid_text.isdigit():
            pid = int(pid_text)
        comm = cmd.split()[0].rsplit("/", 1)[-1].rstrip(":")
        lines += [f"     Active: active (running) since {when}; {_ago(now - since)}",
                  f"   Main PID: {pid} ({comm[:15]})",
                  "      Tasks: 42 (limit: 100000)",
                  "     Memory: 186.4M",
                  f"     CGroup: /system.slice/{unit}.service",
                  f"             └─{pid} {cmd}"]
    else:
        lines += [f"     Active: inactive (dead) since {when}; {_ago(now - since)}"]
    tail = [line for line in h.log if _of_unit(line, unit)][-5:]
    if tail:
        lines.append("")
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%b %d %H:%M:%S")
        lines += [f"{stamp} {h.name} {line}" for line in tail]
    return "\n".join(lines) + "\n"


@command("journalctl")
async def journalctl(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    unit = None
    n = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-u", "--unit") and i + 1 < len(args):
            unit = _unit(args[i + 1])
            i += 2
            continue
        if a.startswith("--unit="):
            unit = _unit(a.split("=", 1)[1])
        elif a in ("-n", "--lines") and i + 1 < len(args):
            n = int(args[i + 1]) if args[i + 1].isdigit() else None
            i += 2
            continue
        elif re.fullmatch(r"-n\d+", a):
            n = int(a[2:])
        elif a in ("-f", "--follow"):
            ctx.err("journalctl: following the journal (-f) is not available in this drill "
                    "build\n")
            return 1
        i += 1
    lines = [line for line in ctx.host.log if unit is None or _of_unit(line, unit)]
    if n is not None:
        lines = lines[-n:] if n else []
    if not lines:
        ctx.out("-- No entries --\n")
        return 0
    stamp = datetime.fromtimestamp(ctx.cluster.clock.now(), timezone.utc).strftime(
        "%b %d %H:%M:%S")
    ctx.out("".join(f"{stamp} {ctx.host.name} {line}\n" for line in lines))
    return 0
