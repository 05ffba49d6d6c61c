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
from tui.drill.commands.oc_client import (
    VALUE_FLAGS,
    OcFailure,
    connect,
    parse_flags,
    print_objects,
    qualified,
    server_error,
)
from tui.drill.programs import CommandContext, command

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
            raise OcFailure(f'error: the server doesn\'t have a resource type "{name}"\n')
    return _RES[plural]


# --- flags (pflag-like: anywhere on the line) ---------------------------------------------------


# --- connection ---------------------------------------------------------------------------------


# --- output -------------------------------------------------------------------------------------


# --- verbs --------------------------------------------------------------------------------------


def _ns(flags: dict[str, str]) -> str:
    return flags.get("namespace") or "default"


def _list_path(res, ns: str) -> str:
    return res[3].replace("{ns}", ns)


def _get(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    cluster = ctx.cluster
    if "raw" in flags:
        if words:
            raise OcFailure("error: arguments may not be passed when --raw is specified\n")
        path, _, query = flags["raw"].partition("?")
        q = dict(p.partition("=")[::2] for p in query.split("&") if p)

        q = {unquote(k): unquote(v) for k, v in q.items()}
        try:
            result = rest.get(cluster, path, q)
        except rest.ApiError as e:
            raise server_error(e) from None
        if isinstance(result, str):
            ctx.out(result)
        else:
            ctx.out(json.dumps(result, separators=(",", ":")) + "\n")
        return 0
    if not words:
        raise OcFailure("You must specify the type of resource to get. Use \"oc api-resources\" "
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
                ctx.err(server_error(e).text)
                status = 1
        if items:
            print_objects(ctx, res, items, len(names) == 1, output, ns)
        return status
    try:
        lst = rest.get(cluster, base, query)
    except rest.ApiError as e:
        if e.code == 404 and res[0] == "daemonsets":
            lst = {"items": []}
        else:
            raise server_error(e) from None
    print_objects(ctx, res, lst.get("items") or [], False, output, ns)
    return 0


def _patch(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    if not words:
        raise OcFailure("error: must specify one of -f and -k or a TYPE/NAME\n"
                    "See 'oc patch -h' for help and examples\n")
    if "/" in words[0]:
        kind, _, name = words[0].partition("/")
    elif len(words) >= 2:
        kind, name = words[0], words[1]
    else:
        raise OcFailure("error: must specify one of -f and -k or a TYPE/NAME\n")
    if "patch" not in flags:
        raise OcFailure("error: must specify -p to patch\n"
                    "See 'oc patch -h' for help and examples\n")
    ptype = flags.get("type", "strategic")
    if ptype not in ("json", "merge", "strategic"):
        raise OcFailure(f'error: --type must be one of [json merge strategic], not "{ptype}"\n')
    try:
        body = json.loads(flags["patch"])
    except ValueError:
        try:
            body = yaml.safe_load(flags["patch"])
        except yaml.YAMLError:
            body = None
        if not isinstance(body, (dict, list)):
            raise OcFailure(f"error: unable to parse \"{flags['patch']}\": yaml: did not find "
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
        raise server_error(e) from None
    changed = rest.patch_changed(before.get("spec") or {}, after.get("spec") or {}) or \
        rest.patch_changed(before.get("webhooks") or [], after.get("webhooks") or [])
    ctx.out(f"{qualified(res)}/{name} patched{'' if changed else ' (no change)'}\n")
    return 0


def _delete(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    if not words:
        raise OcFailure("error: You must provide one or more resources by argument or filename.\n"
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
        raise OcFailure("error: name cannot be provided when a selector is specified\n")
    if not names:
        if not (selector or fields or flags.get("all")):
            raise OcFailure("error: resource(s) were provided, but no name was specified\n")
        if res[0] != "pods":
            raise OcFailure(f"error: the drill's oc deletes {res[0]} by name only\n")
        query = {}
        if selector:
            query["labelSelector"] = selector
        if fields:
            query["fieldSelector"] = fields.replace("==", "=")
        try:
            deleted = rest.delete(cluster, base, query).get("items") or []
        except rest.ApiError as e:
            raise server_error(e) from None
        if not deleted:
            ctx.out("No resources found\n")
        for o in deleted:
            ctx.out(f'{qualified(res)} "{o["metadata"]["name"]}" deleted\n')
        return 0
    for n in names:
        try:
            rest.delete(cluster, f"{base}/{n}")
        except rest.ApiError as e:
            if e.code == 404 and flags.get("ignore-not-found") == "true":
                continue
            ctx.err(server_error(e).text)
            status = 1
            continue
        ctx.out(f'{qualified(res)} "{n}" deleted\n')
    return status


def _describe(ctx: CommandContext, flags: dict[str, str], words: list[str]) -> int:
    """`oc describe csr NAME...` (what RST-11 reviews: requestor, signer, subject)."""
    if not words:
        raise OcFailure("You must specify the type of resource to describe. Use \"oc api-resources\" "
                    "for a complete list of supported resources.\n")
    kind, names = words[0], words[1:]
    if "/" in kind:
        kind, _, one = kind.partition("/")
        names = [one] + names
    res = _resource(kind)
    if res[0] != "certificatesigningrequests":
        raise OcFailure("error: the drill's oc describes certificatesigningrequests only\n")
    base = res[3]
    if not names:
        names = [o["metadata"]["name"] for o in rest.get(ctx.cluster, base)["items"]]
    status = 0
    blocks = []
    for n in names:
        try:
            o = rest.get(ctx.cluster, f"{base}/{n}")
        except rest.ApiError as e:
            ctx.err(server_error(e).text)
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
        raise OcFailure(f'invalid argument "{text}" for "--{flag}" flag: time: invalid duration '
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
        raise OcFailure("error: --timeout must be greater than the --minimum-stable-period\n")
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
        raise OcFailure("error: the drill's oc knows only `oc adm certificate approve|deny NAME`\n")
    verb, names = words[1], words[2:]
    if not names:
        raise OcFailure("error: one or more CSRs must be specified as <name> or -f <filename>\n")
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
            ctx.err(server_error(e).text)
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
            if a.partition("=")[0] in VALUE_FLAGS and "=" not in a and (
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
            flags, _ = parse_flags(rest, sub)
            ctx.out(f"Client Version: {ctx.cluster.api.version}\n"
                    "Kustomize Version: v5.0.1\n")
            try:
                connect(ctx, flags)
            except OcFailure as e:
                ctx.err(e.text)
                return 1
            ctx.out(f"Server Version: {ctx.cluster.api.version}\n"
                    "Kubernetes Version: v1.25.16+9946c63\n")
            return 0
        if sub not in ("whoami", "get", "describe", "patch", "delete", "adm"):
            raise OcFailure(f"error: unknown command \"{sub}\" for \"oc\"\n"
                        "Run 'oc --help' for usage.\n")
        flags, words = parse_flags(rest, sub)
        if sub == "adm" and words[:1] == ["wait-for-stable-cluster"]:
            connect(ctx, flags)
            return await _wait_for_stable(ctx, flags)
        if sub == "adm" and words[:2] == ["certificate", "approve"] and not words[2:]:
            raise OcFailure("error: one or more CSRs must be specified as <name> or -f <filename>\n")
        connect(ctx, flags)
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
    except OcFailure as e:
        ctx.err(e.text)
        return e.status
