"""Cluster operations that keep working while the API comes and goes (the restore's API steps).

During a restore the external API is gone for a while, and RST-18 says what the procedure
does then: run `oc` on the recovery host with its localhost-recovery kubeconfig. Every
operation here therefore has two transports, chosen per call:

1. REST through the inventory's kubeconfig (ClusterApi), when it is configured and answers;
2. `oc` over SSH on the recovery host, privileged (root reads the recovery kubeconfig).

Each operation carries its `oc` command line: it is what plans, confirmations and journals
show, whichever transport carried it. Reads are `oc get --raw PATH`, so both transports
return the API's own JSON. When neither answers, the error names both failures.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlencode

from tui.errors import CommandFailed, ConfigError, EtcdDrError, ParseError, ReadOnlyRefused
from tui.fleet.commands import Command, Safety

RECOVERY_KUBECONFIG = ("/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/"
                       "node-kubeconfigs/localhost-recovery.kubeconfig")
# `oc patch <resource>/cluster` -> the operator.openshift.io plural
OPERATOR_RESOURCES = {"etcd": "etcds", "kubeapiserver": "kubeapiservers",
                      "kubecontrollermanager": "kubecontrollermanagers",
                      "kubescheduler": "kubeschedulers"}
MACHINE_NAMESPACE = "openshift-machine-api"
CSR_PATH = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
MACHINES_PATH = f"/apis/machine.openshift.io/v1beta1/namespaces/{MACHINE_NAMESPACE}/machines"
WEBHOOKS_PATH = "/apis/admissionregistration.k8s.io/v1/{kind}webhookconfigurations"
WEBHOOK_KINDS = ("validating", "mutating")
FAILURE_POLICIES = ("Fail", "Ignore")
JSON_PATCH = "application/json-patch+json"
OC_TIMEOUT = 60.0
REST_BACKOFF = 10.0  # after the API failed to answer, go straight to SSH for this long


class NotFound(EtcdDrError):
    """The API answered: no such object (404)."""

    exit_code = 1


class ApiUnavailable(CommandFailed):
    """Neither transport reached an API server (REST refused or timed out, and `oc` on the
    host could not connect either). After a restore the API servers restart more than once
    (each new revision rolls them): a wait for the API goes back to waiting on this."""


@dataclass(frozen=True)
class ClusterOp:
    """One operation: its `oc` form (what the operator reads) and its REST form."""

    oc_args: tuple[str, ...]  # the argv after `oc`
    mutating: bool
    rest: Callable[[Any], Awaitable[Any]] = field(compare=False)  # (ClusterApi) -> answer
    what: str = ""  # in plain words, for errors
    already_gone_ok: bool = False  # a delete of something that is not there is done
    json_out: bool = False  # the answer is the API's JSON (reads)

    @property
    def oc(self) -> str:
        """The command line as shown and journaled."""
        return "oc " + shlex.join(self.oc_args)

    def command(self) -> Command:
        """The command sent to the recovery host (RST-18: the recovery kubeconfig, as root)."""
        return Command.of("oc", *self.oc_args, privileged=True,
                          env=(("KUBECONFIG", RECOVERY_KUBECONFIG),), timeout=OC_TIMEOUT,
                          safety=Safety.MUTATING if self.mutating else Safety.READ)


@dataclass(frozen=True)
class OpResult:
    op: ClusterOp
    transport: str  # "API" | "SSH on <host>"
    value: Any  # the JSON of a read; the oc-style output of a write
    output: str  # what `oc` printed (or would have), for panes and journals


# --- the operations ---------------------------------------------------------------------------

def raw_path(path: str, query: dict[str, str] | None = None) -> str:
    return path + ("?" + urlencode(query, quote_via=quote, safe="=,/") if query else "")


def get_op(path: str, query: dict[str, str] | None = None) -> ClusterOp:
    """GET path: `oc get --raw PATH` (prints the JSON; exit 1 + NotFound on 404)."""
    return ClusterOp(("get", "--raw", raw_path(path, query)), False,
                     rest=lambda api: api.get_json(path, query), what=f"read {path}",
                     json_out=True)


def patch_operator_op(resource: str, patch: dict) -> ClusterOp:
    """A merge patch of an operator's `cluster` object: `oc patch etcd/cluster --type=merge
    -p JSON` (also kubeapiserver, kubecontrollermanager, kubescheduler)."""
    plural = OPERATOR_RESOURCES[resource]
    body = json.dumps(patch)

    async def rest(api) -> str:
        before = await api.request_json("GET", f"/apis/operator.openshift.io/v1/{plural}/cluster")
        after = await api.request_json("PATCH", f"/apis/operator.openshift.io/v1/{plural}/cluster",
                                       body=patch,
                                       content_type="application/merge-patch+json")
        same = (before or {}).get("spec") == (after or {}).get("spec")
        return f"{resource}.operator.openshift.io/cluster patched" + (" (no change)" if same
                                                                        else "")

    return ClusterOp(("patch", f"{resource}/cluster", "--type=merge", "-p", body), True,
                     rest=rest, what=f"patch {resource}/cluster")


def webhook_patch(index: int, policy: str) -> list[dict]:
    """The JSON patch that sets the failurePolicy of the index-th webhook of a
    configuration."""
    return [{"op": "replace", "path": f"/webhooks/{index}/failurePolicy", "value": policy}]


def patch_webhook_op(kind: str, name: str, index: int, policy: str) -> ClusterOp:
    """One admission webhook's failurePolicy (RST-15: Ignore for the duration, Fail again
    after): `oc patch validatingwebhookconfiguration NAME --type=json -p
    '[{"op":"replace","path":"/webhooks/I/failurePolicy","value":"Ignore"}]'` (also
    mutating); REST: PATCH .../{kind}webhookconfigurations/NAME, application/json-patch+json."""
    if kind not in WEBHOOK_KINDS:
        raise ValueError(f"a webhook configuration is validating or mutating, not {kind!r}")
    if policy not in FAILURE_POLICIES:
        raise ValueError(f"failurePolicy is Fail or Ignore, not {policy!r}")
    if int(index) < 0:
        raise ValueError(f"a webhook index is 0 or more, not {index}")
    patch = webhook_patch(int(index), policy)
    body = json.dumps(patch, separators=(",", ":"))
    path = f"{WEBHOOKS_PATH.format(kind=kind)}/{name}"
    resource = f"{kind}webhookconfiguration"

    async def rest(api) -> str:
        before = await api.request_json("GET", path)
        after = await api.request_json("PATCH", path, body=patch, content_type=JSON_PATCH)
        same = (before or {}).get("webhooks") == (after or {}).get("webhooks")
        return f"{resource}.admissionregistration.k8s.io/{name} patched" + (
            " (no change)" if same else "")

    return ClusterOp(("patch", resource, name, "--type=json", "-p", body), True, rest=rest,
                     what=f"set failurePolicy {policy} on {resource} {name} (webhook {index})")


def delete_nodes_op(names: list[str]) -> ClusterOp:
    """`oc delete node NAME [NAME...]` (a node already gone counts as deleted)."""
    names = list(names)

    async def rest(api) -> str:
        lines = []
        for name in names:
            try:
                await api.delete_json(f"/api/v1/nodes/{name}")
            except Exception as e:
                if getattr(e, "status", None) == 404:
                    lines.append(f'Error from server (NotFound): nodes "{name}" not found')
                    continue
                raise
            lines.append(f'node "{name}" deleted')
        return "\n".join(lines)

    return ClusterOp(("delete", "node", *names), True, rest=rest,
                     what=f"delete node {' '.join(names)}", already_gone_ok=True)


def delete_pods_op(namespace: str, selector: str, node: str | None = None) -> ClusterOp:
    """`oc -n NS delete pod -l SEL [--field-selector=spec.nodeName==N]` (deletecollection)."""
    query = {"labelSelector": selector}
    args = ["-n", namespace, "delete", "pod", "-l", selector]
    if node:
        query["fieldSelector"] = f"spec.nodeName={node}"
        args.append(f"--field-selector=spec.nodeName=={node}")

    async def rest(api) -> str:
        answer = await api.delete_json(f"/api/v1/namespaces/{namespace}/pods", query)
        names = [(i.get("metadata") or {}).get("name") for i in (answer or {}).get("items") or []]
        names = [n for n in names if n]
        if not names:
            return f"No resources found in {namespace} namespace."
        return "\n".join(f'pod "{n}" deleted' for n in names)

    return ClusterOp(tuple(args), True, rest=rest,
                     what=f"delete the {selector} pods in {namespace}"
                          + (f" on {node}" if node else ""))


def delete_machine_op(name: str) -> ClusterOp:
    """`oc delete machine -n openshift-machine-api NAME`."""

    async def rest(api) -> str:
        await api.delete_json(f"{MACHINES_PATH}/{name}")
        return f'machine.machine.openshift.io "{name}" deleted'

    return ClusterOp(("delete", "machine", "-n", MACHINE_NAMESPACE, name), True, rest=rest,
                     what=f"delete machine {name}")


def approve_csr_op(name: str) -> ClusterOp:
    """`oc adm certificate approve NAME` (REST: PUT .../approval with Approved added)."""

    async def rest(api) -> str:
        await api.approve_csr(name)
        return f"certificatesigningrequest.certificates.k8s.io/{name} approved"

    return ClusterOp(("adm", "certificate", "approve", name), True, rest=rest,
                     what=f"approve CSR {name}")


# --- the two transports ---------------------------------------------------------------------

class ClusterOps:
    """Runs ClusterOps over REST when the API answers, else `oc` on the recovery host."""

    def __init__(self, api, fleet, *, recovery_host: str | None, read_only: bool = False,
                 use_sudo: bool = True, clock=time.monotonic,
                 rest_backoff: float = REST_BACKOFF):
        self.api = api
        self.fleet = fleet
        self.recovery_host = recovery_host
        self.read_only = read_only
        self.use_sudo = use_sudo
        self._clock = clock
        self.rest_backoff = rest_backoff
        self._rest_down_until = 0.0
        self.last_transport: str | None = None
        self.last_rest_error: str | None = None

    @classmethod
    def for_context(cls, ctx) -> "ClusterOps":
        """The ClusterOps of a run (one per RunContext, following its recovery host)."""
        ops = ctx.cluster_ops
        host = ctx.params.get("recovery_host")
        if ops is None:
            ops = cls(ctx.api, ctx.fleet, recovery_host=host,
                      read_only=bool(getattr(ctx.backend, "read_only", False)),
                      use_sudo=ctx.use_sudo)
            ctx.cluster_ops = ops
        ops.recovery_host = host
        return ops

    # -- public operations

    async def get(self, path: str, query: dict[str, str] | None = None) -> dict:
        return (await self.execute(get_op(path, query))).value

    async def patch_operator(self, resource: str, patch: dict) -> OpResult:
        return await self.execute(patch_operator_op(resource, patch))

    async def patch_webhook(self, kind: str, name: str, index: int, policy: str) -> OpResult:
        return await self.execute(patch_webhook_op(kind, name, index, policy))

    async def delete_nodes(self, names: list[str]) -> OpResult:
        return await self.execute(delete_nodes_op(names))

    async def delete_pods(self, namespace: str, selector: str,
                          node: str | None = None) -> OpResult:
        return await self.execute(delete_pods_op(namespace, selector, node))

    async def delete_machine(self, name: str) -> OpResult:
        return await self.execute(delete_machine_op(name))

    async def approve_csr(self, name: str) -> OpResult:
        return await self.execute(approve_csr_op(name))

    # -- transport choice

    async def execute(self, op: ClusterOp) -> OpResult:
        if op.mutating and self.read_only:
            raise ReadOnlyRefused(f"refused in read-only mode: {op.oc}", where="API",
                                  hint="Start the console without --read-only")
        rest_error = None
        if self.api is not None and getattr(self.api, "configured", False) and \
                self._clock() >= self._rest_down_until:
            try:
                value = await op.rest(self.api)
            except ReadOnlyRefused:
                raise
            except Exception as e:  # the API's answer, or why there was none
                status = getattr(e, "status", None)
                if status == 404:
                    return self._not_found(op, "API", str(e))
                if status is not None and not (status in (401, 403, 429) or status >= 500):
                    raise CommandFailed(f"{op.oc}: the API answered {status} "
                                        f"{getattr(e, 'reason', '') or ''}".strip()
                                        + _body_message(e),
                                        hint="Check the object and retry") from None
                rest_error = _describe(e, getattr(self.api, "server", None))
                self.last_rest_error = rest_error
                if status is None:
                    self._rest_down_until = self._clock() + self.rest_backoff
            else:
                self.last_transport = "API"
                output = json.dumps(value) if op.json_out else str(value)
                return OpResult(op, "API", value, output)
        else:
            rest_error = self._why_no_rest()
        return await self._over_ssh(op, rest_error)

    def _why_no_rest(self) -> str:
        if self.api is None or not getattr(self.api, "configured", False):
            return "no kubeconfig in the inventory"
        return f"the API did not answer a moment ago ({self.last_rest_error or 'unreachable'})"

    async def _over_ssh(self, op: ClusterOp, rest_error: str) -> OpResult:
        host = self.recovery_host
        if not host:
            raise CommandFailed(f"{op.oc} could not be sent: {rest_error}; and there is no "
                                f"recovery host to run oc on",
                                hint="Wait for the API to answer, or choose the recovery host")
        status = self.fleet.status.get(host)
        if status is not None and not status.state.usable:
            ssh_error = f"{host} is {status.state.value}" + (
                f" ({status.error})" if status.error else "")
            raise self._both_failed(op, rest_error, ssh_error)
        result = await self.fleet.run_one(host, op.command(), quiet=not op.mutating)
        where = f"SSH on {host}"
        if result.ok:
            self.last_transport = where
            if op.json_out:
                try:
                    return OpResult(op, where, json.loads(result.stdout), result.stdout)
                except ValueError:
                    raise ParseError(f"{op.oc} on {host} printed no JSON: "
                                     f"{result.stdout.strip()[:200]}") from None
            return OpResult(op, where, result.stdout.strip(), result.stdout)
        err = (result.stderr or "").strip()
        if result.exit_status is not None and "(NotFound)" in err:
            return self._not_found(op, where, err)
        last = err.splitlines()[-1] if err else (result.error or f"exit status "
                                                                f"{result.exit_status}")
        raise self._both_failed(op, rest_error, f"{host} over SSH: {result.error or last}")

    def _not_found(self, op: ClusterOp, where: str, text: str) -> OpResult:
        self.last_transport = where
        if op.already_gone_ok:
            return OpResult(op, where, text.strip(), text)
        raise NotFound(f"{op.oc}: not found ({where})")

    @staticmethod
    def _both_failed(op: ClusterOp, rest_error: str, ssh_error: str) -> EtcdDrError:
        return ApiUnavailable(
            f"{op.what or op.oc} failed both ways: the API: {rest_error}; {ssh_error}",
            hint="The API servers are not answering yet: wait until kube-apiserver runs on the "
                 "recovery host (`sudo crictl ps --name kube-apiserver`) and retry")


def _describe(exc: BaseException, server: str | None) -> str:
    if isinstance(exc, (ConfigError, EtcdDrError)):
        return exc.message
    from tui.cluster.api import describe_api_error

    return describe_api_error(exc, server)


def _body_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    try:
        message = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError, TypeError):
        message = None
    return f": {message}" if message else ""
