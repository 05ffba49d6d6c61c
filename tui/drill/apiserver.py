"""The drill cluster's simulated OpenShift API, on loopback, over the same DrillCluster state.

It speaks the JSON the kubernetes client reads (shapes follow real clusters' objects), checks
a bearer token, and goes away (connection refused) when no host runs a kube-apiserver, as a
real API does in a disaster. This is the only stand-in for a real program in the project.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from tui.drill.model import DrillCluster

ENCRYPTED_GRS = {
    "openshiftapiserver": "routes.route.openshift.io",
    "kubeapiserver": "secrets, configmaps",
    "authentication": "oauthaccesstokens.oauth.openshift.io, oauthauthorizetokens.oauth.openshift.io",
}


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.json_response(body, status=code)


def _condition(ctype: str, c: dict | None, when: str) -> dict | None:
    if c is None:
        return None
    out: dict[str, Any] = {"lastTransitionTime": when}
    if c.get("message"):
        out["message"] = c["message"]
    if c.get("reason"):
        out["reason"] = c["reason"]
    out["status"] = c.get("status", "Unknown")
    out["type"] = ctype
    return out


class DrillApiServer:
    def __init__(self, cluster: DrillCluster, address: str = "127.0.0.1"):
        self.cluster = cluster
        self.address = address
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._uids: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        r = app.router
        r.add_get("/version", self._version)
        r.add_get("/api", self._api_versions)
        r.add_get("/api/v1/nodes", self._nodes)
        r.add_get("/api/v1/namespaces/{ns}/pods", self._pods)
        r.add_get("/api/v1/namespaces/openshift-etcd-operator/pods/{name}/log", self._operator_log)
        r.add_get("/apis/config.openshift.io/v1/apiservers/cluster", self._apiserver)
        r.add_patch("/apis/config.openshift.io/v1/apiservers/cluster", self._patch_apiserver)
        r.add_get("/apis/config.openshift.io/v1/clusterversions/version", self._clusterversion)
        r.add_get("/apis/config.openshift.io/v1/proxies/cluster", self._proxy)
        for plural in ("openshiftapiservers", "kubeapiservers", "authentications", "etcds"):
            r.add_get(f"/apis/operator.openshift.io/v1/{plural}/cluster", self._operator)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        if self.cluster.api.reachable:
            await self._listen()
        else:  # the API servers are down from the start: keep the port for when they return
            import socket

            with socket.socket() as sock:
                sock.bind((self.address, 0))
                self.port = sock.getsockname()[1]
        self.cluster.listeners.append(self._follow_reachability)

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.address, self.port, reuse_address=True)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _follow_reachability(self) -> None:
        import asyncio

        want = self.cluster.api.reachable
        if want and self._site is None:
            asyncio.get_running_loop().create_task(self._listen())
        elif not want and self._site is not None:
            site, self._site = self._site, None
            asyncio.get_running_loop().create_task(site.stop())

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

    # --- plumbing -------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        if not self.cluster.api.reachable:
            # the API servers are gone: drop even kept-alive connections, as a dead host would
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)  # never reaches the client: the socket is gone
        token = self.cluster.api.token
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return _status(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    def _uid(self, key: str) -> str:
        return self._uids.setdefault(key, str(uuid.uuid5(uuid.NAMESPACE_URL, key)))

    def _meta(self, name: str, namespace: str | None = None, **extra) -> dict:
        meta = {"creationTimestamp": "2026-01-05T09:14:55Z", "name": name,
                "resourceVersion": str(40000 + len(name)), "uid": self._uid(f"{namespace}/{name}")}
        if namespace:
            meta["namespace"] = namespace
        meta.update(extra)
        return meta

    def _now(self) -> str:
        return self.cluster.clock.now_dt().strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- handlers -------------------------------------------------------------------------

    async def _version(self, request: web.Request) -> web.Response:
        return web.json_response({"major": "1", "minor": "25", "gitVersion": "v1.25.16+9946c63",
                                  "platform": "linux/amd64"})

    async def _api_versions(self, request: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"],
                                  "serverAddressByClientCIDRs": []})

    async def _nodes(self, request: web.Request) -> web.Response:
        api = self.cluster.api
        items = []
        for h in self.cluster.hosts:
            ready = api.node_ready.get(h.name, h.up and h.kubelet_running)
            role = "master" if h.role == "control-plane" else "worker"
            labels = {"kubernetes.io/hostname": h.name, "kubernetes.io/os": "linux",
                      f"node-role.kubernetes.io/{role}": "", "node.openshift.io/os_id": "rhcos"}
            if role == "master":
                labels["node-role.kubernetes.io/control-plane"] = ""
            ready_cond = {
                "lastHeartbeatTime": self._now(), "lastTransitionTime": "2026-01-05T09:27:55Z",
                "message": "kubelet is posting ready status" if ready else
                           "Kubelet stopped posting node status.",
                "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                "status": "True" if ready else "Unknown", "type": "Ready"}
            items.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": self._meta(h.name, labels=labels),
                "spec": {},
                "status": {
                    "addresses": [{"address": h.address, "type": "InternalIP"},
                                  {"address": h.name, "type": "Hostname"}],
                    "conditions": [ready_cond],
                    "nodeInfo": {
                        "architecture": "amd64", "bootID": self._uid(f"boot/{h.name}"),
                        "containerRuntimeVersion": "cri-o://1.25.4-4.rhaos4.12.gitb9319a2.el8",
                        "kernelVersion": "4.18.0-372.73.1.el8_6.x86_64",
                        "kubeProxyVersion": "v1.25.16+9946c63",
                        "kubeletVersion": "v1.25.16+9946c63",
                        "machineID": self._uid(f"machine/{h.name}").replace("-", ""),
                        "operatingSystem": "linux",
                        "osImage": "Red Hat Enterprise Linux CoreOS 412.86.202310170023-0 (Ootpa)",
                        "systemUUID": self._uid(f"system/{h.name}")},
                },
            })
        return web.json_response({"apiVersion": "v1", "kind": "NodeList",
                                  "metadata": {"resourceVersion": "50000"}, "items": items})

    async def _pods(self, request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        selector = request.query.get("labelSelector", "")
        items = []
        if ns == "openshift-etcd-operator" and selector in ("", "app=etcd-operator"):
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": self._meta("etcd-operator-6b8f5d9c4f-x7k2q", ns,
                                                 labels={"app": "etcd-operator"}),
                          "spec": {"nodeName": self.cluster.control_plane()[0].name},
                          "status": {"phase": "Running"}})
        if ns == "openshift-etcd" and selector in ("", "k8s-app=etcd", "app=etcd"):
            for h in self.cluster.control_plane():
                running = h.container("etcd") is not None
                name = f"etcd-{h.name}"
                items.append({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": self._meta(name, ns, labels={
                        "app": "etcd", "etcd": "true", "k8s-app": "etcd",
                        "revision": str(self.cluster.api.etcd_revision)}),
                    "spec": {"nodeName": h.name, "containers": [
                        {"name": c, "image": "quay.io/openshift-release-dev/ocp-v4.0-art-dev"}
                        for c in ("etcdctl", "etcd", "etcd-metrics", "etcd-readyz")]},
                    "status": {
                        "phase": "Running" if running else "Pending",
                        "hostIP": h.address, "podIP": h.address,
                        "conditions": [{"type": "Ready",
                                        "status": "True" if running else "False"}],
                        "containerStatuses": [
                            {"name": "etcd", "ready": running, "restartCount": 0,
                             "image": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:"
                                      + "5d0c" * 16,
                             "imageID": "quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:"
                                        + "5d0c" * 16,
                             "containerID": "cri-o://" + self._uid(f"etcd/{h.name}")
                                            .replace("-", "") * 2,
                             "state": {"running": {"startedAt": "2026-01-05T09:30:00Z"}}
                             if running else {"waiting": {"reason": "ContainerCreating"}}}],
                    },
                })
        return web.json_response({"apiVersion": "v1", "kind": "PodList",
                                  "metadata": {"resourceVersion": "50000"}, "items": items})

    async def _operator_log(self, request: web.Request) -> web.Response:
        """cluster-etcd-operator's log, with the lines its defrag controller writes."""
        now = self.cluster.clock.now_dt()
        lines = []
        for i, m in enumerate(self.cluster.etcd.members):
            stamp = now.strftime("%m%d %H:%M:%S") + f".{123456 + i:06d}"
            lines.append(f"I{stamp}       1 defragcontroller.go:295] etcd member has been "
                         f"defragmented: {m.name}, memberID: {m.member_id}")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    def _apiserver_obj(self) -> dict:
        spec: dict[str, Any] = {"audit": {"profile": "Default"}}
        if self.cluster.api.encryption_type:
            spec["encryption"] = {"type": self.cluster.api.encryption_type}
        return {"apiVersion": "config.openshift.io/v1", "kind": "APIServer",
                "metadata": self._meta("cluster", generation=2), "spec": spec}

    async def _apiserver(self, request: web.Request) -> web.Response:
        return web.json_response(self._apiserver_obj())

    async def _patch_apiserver(self, request: web.Request) -> web.Response:
        ctype = request.headers.get("Content-Type", "")
        if "merge-patch+json" not in ctype:
            return _status(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format - accepted media "
                           f"types include: application/json-patch+json, "
                           f"application/merge-patch+json, application/apply-patch+yaml")
        try:
            patch = json.loads(await request.text())
            new_type = patch.get("spec", {}).get("encryption", {}).get("type")
        except (ValueError, AttributeError):
            return _status(400, "BadRequest", "invalid JSON in merge patch")
        allowed = {"", "identity", "aescbc", "aesgcm"}
        if new_type is not None:
            if new_type not in allowed:
                return _status(422, "Invalid",
                               f'APIServer.config.openshift.io "cluster" is invalid: '
                               f'spec.encryption.type: Unsupported value: "{new_type}": '
                               f'supported values: "", "identity", "aescbc", "aesgcm"')
            self.cluster.api.encryption_type = new_type
            self.cluster.changed()
        return web.json_response(self._apiserver_obj())

    def _etcd_conditions(self) -> dict[str, dict]:
        """The etcd operator's conditions as cluster-etcd-operator words them."""
        etcd = self.cluster.etcd
        voters = etcd.voting_members()
        up = [m for m in voters if m.running]
        down = [m.name for m in voters if not m.running]
        if not down:
            available = {"status": "True", "reason": "EtcdQuorate",
                         "message": f"{len(voters)} members are available"}
        else:
            available = {"status": "True" if etcd.has_quorum() else "False",
                         "reason": "EtcdQuorate" if etcd.has_quorum() else "NoQuorum",
                         "message": f"{len(up)} of {len(voters)} members are available, "
                                    + ", ".join(f"{n} is unhealthy" for n in down)}
        rev = self.cluster.api.etcd_revision
        n = len(self.cluster.control_plane())
        return {
            "NodeInstallerProgressing": {"status": "False", "reason": "AllNodesAtLatestRevision",
                                         "message": f"{n} nodes are at revision {rev}"},
            "EtcdMembersAvailable": available,
        }

    async def _clusterversion(self, request: web.Request) -> web.Response:
        v = self.cluster.api.version
        return web.json_response({
            "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
            "metadata": self._meta("version"),
            "spec": {"clusterID": self._uid("clusterid"), "channel": "stable-" + ".".join(v.split(".")[:2])},
            "status": {
                "desired": {"version": v, "image": f"quay.io/openshift-release-dev/ocp-release:{v}-x86_64"},
                "history": [{"state": "Completed", "version": v, "verified": False,
                             "startedTime": "2026-01-05T09:14:59Z",
                             "completionTime": "2026-01-05T09:45:28Z",
                             "image": f"quay.io/openshift-release-dev/ocp-release:{v}-x86_64"}],
                "conditions": [{"type": "Available", "status": "True",
                                "message": f"Done applying {v}",
                                "lastTransitionTime": "2026-01-05T09:45:28Z"}],
            }})

    async def _proxy(self, request: web.Request) -> web.Response:
        proxy = self.cluster.api.proxy
        return web.json_response({"apiVersion": "config.openshift.io/v1", "kind": "Proxy",
                                  "metadata": self._meta("cluster"),
                                  "spec": {**proxy, "trustedCA": {"name": ""}},
                                  "status": dict(proxy)})

    async def _operator(self, request: web.Request) -> web.Response:
        plural = request.path.rsplit("/", 2)[-2]
        kinds = {"openshiftapiservers": ("OpenShiftAPIServer", "openshiftapiserver"),
                 "kubeapiservers": ("KubeAPIServer", "kubeapiserver"),
                 "authentications": ("Authentication", "authentication"),
                 "etcds": ("Etcd", "etcd")}
        kind, key = kinds[plural]
        now = self._now()
        conditions: list[dict] = []
        if key == "etcd":
            derived = {**self._etcd_conditions(), **self.cluster.api.etcd_conditions}
            for ctype, c in derived.items():
                cond = _condition(ctype, c, now)
                if cond:
                    conditions.append(cond)
        else:
            cond = _condition("Encrypted", self.cluster.api.encrypted.get(key), now)
            if cond:
                conditions.append(cond)
        rev = self.cluster.api.etcd_revision
        status: dict[str, Any] = {"conditions": conditions, "latestAvailableRevision": rev}
        if key in ("etcd", "kubeapiserver"):
            status["nodeStatuses"] = [{"currentRevision": rev, "nodeName": h.name}
                                      for h in self.cluster.control_plane()]
        return web.json_response({
            "apiVersion": "operator.openshift.io/v1", "kind": kind,
            "metadata": self._meta("cluster", generation=3),
            "spec": {"managementState": "Managed", "logLevel": "Normal",
                     "unsupportedConfigOverrides": None, "observedConfig": None},
            "status": status})
