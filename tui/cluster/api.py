"""The Kubernetes/OpenShift API, read through kubernetes.aio on the console's own event loop.

Everything here degrades to "API unreachable" with a plain reason: in a disaster the API is
usually gone, and every SSH-based view must keep working without it. In read-only mode the
REST layer itself refuses any verb but GET/HEAD, and the subresources that act through a GET
(exec, attach, portforward, proxy, a followed log), so no screen can send a write by mistake.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tui.errors import ConfigError, ReadOnlyRefused

OPERATOR_GROUP = ("operator.openshift.io", "v1")
CONFIG_GROUP = ("config.openshift.io", "v1")
ENCRYPTION_OPERATORS = {  # status key -> plural of the operator.openshift.io resource
    "openshiftapiserver": "openshiftapiservers",
    "kubeapiserver": "kubeapiservers",
    "authentication": "authentications",
}
ETCD_CONDITIONS = ("NodeInstallerProgressing", "EtcdMembersAvailable")


@dataclass(frozen=True)
class Condition:
    status: str
    reason: str | None
    message: str | None

    def to_json(self) -> dict:
        return {"status": self.status, "reason": self.reason, "message": self.message}


@dataclass(frozen=True)
class NodeInfo:
    name: str
    ready: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class EtcdPod:
    name: str
    node: str
    phase: str


@dataclass
class ApiSnapshot:
    reachable: bool
    error: str | None = None
    configured: bool = True
    version: str | None = None
    encryption_type: str | None = None
    encrypted: dict[str, Condition | None] = field(default_factory=dict)
    nodes: list[NodeInfo] = field(default_factory=list)
    etcd_pods: list[EtcdPod] = field(default_factory=list)
    etcd_conditions: dict[str, Condition | None] = field(default_factory=dict)
    auto_defrag: str | None = None  # the etcd operator's own defrag: enabled/disabled
    collected_at: float = field(default_factory=time.time)
    # a brief look (the readiness wall's, over many clusters): version and encryption only;
    # nodes, etcd pods, the etcd operator's conditions and auto_defrag were not read
    brief: bool = False


def resolve_env_proxy(cfg) -> None:
    """HTTPS_PROXY / NO_PROXY (as kubectl honours them) read once, for the API server's URL,
    instead of by aiohttp on every request (with ~/.netrc, which kubectl does not read): with
    a hundred clusters on the readiness wall that was a tenth of the console's time."""
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    if not cfg.proxy:
        try:
            proxy, auth = get_env_proxy_for_url(URL(cfg.host))
        except (LookupError, ValueError):
            proxy, auth = None, None
        if proxy is not None:
            if auth is not None:
                # in the proxy's URL, not cfg.proxy_headers: aiohttp sends proxy_headers only
                # on a CONNECT (an https API server), and a plain-http request through the
                # proxy went without its Proxy-Authorization; from the URL's user:password
                # aiohttp sends it on both
                proxy = proxy.with_user(auth.login).with_password(auth.password)
            cfg.proxy = str(proxy)
    cfg.client_session_kwargs = {"trust_env": False}


def _desired_version(clusterversion: dict) -> str | None:
    return ((clusterversion.get("status") or {}).get("desired") or {}).get("version")


def _encryption_type(apiserver: dict) -> str:
    return ((apiserver.get("spec") or {}).get("encryption") or {}).get("type") or "identity"


def _condition(obj: dict | None, ctype: str) -> Condition | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return Condition(str(c.get("status", "Unknown")), c.get("reason"), c.get("message"))
    return None


def describe_api_error(exc: BaseException, server: str | None) -> str:
    """One plain sentence for why the API did not answer."""
    where = f" at {server}" if server else ""
    status = getattr(exc, "status", None)
    if status == 401:
        return f"the API{where} rejected our credentials (401): the kubeconfig's token or " \
               f"certificate is no longer valid"
    if status == 403:
        return f"the API{where} refused access (403): cluster-admin is needed"
    if status:
        return f"the API{where} answered {status} {getattr(exc, 'reason', '')}".strip()
    if isinstance(exc, asyncio.TimeoutError):
        return f"the API{where} did not answer in time"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    if "Connect call failed" in text or "Cannot connect" in text or \
            isinstance(exc, ConnectionRefusedError):
        return f"the API{where} refuses connections (API servers down?)"
    return f"the API{where} is unreachable: {text}"


