"""How the drill's `oc` reads its flags (pflag-like: anywhere on the line), reaches the
cluster's API (or says why not, as oc does) and prints objects: tables with the real columns
and ages, -o name/json/yaml/jsonpath."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import yaml

from tui.drill import controllers, objects, rest
from tui.drill.commands.crictl import tabwrite
from tui.drill.programs import CommandContext
from tui.drill.vfs import FsError

MISSING_CONFIG = (
    "error: Missing or incomplete configuration info.  Please point to an existing, complete "
    "config file:\n\n\n"
    "  1. Via the command-line flag --kubeconfig\n"
    "  2. Via the KUBECONFIG environment variable\n"
    "  3. In your home directory as ~/.kube/config\n\n"
    "To view or setup config directly use the 'config' command.\n")


class OcFailure(Exception):
    def __init__(self, text: str, status: int = 1):
        super().__init__(text)
        self.text = text
        self.status = status


def qualified(res) -> str:
    plural, group, _, _, kind = res
    singular = kind.lower()
    return f"{singular}.{group}" if group else singular


VALUE_FLAGS = {"-n": "namespace", "--namespace": "namespace", "--kubeconfig": "kubeconfig",
                "-p": "patch", "--patch": "patch", "--type": "type", "-l": "selector",
                "--selector": "selector", "--field-selector": "field-selector",
                "-o": "output", "--output": "output", "--raw": "raw", "--context": "context",
                "--server": "server", "-s": "server", "--token": "token",
                "--request-timeout": "request-timeout", "--grace-period": "grace-period",
                "--timeout": "timeout", "--wait": "wait",
                "--minimum-stable-period": "minimum-stable-period"}


_BOOL_FLAGS = {"--all": "all", "-A": "all-namespaces", "--all-namespaces": "all-namespaces",
               "--insecure-skip-tls-verify": "insecure", "--force": "force", "-w": "watch",
               "--watch": "watch", "-h": "help", "--help": "help",
               "--ignore-not-found": "ignore-not-found", "--now": "now"}


def parse_flags(args: list[str], sub: str) -> tuple[dict[str, str], list[str]]:
    flags: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            words += args[i + 1:]
            break
        if a.startswith("-") and a != "-":
            name, eq, value = a.partition("=")
            if name in VALUE_FLAGS:
                if not eq:
                    if name.startswith("--") or len(a) == 2:
                        i += 1
                        if i >= len(args):
                            raise OcFailure(f"error: flag needs an argument: {_flag_label(name)}\n"
                                        f"See 'oc {sub} --help' for usage.\n")
                        value = args[i]
                flags[VALUE_FLAGS[name]] = value
            elif not name.startswith("--") and name[:2] in VALUE_FLAGS and len(name) > 2:
                flags[VALUE_FLAGS[name[:2]]] = a[2:].lstrip("=")  # -nNS, -ojson
            elif name in _BOOL_FLAGS:
                flags[_BOOL_FLAGS[name]] = value if eq else "true"
            else:
                if name.startswith("--"):
                    raise OcFailure(f"error: unknown flag: {name}\nSee 'oc {sub} --help' for usage.\n")
                raise OcFailure(f"error: unknown shorthand flag: '{a[1]}' in {a}\n"
                            f"See 'oc {sub} --help' for usage.\n")
        else:
            words.append(a)
        i += 1
    return flags, words


def _flag_label(name: str) -> str:
    return f"'{name[1]}' in {name}" if not name.startswith("--") else name


def connect(ctx: CommandContext, flags: dict[str, str]) -> None:
    """Find the kubeconfig and check its server answers (else raise what oc prints)."""
    vfs = ctx.vfs
    path = flags.get("kubeconfig") or ctx.env.get("KUBECONFIG", "").split(":")[0]
    if not path:
        home = ctx.env.get("HOME") or ("/root" if ctx.is_root else "/home/core")
        default = f"{home.rstrip('/')}/.kube/config"
        if not vfs.exists(default):
            raise OcFailure(MISSING_CONFIG)
        path = default
    full = vfs.abspath(path)
    if not vfs.exists(full):
        raise OcFailure(f"error: stat {path}: no such file or directory\n")
    if not vfs.can_read(full):
        raise OcFailure(f"error: open {path}: permission denied\n")
    try:
        text = vfs.read_text(full)
    except FsError as e:
        raise OcFailure(f"error: open {path}: {e.strerror.lower()}\n") from None
    m = re.search(r"server:\s*(\S+)", text)
    if not m:
        raise OcFailure(MISSING_CONFIG)
    server = flags.get("server") or m.group(1)
    hostport = re.sub(r"^\w+://", "", server).rstrip("/")
    cluster = ctx.cluster
    controllers.tick(cluster)
    local = hostport.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    ok = objects.host_serving(cluster, ctx.host) if local else (
        objects.api_serving(cluster) and (cluster.api.reachable or "api-int" in hostport))
    if not ok:
        raise OcFailure(f"The connection to the server {hostport} was refused - did you specify "
                    "the right host or port?\n")


def server_error(e: rest.ApiError) -> OcFailure:
    return OcFailure(f"Error from server ({e.reason}): {e.message}\n")


def _age(cluster, stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    t = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    s = int(cluster.clock.now() - t)
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = m // 60
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    return f"{h // 24 // 365}y"


def _table(rows: list[list[str]]) -> str:
    return tabwrite(rows, minwidth=6, padding=3)


def _cond(obj: dict, ctype: str) -> dict:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c.get("type") == ctype), {})


def _rows(cluster, plural: str, items: list[dict], wide: bool) -> list[list[str]]:
    age = lambda o: _age(cluster, o["metadata"].get("creationTimestamp"))  # noqa: E731
    if plural == "nodes":
        head = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        if wide:
            head += ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                     "CONTAINER-RUNTIME"]
        rows = [head]
        for o in items:
            ready = _cond(o, "Ready").get("status") == "True"
            roles = ",".join(sorted(k.split("/", 1)[1] for k in o["metadata"]["labels"]
                                    if k.startswith("node-role.kubernetes.io/"))) or "<none>"
            info = o["status"]["nodeInfo"]
            row = [o["metadata"]["name"], "Ready" if ready else "NotReady", roles, age(o),
                   info["kubeletVersion"]]
            if wide:
                row += [o["status"]["addresses"][0]["address"], "<none>", info["osImage"],
                        info["kernelVersion"], info["containerRuntimeVersion"]]
            rows.append(row)
        return rows
    if plural == "pods":
        head = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        if wide:
            head += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
        rows = [head]
        for o in items:
            cs = o["status"].get("containerStatuses") or []
            ready = sum(1 for c in cs if c.get("ready"))
            status = o["status"]["phase"]
            if status == "Pending" and cs:
                status = "ContainerCreating"
            row = [o["metadata"]["name"], f"{ready}/{len(cs)}", status, "0", age(o)]
            if wide:
                row += [o["status"].get("podIP", "<none>"), o["spec"].get("nodeName", "<none>"),
                        "<none>", "<none>"]
            rows.append(row)
        return rows
    if plural == "certificatesigningrequests":
        rows = [["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]]
        for o in items:
            conds = [c["type"] for c in (o["status"].get("conditions") or [])]
            cond = ",".join(conds) + (",Issued" if o["status"].get("certificate") else "")
            rows.append([o["metadata"]["name"], age(o), o["spec"]["signerName"],
                         o["spec"]["username"], "<none>", cond or "Pending"])
        return rows
    if plural == "machines":
        head = ["NAME", "PHASE", "TYPE", "REGION", "ZONE", "AGE"]
        if wide:
            head += ["NODE", "PROVIDERID", "STATE"]
        rows = [head]
        for o in items:
            labels = o["metadata"]["labels"]
            row = [o["metadata"]["name"], o["status"].get("phase", ""),
                   labels.get("machine.openshift.io/instance-type", ""),
                   labels.get("machine.openshift.io/region", ""),
                   labels.get("machine.openshift.io/zone", ""), age(o)]
            if wide:
                row += [(o["status"].get("nodeRef") or {}).get("name", "<none>"),
                        o["spec"].get("providerID", "<none>") or "<none>",
                        (o["status"].get("providerStatus") or {}).get("instanceState",
                                                                      "<none>")]
            rows.append(row)
        return rows
    if plural == "clusteroperators":
        rows = [["NAME", "VERSION", "AVAILABLE", "PROGRESSING", "DEGRADED", "SINCE", "MESSAGE"]]
        for o in items:
            versions = o["status"].get("versions") or [{}]
            prog = _cond(o, "Progressing")
            deg = _cond(o, "Degraded")
            message = (deg.get("message") if deg.get("status") == "True" else
                       prog.get("message") if prog.get("status") == "True" else "")
            rows.append([o["metadata"]["name"], versions[0].get("version", ""),
                         _cond(o, "Available").get("status", ""), prog.get("status", ""),
                         deg.get("status", ""), _age(cluster, prog.get("lastTransitionTime")),
                         message or ""])
        return rows
    rows = [["NAME", "AGE"]]
    rows += [[o["metadata"]["name"], age(o)] for o in items]
    return rows


def print_objects(ctx: CommandContext, res, items: list[dict], single: bool,
                   output: str, ns: str | None) -> None:
    plural = res[0]
    if output in ("json", "yaml"):
        doc = items[0] if single else {"apiVersion": "v1", "items": items, "kind": "List",
                                       "metadata": {"resourceVersion": ""}}
        if output == "json":
            ctx.out(json.dumps(doc, indent=4) + "\n")
        else:
            ctx.out(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
        return
    if output == "name":
        for o in items:
            ctx.out(f"{qualified(res)}/{o['metadata']['name']}\n")
        return
    if not items:
        ctx.err(f"No resources found in {ns} namespace.\n" if res[2] else
                "No resources found\n")
        return
    if output not in ("", "wide"):
        raise OcFailure(f"error: unable to match a printer suitable for the output format "
                    f"\"{output}\", allowed formats are: custom-columns,custom-columns-file,"
                    f"go-template,go-template-file,json,jsonpath,jsonpath-as-json,"
                    f"jsonpath-file,name,template,templatefile,wide,yaml\n")
    ctx.out(_table(_rows(ctx.cluster, plural, items, output == "wide")))
