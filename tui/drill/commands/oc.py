"""`oc` on drill hosts: the OpenShift client, talking to the drill's API objects
(tui.drill.objects) the way the real one talks to a kube-apiserver.

It needs a kubeconfig (--kubeconfig, else KUBECONFIG, else ~/.kube/config) and answers when
the API server that kubeconfig names answers: the recovery kubeconfig's localhost:6443 is this
host's own kube-apiserver (its container runs and etcd has a leader), any other server the
cluster's. Forms (what the restore procedures use):

    oc whoami
    oc get --raw PATH
    oc get KIND [NAME...] [-n NS] [-l SEL] [--field-selector F] [-o json|yaml|name|wide]
    oc patch KIND/NAME --type=merge|json -p JSON (also `oc patch KIND NAME ...`)
    oc delete node NAME [NAME...]
    oc -n NS delete pod -l SEL [--field-selector=spec.nodeName==NODE]   (or pod NAME)
    oc delete machine -n openshift-machine-api NAME
    oc delete validatingwebhookconfiguration|mutatingwebhookconfiguration NAME
    oc describe csr [NAME...]
    oc adm certificate approve|deny NAME [NAME...]
    oc adm wait-for-stable-cluster [--minimum-stable-period=5m] [--timeout=1h]
    oc version

Messages and exit statuses are the real client's: `Error from server (NotFound): ...`,
`The connection to the server localhost:6443 was refused - ...`, `error: stat PATH: ...`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from urllib.parse import unquote

import yaml

from tui.drill import controllers, kubelet, objects, rest
from tui.drill.commands.crictl import tabwrite
from tui.drill.programs import CommandContext, command
from tui.drill.vfs import FsError

MISSING_CONFIG = (
    "error: Missing or incomplete configuration info.  Please point to an existing, complete "
    "config file:\n\n\n"
    "  1. Via the command-line flag --kubeconfig\n"
    "  2. Via the KUBECONFIG environment variable\n"
    "  3. In your home directory as ~/.kube/config\n\n"
    "To view or setup config directly use the 'config' command.\n")


class _Fail(Exception):
    def __init__(self, text: str, status: int = 1):
        super().__init__(text)
        self.text = text
        self.status = status


# resource name/alias -> (plural, group, namespaced, list path with {ns}, kind)
_RES = {
    "nodes": ("nodes", "", False, "/api/v1/nodes", "Node"),
    "pods": ("pods", "", True, "/api/v1/namespaces/{ns}/pods", "Pod"),
    "persistentvolumes": ("persistentvolumes", "", False, "/api/v1/persistentvolumes",
                          "PersistentVolume"),
    "machines": ("machines", "machine.openshift.io", True,
                 "/apis/machine.openshift.io/v1beta1/namespaces/{ns}/machines", "Machine"),
    "certificatesigningrequests": ("certificatesigningrequests", "certificates.k8s.io", False,
                                   "/apis/certificates.k8s.io/v1/certificatesigningrequests",
                                   "CertificateSigningRequest"),
    "clusteroperators": ("clusteroperators", "config.openshift.io", False,
                         "/apis/config.openshift.io/v1/clusteroperators", "ClusterOperator"),
    "daemonsets": ("daemonsets", "apps", True, "/apis/apps/v1/namespaces/{ns}/daemonsets",
                   "DaemonSet"),
    "validatingwebhookconfigurations": (
        "validatingwebhookconfigurations", "admissionregistration.k8s.io", False,
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration"),
    "mutatingwebhookconfigurations": (
        "mutatingwebhookconfigurations", "admissionregistration.k8s.io", False,
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration"),
    "networks": ("networks", "config.openshift.io", False,
                 "/apis/config.openshift.io/v1/networks", "Network"),
    "infrastructures": ("infrastructures", "config.openshift.io", False,
                        "/apis/config.openshift.io/v1/infrastructures", "Infrastructure"),
    "clusterversions": ("clusterversions", "config.openshift.io", False,
                        "/apis/config.openshift.io/v1/clusterversions", "ClusterVersion"),
}
for _plural, (_kind, _short) in {**rest.OPERATOR_PLURALS, **rest.OTHER_OPERATORS}.items():
    _RES[_plural] = (_plural, "operator.openshift.io", False,
                     f"/apis/operator.openshift.io/v1/{_plural}", _kind)
_ALIASES = {"node": "nodes", "no": "nodes", "pod": "pods", "po": "pods",
            "pv": "persistentvolumes", "persistentvolume": "persistentvolumes",
            "machine": "machines", "csr": "certificatesigningrequests",
            "certificatesigningrequest": "certificatesigningrequests",
            "co": "clusteroperators", "clusteroperator": "clusteroperators",
            "ds": "daemonsets", "daemonset": "daemonsets",
            "validatingwebhookconfiguration": "validatingwebhookconfigurations",
            "mutatingwebhookconfiguration": "mutatingwebhookconfigurations",
            "network": "networks", "infrastructure": "infrastructures",
            "clusterversion": "clusterversions"}
for _plural, (_kind, _short) in {**rest.OPERATOR_PLURALS, **rest.OTHER_OPERATORS}.items():
    _ALIASES[_short] = _plural


def _resource(name: str) -> tuple[str, str, bool, str, str]:
    base = name.lower()
    plural = _ALIASES.get(base, base)
    if plural not in _RES:
        # KIND.group forms: etcd.operator.openshift.io, machines.machine.openshift.io
        head, _, group = base.partition(".")
        plural = _ALIASES.get(head, head)
        if plural not in _RES or (group and _RES[plural][1] != group):
            raise _Fail(f'error: the server doesn\'t have a resource type "{name}"\n')
    return _RES[plural]


def _qualified(res) -> str:
    plural, group, _, _, kind = res
    singular = kind.lower()
    return f"{singular}.{group}" if group else singular


# --- flags (pflag-like: anywhere on the line) ---------------------------------------------------

_VALUE_FLAGS = {"-n": "namespace", "--namespace": "namespace", "--kubeconfig": "kubeconfig",
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


def _parse(args: list[str], sub: str) -> tuple[dict[str, str], list[str]]:
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
            if name in _VALUE_FLAGS:
                if not eq:
                    if name.startswith("--") or len(a) == 2:
                        i += 1
                        if i >= len(args):
                            raise _Fail(f"error: flag needs an argument: {_flag_label(name)}\n"
                                        f"See 'oc {sub} --help' for usage.\n")
                        value = args[i]
                flags[_VALUE_FLAGS[name]] = value
            elif not name.startswith("--") and name[:2] in _VALUE_FLAGS and len(name) > 2:
                flags[_VALUE_FLAGS[name[:2]]] = a[2:].lstrip("=")  # -nNS, -ojson
            elif name in _BOOL_FLAGS:
                flags[_BOOL_FLAGS[name]] = value if eq else "true"
            else:
                if name.startswith("--"):
                    raise _Fail(f"error: unknown flag: {name}\nSee 'oc {sub} --help' for usage.\n")
                raise _Fail(f"error: unknown shorthand flag: '{a[1]}' in {a}\n"
                            f"See 'oc {sub} --help' for usage.\n")
        else:
            words.append(a)
        i += 1
    return flags, words


def _flag_label(name: str) -> str:
    return f"'{name[1]}' in {name}" if not name.startswith("--") else name


# --- connection ---------------------------------------------------------------------------------


def _connect(ctx: CommandContext, flags: dict[str, str]) -> None:
    """Find the kubeconfig and check its server answers (else raise what oc prints)."""
    vfs = ctx.vfs
    path = flags.get("kubeconfig") or ctx.env.get("KUBECONFIG", "").split(":")[0]
    if not path:
        home = ctx.env.get("HOME") or ("/root" if ctx.is_root else "/home/core")
        default = f"{home.rstrip('/')}/.kube/config"
        if not vfs.exists(default):
            raise _Fail(MISSING_CONFIG)
        path = default
    full = vfs.abspath(path)
    if not vfs.exists(full):
        raise _Fail(f"error: stat {path}: no such file or directory\n")
    if not vfs.can_read(full):
        raise _Fail(f"error: open {path}: permission denied\n")
    try:
        text = vfs.read_text(full)
    except FsError as e:
        raise _Fail(f"error: open {path}: {e.strerror.lower()}\n") from None
    m = re.search(r"server:\s*(\S+)", text)
    if not m:
        raise _Fail(MISSING_CONFIG)
    server = flags.get("server") or m.group(1)
    hostport = re.sub(r"^\w+://", "", server).rstrip("/")
    cluster = ctx.cluster
    controllers.tick(cluster)
    local = hostport.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    ok = objects.host_serving(cluster, ctx.host) if local else (
        objects.api_serving(cluster) and (cluster.api.reachable or "api-int" in hostport))
    if not ok:
        raise _Fail(f"The connection to the server {hostport} was refused - did you specify "
                    "the right host or port?\n")


def _server_error(e: rest.ApiError) -> _Fail:
    return _Fail(f"Error from server ({e.reason}): {e.message}\n")


# --- output -------------------------------------------------------------------------------------


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


def _print_objects(ctx: CommandContext, res, items: list[dict], single: bool,
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
            ctx.out(f"{_qualified(res)}/{o['metadata']['name']}\n")
        return
    if not items:
        ctx.err(f"No resources found in {ns} namespace.\n" if res[2] else
                "No resources found\n")
        return
    if output not in ("", "wide"):
        raise _Fail(f"error: unable to match a printer suitable for the output format "
                    f"\"{output}\", allowed formats are: custom-columns,custom-columns-file,"
                    f"go-template,go-template-file,json,jsonpath,jsonpath-as-json,"
                    f"jsonpath-file,name,template,templatefile,wide,yaml\n")
    ctx.out(_table(_rows(ctx.cluster, plural, items, output == "wide")))


# --- verbs --------------------------------------------------------------------------------------


def _ns(flags: dict[str, str]) -> str:
    return flags.get("namespace") or "default"


def _list_path(res, ns: str) -> str:
    return res[3].replace("{ns}", ns)


def _get(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    cluster = ctx.cluster
    if "raw" in flags:
        if words:
            raise _Fail("error: arguments may not be passed when --raw is specified\n")
        path, _, query = flags["raw"].partition("?")
        q = dict(p.partition("=")[::2] for p in query.split("&") if p)

        q = {unquote(k): unquote(v) for k, v in q.items()}
        try:
            result = rest.get(cluster, path, q)
        except rest.ApiError as e:
            raise _server_error(e) from None
        if isinstance(result, str):
            ctx.out(result)
        else:
            ctx.out(json.dumps(result, separators=(",", ":")) + "\n")
        return 0
    if not words:
        raise _Fail("You must specify the type of resource to get. Use \"oc api-resources\" "
                    "for a complete list of supported resources.\n\n"
                    "error: Required resource not specified.\n"
                    "Use \"oc explain <resource>\" for a detailed description of that resource "
                    "(e.g. oc explain pods).\nSee 'oc get -h' for help and examples\n")
    kind, names = words[0], words[1:]
    if "/" in kind:
        kind, _, one = kind.partition("/")
        names = [one] + names
    res = _resource(kind)
    ns = _ns(flags)
    base = _list_path(res, ns)
    output = flags.get("output", "")
    query = {k: flags[f] for k, f in (("labelSelector", "selector"),
                                      ("fieldSelector", "field-selector")) if f in flags}
    if "fieldSelector" in query:
        query["fieldSelector"] = query["fieldSelector"].replace("==", "=")
    items = []
    status = 0
    if names:
        for n in names:
            try:
                items.append(rest.get(cluster, f"{base}/{n}"))
            except rest.ApiError as e:
                ctx.err(_server_error(e).text)
                status = 1
        if items:
            _print_objects(ctx, res, items, len(names) == 1, output, ns)
        return status
    try:
        lst = rest.get(cluster, base, query)
    except rest.ApiError as e:
        if e.code == 404 and res[0] == "daemonsets":
            lst = {"items": []}
        else:
            raise _server_error(e) from None
    _print_objects(ctx, res, lst.get("items") or [], False, output, ns)
    return 0


def _patch(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    if not words:
        raise _Fail("error: must specify one of -f and -k or a TYPE/NAME\n"
                    "See 'oc patch -h' for help and examples\n")
    if "/" in words[0]:
        kind, _, name = words[0].partition("/")
    elif len(words) >= 2:
        kind, name = words[0], words[1]
    else:
        raise _Fail("error: must specify one of -f and -k or a TYPE/NAME\n")
    if "patch" not in flags:
        raise _Fail("error: must specify -p to patch\n"
                    "See 'oc patch -h' for help and examples\n")
    ptype = flags.get("type", "strategic")
    if ptype not in ("json", "merge", "strategic"):
        raise _Fail(f'error: --type must be one of [json merge strategic], not "{ptype}"\n')
    try:
        body = json.loads(flags["patch"])
    except ValueError:
        try:
            body = yaml.safe_load(flags["patch"])
        except yaml.YAMLError:
            body = None
        if not isinstance(body, (dict, list)):
            raise _Fail(f"error: unable to parse \"{flags['patch']}\": yaml: did not find "
                        "expected node content\n") from None
    res = _resource(kind)
    path = f"{_list_path(res, _ns(flags))}/{name}"
    cluster = ctx.cluster
    try:
        before = rest.get(cluster, path)
        if ptype == "strategic":
            raise rest.ApiError(415, "UnsupportedMediaType", rest.UNSUPPORTED_MEDIA)
        after = rest.patch(cluster, path, body,
                              rest.MERGE if ptype == "merge" else rest.JSON_PATCH)
    except rest.ApiError as e:
        raise _server_error(e) from None
    changed = rest.patch_changed(before.get("spec") or {}, after.get("spec") or {}) or \
        rest.patch_changed(before.get("webhooks") or [], after.get("webhooks") or [])
    ctx.out(f"{_qualified(res)}/{name} patched{'' if changed else ' (no change)'}\n")
    return 0


def _delete(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    if not words:
        raise _Fail("error: You must provide one or more resources by argument or filename.\n"
                    "Example resource specifications include:\n   '-f rsrc.yaml'\n"
                    "   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n")
    kind, names = words[0], words[1:]
    if "/" in kind:
        kind, _, one = kind.partition("/")
        names = [one] + names
    res = _resource(kind)
    ns = _ns(flags)
    base = _list_path(res, ns)
    cluster = ctx.cluster
    selector = flags.get("selector")
    fields = flags.get("field-selector")
    status = 0
    if names and (selector or fields):
        raise _Fail("error: name cannot be provided when a selector is specified\n")
    if not names:
        if not (selector or fields or flags.get("all")):
            raise _Fail("error: resource(s) were provided, but no name was specified\n")
        if res[0] != "pods":
            raise _Fail(f"error: the drill's oc deletes {res[0]} by name only\n")
        query = {}
        if selector:
            query["labelSelector"] = selector
        if fields:
            query["fieldSelector"] = fields.replace("==", "=")
        try:
            deleted = rest.delete(cluster, base, query).get("items") or []
        except rest.ApiError as e:
            raise _server_error(e) from None
        if not deleted:
            ctx.out("No resources found\n")
        for o in deleted:
            ctx.out(f'{_qualified(res)} "{o["metadata"]["name"]}" deleted\n')
        return 0
    for n in names:
        try:
            rest.delete(cluster, f"{base}/{n}")
        except rest.ApiError as e:
            if e.code == 404 and flags.get("ignore-not-found") == "true":
                continue
            ctx.err(_server_error(e).text)
            status = 1
            continue
        ctx.out(f'{_qualified(res)} "{n}" deleted\n')
    return status


def _describe(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    """`oc describe csr NAME...` (what RST-11 reviews: requestor, signer, subject)."""
    if not words:
        raise _Fail("You must specify the type of resource to describe. Use \"oc api-resources\" "
                    "for a complete list of supported resources.\n")
    kind, names = words[0], words[1:]
    if "/" in kind:
        kind, _, one = kind.partition("/")
        names = [one] + names
    res = _resource(kind)
    if res[0] != "certificatesigningrequests":
        raise _Fail("error: the drill's oc describes certificatesigningrequests only\n")
    base = res[3]
    if not names:
        names = [o["metadata"]["name"] for o in rest.get(ctx.cluster, base)["items"]]
    status = 0
    blocks = []
    for n in names:
        try:
            o = rest.get(ctx.cluster, f"{base}/{n}")
        except rest.ApiError as e:
            ctx.err(_server_error(e).text)
            status = 1
            continue
        spec = o["spec"]
        conds = [c["type"] for c in o["status"].get("conditions") or []]
        state = ",".join(conds) + (",Issued" if o["status"].get("certificate") else "") \
            if conds else "Pending"
        created = datetime.strptime(o["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
        user = spec["username"]
        if spec["signerName"].endswith("kubelet-serving"):
            cn, org = user, "system:nodes"
        else:
            node = next((c.node for c in ctx.cluster.api.csrs if c.name == n), None) or "node"
            cn, org = f"system:node:{node}", "system:nodes"
        lines = [f"Name:               {n}", "Labels:             <none>",
                 "Annotations:        <none>",
                 f"CreationTimestamp:  {created.strftime('%a, %d %b %Y %H:%M:%S')} +0000",
                 f"Requesting User:    {user}", f"Signer:             {spec['signerName']}",
                 f"Status:             {state}", "Subject:",
                 f"         Common Name:    {cn}", "         Serial Number:  ",
                 f"         Organization:   {org}"]
        if spec["signerName"].endswith("kubelet-serving"):
            node = user.split(":")[-1]
            h = ctx.cluster.host(node)
            lines += ["Subject Alternative Names:", f"         DNS Names:     {node}",
                      f"         IP Addresses:  {h.address if h else '10.0.0.1'}"]
        lines.append("Events:  <none>")
        blocks.append("\n".join(lines) + "\n")
    ctx.out("\n\n".join(blocks))
    return status


def _go_duration(text: str, flag: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", text or "")
    if not text or "".join(a + b for a, b in parts) != text:
        raise _Fail(f'invalid argument "{text}" for "--{flag}" flag: time: invalid duration '
                    f'"{text}"\nSee \'oc adm wait-for-stable-cluster --help\' for usage.\n')
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(a) * scale[b] for a, b in parts)


def _go_round(seconds: float) -> str:
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return (f"{h}h{m}m{sec}s" if h else f"{m}m{sec}s" if m else f"{sec}s")


async def _wait_for_stable(ctx: CommandContext, flags: dict[str, str]) -> int:
    """`oc adm wait-for-stable-cluster` (oc's waitforstable): poll the cluster operators every
    10 s until all are Available, not Progressing, not Degraded for --minimum-stable-period
    (5m); --timeout (1h). Time is the drill's simulated time."""
    timeout = _go_duration(flags.get("timeout", "1h"), "timeout")
    period = _go_duration(flags.get("minimum-stable-period", "5m"), "minimum-stable-period")
    if timeout <= period:
        raise _Fail("error: --timeout must be greater than the --minimum-stable-period\n")
    interval = min(10.0, period + 1.0)
    cluster = ctx.cluster
    clock = cluster.clock
    start = clock.now()
    stable_since: float | None = None
    previously: set[str] = set()
    unstable_since: dict[str, float] = {}

    def stamp(t: float) -> str:
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    while True:
        kubelet.sync_cluster(cluster)
        controllers.tick(cluster)
        now = clock.now()
        try:
            if not objects.host_serving(cluster, ctx.host) and not objects.api_serving(cluster):
                raise rest.ApiError(503, "ServiceUnavailable", "connection refused")
            items = rest.get(cluster, _RES["clusteroperators"][3])["items"]
        except rest.ApiError as e:
            ctx.err(f"failed to list clusteroperators: {e.message}")
            stable_since = None
            items = None
        if items is not None:
            unstable = set()
            for o in items:
                name = o["metadata"]["name"]
                c = {x["type"]: x["status"] for x in o["status"]["conditions"]}
                reasons = [r for r, bad in (("unavailable", c.get("Available") != "True"),
                                            ("progressing", c.get("Progressing") != "False"),
                                            ("degraded", c.get("Degraded") != "False")) if bad]
                if reasons:
                    why = " and ".join(reasons)
                    unstable.add(name)
                    unstable_since.setdefault(name, now)
                    if name in previously:
                        ctx.out(f"clusteroperators/{name} is still {why} after "
                                f"{_go_round(now - unstable_since[name])}\n")
                    elif not previously:
                        ctx.out(f"clusteroperators/{name} is {why} at {stamp(now)}\n")
                    else:
                        ctx.out(f"clusteroperators/{name} became {why} at {stamp(now)}\n")
                else:
                    if name in previously:
                        ctx.out(f"clusteroperators/{name} stabilized at {stamp(now)} after "
                                f"{_go_round(now - unstable_since[name])}\n")
                    unstable_since.pop(name, None)
            previously = unstable
            if unstable:
                stable_since = None
            elif stable_since is None:
                stable_since = now
                ctx.out(f"All clusteroperators became stable at {stamp(now)}\n")
            else:
                ctx.out(f"All clusteroperators are still stable after "
                        f"{_go_round(now - stable_since)}\n")
            if stable_since is not None and now - stable_since > period:
                ctx.out("\n")
                ctx.out("All clusteroperators are stable\n")
                return 0
        ctx.out("\n")
        if now - start + interval > timeout:
            ctx.err("error: context deadline exceeded\n")
            return 1
        await clock.sleep(interval)


def _adm(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    if words[:1] != ["certificate"] or len(words) < 2 or words[1] not in ("approve", "deny"):
        raise _Fail("error: the drill's oc knows only `oc adm certificate approve|deny NAME`\n")
    verb, names = words[1], words[2:]
    if not names:
        raise _Fail("error: one or more CSRs must be specified as <name> or -f <filename>\n")
    status = 0
    for n in names:
        body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                "metadata": {"name": n},
                "status": {"conditions": [{"type": "Approved" if verb == "approve" else "Denied",
                                           "status": "True", "reason": "KubectlApprove"
                                           if verb == "approve" else "KubectlDeny",
                                           "message": "This CSR was approved by kubectl "
                                                      "certificate approve."}]}}
        try:
            rest.put(ctx.cluster, f"{_RES['certificatesigningrequests'][3]}/{n}/approval",
                        body)
        except rest.ApiError as e:
            ctx.err(_server_error(e).text)
            status = 1
            continue
        ctx.out(f"certificatesigningrequest.certificates.k8s.io/{n} "
                f"{'approved' if verb == 'approve' else 'denied'}\n")
    return status


USAGE = ("OpenShift Client\n\nThis client helps you develop, build, deploy, and run your "
         "applications on any\nOpenShift or Kubernetes cluster.\n\n"
         "The drill's oc knows: whoami, get (--raw PATH, or KIND [NAME]), describe csr, patch, "
         "delete, adm certificate approve|deny, adm wait-for-stable-cluster, version.\n\nUse \"oc <command> --help\" for more "
         "information about a given command.\n")


@command("oc")
async def oc(ctx: CommandContext, argv: list[str]) -> int:
    args = argv[1:]
    # the subcommand is the first word that is not a flag or a flag's value
    sub = ""
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-"):
            if a.partition("=")[0] in _VALUE_FLAGS and "=" not in a and (
                    a.startswith("--") or len(a) == 2):
                i += 1
            i += 1
            continue
        sub = a
        break
    rest = args[:i] + args[i + 1:]
    try:
        if sub == "":
            ctx.out(USAGE)
            return 0
        if sub == "version":
            flags, _ = _parse(rest, sub)
            ctx.out(f"Client Version: {ctx.cluster.api.version}\n"
                    "Kustomize Version: v5.0.1\n")
            try:
                _connect(ctx, flags)
            except _Fail as e:
                ctx.err(e.text)
                return 1
            ctx.out(f"Server Version: {ctx.cluster.api.version}\n"
                    "Kubernetes Version: v1.25.16+9946c63\n")
            return 0
        if sub not in ("whoami", "get", "describe", "patch", "delete", "adm"):
            raise _Fail(f"error: unknown command \"{sub}\" for \"oc\"\n"
                        "Run 'oc --help' for usage.\n")
        flags, words = _parse(rest, sub)
        if sub == "adm" and words[:1] == ["wait-for-stable-cluster"]:
            _connect(ctx, flags)
            return await _wait_for_stable(ctx, flags)
        if sub == "adm" and words[:2] == ["certificate", "approve"] and not words[2:]:
            raise _Fail("error: one or more CSRs must be specified as <name> or -f <filename>\n")
        _connect(ctx, flags)
        if sub == "whoami":
            ctx.out("system:admin\n")
            return 0
        if sub == "get":
            return _get(ctx, flags, words)
        if sub == "patch":
            return _patch(ctx, flags, words)
        if sub == "describe":
            return _describe(ctx, flags, words)
        if sub == "delete":
            return _delete(ctx, flags, words)
        return _adm(ctx, flags, words)
    except _Fail as e:
        ctx.err(e.text)
        return e.status