class ClusterApi:
    """Reads (and, outside read-only mode, patches) the cluster through kubeconfig."""

    def __init__(self, kubeconfig: str | None, context: str | None = None, *,
                 read_only: bool = False, timeout: float = 5.0):
        self.kubeconfig = kubeconfig
        self.context = context
        self.read_only = read_only
        self.timeout = timeout
        self.server: str | None = None
        self._client = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_inventory(cls, inventory, *, read_only: bool = False) -> "ClusterApi":
        path = inventory.kubeconfig
        if path is None and os.environ.get("KUBECONFIG"):
            # read now, not at the client's import; the loader merges a:b lists as kubectl does
            path = os.environ["KUBECONFIG"]
        return cls(path, inventory.context, read_only=read_only)

    @property
    def configured(self) -> bool:
        return self.kubeconfig is not None

    async def _api_client(self):
        async with self._lock:
            if self._client is not None:
                return self._client
            from kubernetes.aio import client as kclient
            from kubernetes.aio import config as kconfig

            cfg = kclient.Configuration()
            try:
                await kconfig.load_kube_config(config_file=self.kubeconfig,
                                               context=self.context,
                                               client_configuration=cfg,
                                               persist_config=False)
            except (kconfig.ConfigException, OSError, ValueError, TypeError, KeyError) as e:
                where = self.kubeconfig or os.environ.get("KUBECONFIG", "kubeconfig")
                raise ConfigError(f"cannot use the kubeconfig: {e}", where=where,
                                  hint="Check the file and the context name") from None
            cfg.retries = 0  # we poll; a retry storm against a dead API helps nobody
            resolve_env_proxy(cfg)
            self.server = cfg.host
            api_client = kclient.ApiClient(cfg)
            if self.read_only:
                _guard_read_only(api_client)
            self._client = api_client
            return api_client

    async def warm_up(self) -> None:
        """Load the client and the kubeconfig early (the client's imports take a while), so
        the first status does not wait for them after the SSH sessions are up."""
        if self.configured:
            try:
                await self._api_client()
            except ConfigError:
                pass  # snapshot() reports it

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def get_cluster_object(self, group_version: tuple[str, str], plural: str,
                                 name: str) -> dict:
        """A cluster-scoped custom object, as CustomObjectsApi.get_cluster_custom_object
        reads it (the same request, the same ApiException on an error status), without
        that API's per-call argument validation: a wall of a hundred clusters reads five
        of these per cluster per look."""
        group, version = group_version
        return await self.get_json(
            "/apis/" + "/".join(quote(part, safe="") for part in (group, version, plural, name)))

    async def patch_cluster_object(self, group_version: tuple[str, str], plural: str,
                                   name: str, patch: dict) -> dict:
        """A merge patch (application/merge-patch+json), as `oc patch --type=merge` sends."""
        if self.read_only:
            raise ReadOnlyRefused(f"refused in read-only mode: patch {plural}/{name}",
                                  where="API", hint="Start the console without --read-only")
        from kubernetes.aio import client as kclient

        api = kclient.CustomObjectsApi(await self._api_client())
        return await api.patch_cluster_custom_object(
            group_version[0], group_version[1], plural, name, patch,
            _content_type="application/merge-patch+json", _request_timeout=self.timeout)

    async def get_json(self, path: str, query: dict[str, str] | None = None) -> dict:
        """GET a core API path as plain JSON.

        The generated CoreV1Api module takes ~2 s to import (pydantic models for the whole
        core API); the status view needs two lists from it, so we ask for them directly.
        """
        api_client = await self._api_client()
        params = await api_client.param_serialize(
            method="GET", resource_path=path, query_params=list((query or {}).items()),
            header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        response = await api_client.call_api(*params, _request_timeout=self.timeout)
        await response.read()
        return api_client.response_deserialize(
            response_data=response, response_types_map={"200": "object"}).data

    async def request_json(self, method: str, path: str, query: dict[str, str] | None = None,
                           body: Any = None, content_type: str = "application/json") -> dict:
        """Any verb on an API path, JSON in and out (the restore's delete and CSR approval).

        A write in read-only mode is refused here, before the client's own guard."""
        method = method.upper()
        why = read_only_refusal(method, path + ("?" + urlencode(query) if query else "")) \
            if self.read_only else None
        if why:
            raise ReadOnlyRefused(f"refused in read-only mode: {why}", where="API",
                                  hint="Start the console without --read-only")
        api_client = await self._api_client()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        params = await api_client.param_serialize(
            method=method, resource_path=path, query_params=list((query or {}).items()),
            header_params=headers, body=body, auth_settings=["BearerToken"])
        response = await api_client.call_api(*params, _request_timeout=self.timeout)
        await response.read()
        return api_client.response_deserialize(
            response_data=response,
            response_types_map={"200": "object", "201": "object", "202": "object"}).data

    async def delete_json(self, path: str, query: dict[str, str] | None = None) -> dict:
        """DELETE an object or, with selectors in `query`, a collection."""
        return await self.request_json("DELETE", path, query)

    async def approve_csr(self, name: str, reason: str = "etcd-drApprove",
                          message: str = "Approved by etcd-dr after review") -> dict:
        """What `oc adm certificate approve` does: PUT the CSR to its approval subresource
        with an Approved condition added."""
        base = f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}"
        if self.read_only:
            raise ReadOnlyRefused(f"refused in read-only mode: approve CSR {name}", where="API",
                                  hint="Start the console without --read-only")
        csr = await self.get_json(base)
        status = csr.setdefault("status", {}) or {}
        csr["status"] = status
        conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Approved"]
        conditions.append({"type": "Approved", "status": "True", "reason": reason,
                           "message": message})
        status["conditions"] = conditions
        return await self.request_json("PUT", f"{base}/approval", body=csr)

    async def get_text(self, path: str, query: dict[str, str] | None = None) -> str:
        """GET a path whose answer is plain text (pod logs)."""
        api_client = await self._api_client()
        params = await api_client.param_serialize(
            method="GET", resource_path=path, query_params=list((query or {}).items()),
            header_params={"Accept": "text/plain"}, auth_settings=["BearerToken"])
        response = await api_client.call_api(*params, _request_timeout=self.timeout)
        await response.read()
        if not 200 <= response.status < 300:
            api_client.response_deserialize(response_data=response,
                                             response_types_map={"200": "str"})
        data = response.data
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)

    async def auto_defrag_events(self) -> dict[str, str | None]:
        """The etcd operator's last automatic defrag success and failure, from its log:
        `etcd member has been defragmented: <name>, memberID: <id>` and
        `failed defrag on member: <name>, memberID: <id>: <error>`."""
        ns = "openshift-etcd-operator"
        pods = await self.get_json(f"/api/v1/namespaces/{ns}/pods",
                                   {"labelSelector": "app=etcd-operator"})
        items = pods.get("items") or []
        if not items:
            return {"success": None, "failure": None, "error": "no etcd-operator pod"}
        name = (items[0].get("metadata") or {}).get("name", "")
        log = await self.get_text(f"/api/v1/namespaces/{ns}/pods/{name}/log",
                                  {"tailLines": "5000"})
        success = failure = None
        for line in log.splitlines():
            if "etcd member has been defragmented:" in line:
                success = line.strip()
            elif "failed defrag on member:" in line:
                failure = line.strip()
        return {"success": success, "failure": failure, "error": None}

    async def _nodes(self) -> list[NodeInfo]:
        nodes = await self.get_json("/api/v1/nodes")
        out = []
        for n in nodes.get("items") or []:
            meta, status = n.get("metadata") or {}, n.get("status") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in status.get("conditions") or [])
            roles = tuple(sorted(k.split("/", 1)[1] for k in meta.get("labels") or {}
                                 if k.startswith("node-role.kubernetes.io/")))
            out.append(NodeInfo(meta.get("name", "?"), ready, roles))
        return out

    async def _etcd_pods(self) -> list[EtcdPod]:
        pods = await self.get_json("/api/v1/namespaces/openshift-etcd/pods",
                                   {"labelSelector": "k8s-app=etcd"})
        return [EtcdPod((p.get("metadata") or {}).get("name", "?"),
                        (p.get("spec") or {}).get("nodeName") or "",
                        (p.get("status") or {}).get("phase") or "Unknown")
                for p in pods.get("items") or []]

    async def snapshot(self, brief: bool = False) -> ApiSnapshot:
        """Everything the status view reads from the API, or why it could not be read.
        `brief`: only the version and the encryption (type and conditions), five requests
        instead of nine: what the readiness wall reads of each of many clusters."""
        if not self.configured:
            return ApiSnapshot(reachable=False, configured=False,
                               error="no kubeconfig: API views are off (set kubeconfig in the "
                                     "inventory or KUBECONFIG)")
        try:
            async with asyncio.timeout(self.timeout + 1):  # not wait_for (Fleet.close says why)
                return await self._snapshot(brief)
        except ConfigError as e:
            return ApiSnapshot(reachable=False, error=str(e))
        except Exception as e:  # any client failure means "unreachable", said plainly
            return ApiSnapshot(reachable=False, error=describe_api_error(e, self.server))

    async def _auto_defrag(self) -> str:
        """The operator defragments by itself unless the etcd-disable-defrag ConfigMap exists."""
        try:
            await self.get_json("/api/v1/namespaces/openshift-etcd/configmaps/"
                                "etcd-disable-defrag")
        except Exception as e:
            if getattr(e, "status", None) == 404:
                return "enabled (no etcd-disable-defrag ConfigMap)"
            return f"unknown ({describe_api_error(e, self.server)})"
        return "disabled (ConfigMap openshift-etcd/etcd-disable-defrag is present)"

    async def _snapshot(self, brief: bool = False) -> ApiSnapshot:
        details = () if brief else (
            self._nodes(), self._etcd_pods(),
            self.get_cluster_object(OPERATOR_GROUP, "etcds", "cluster"), self._auto_defrag())
        cv, apiserver, *rest = await asyncio.gather(
            self.get_cluster_object(CONFIG_GROUP, "clusterversions", "version"),
            self.get_cluster_object(CONFIG_GROUP, "apiservers", "cluster"),
            *(self.get_cluster_object(OPERATOR_GROUP, plural, "cluster")
              for plural in ENCRYPTION_OPERATORS.values()),
            *details,
        )
        encs, rest = rest[:len(ENCRYPTION_OPERATORS)], rest[len(ENCRYPTION_OPERATORS):]
        snap = ApiSnapshot(
            reachable=True, version=_desired_version(cv),
            encryption_type=_encryption_type(apiserver),
            encrypted={key: _condition(obj, "Encrypted")
                       for key, obj in zip(ENCRYPTION_OPERATORS, encs)},
            brief=brief)
        if not brief:
            nodes, pods, etcd, auto_defrag = rest
            snap.nodes, snap.etcd_pods, snap.auto_defrag = nodes, pods, auto_defrag
            snap.etcd_conditions = {c: _condition(etcd, c) for c in ETCD_CONDITIONS}
        return snap


# subresources that run something in a pod or reach past the API server: never in
# read-only mode, whatever the verb (exec and attach are a GET with an upgrade)
ACTING_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
_FALSE = {"0", "f", "F", "false", "False", "FALSE"}  # Go's strconv.ParseBool


def read_only_refusal(method: str, url: str) -> str | None:
    """Why a request may not be sent in read-only mode, or None: GET/HEAD only, never an
    exec/attach/portforward/proxy subresource, nor a pod's log with follow."""
    method = str(method).upper()
    if method not in ("GET", "HEAD"):
        return f"{method} {url}"
    parts = urlsplit(url)
    raw = [unquote(s) for s in parts.path.split("/")]
    if any(s in (".", "..") or "/" in s for s in raw):
        return f"{method} {url}: the path has dot segments or an encoded /"
    segments = [s for s in posixpath.normpath("/" + "/".join(raw)).split("/") if s]
    # /api/v1/... or /apis/GROUP/VERSION/... (after any path prefix of the server's URL)
    rest: list[str] | None = None
    for i, s in enumerate(segments):
        if s == "api":
            rest = segments[i + 2:]
            break
        if s == "apis":
            rest = segments[i + 3:]
            break
    if rest is None:
        return None
    if rest and rest[0] == "proxy":  # the old /api/v1/proxy/... form
        return f"{method} {url}: the proxy subresource"
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]  # a namespaced resource: RESOURCE/NAME/SUBRESOURCE
    subresource = rest[2] if len(rest) >= 3 else None
    if subresource in ACTING_SUBRESOURCES:
        return f"{method} {url}: the {subresource} subresource"
    if subresource == "log":
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "follow" and value not in _FALSE:
                return f"{method} {url}: a followed log"
    return None


def _guard_read_only(api_client: Any) -> None:
    """Refuse every write at the REST layer, below any screen or runbook."""
    rest = api_client.rest_client
    original = rest.request

    async def request(method, url, *args, **kwargs):
        why = read_only_refusal(method, url)
        if why:
            raise ReadOnlyRefused(f"refused in read-only mode: {why}", where="API",
                                  hint="Start the console without --read-only")
        return await original(method, url, *args, **kwargs)

    rest.request = request
