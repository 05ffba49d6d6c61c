"""The drill cluster's simulated OpenShift API, on loopback, over the same DrillCluster state.

It speaks the JSON the kubernetes client reads, checks a bearer token, and goes away
(connection refused) when no host runs a kube-apiserver, as a real API does in a disaster.
The objects themselves come from tui.drill.objects (shared with the drill hosts' `oc`); this
module is only the HTTP transport. This is the only stand-in for a real program in the
project.
"""

from __future__ import annotations

import asyncio
import json
import socket

from aiohttp import web

from tui.drill import controllers, rest
from tui.drill.model import DrillCluster


def _status(code: int, reason: str, message: str) -> web.Response:
    return _error(rest.ApiError(code, reason, message))


def _error(e: rest.ApiError) -> web.Response:
    return web.json_response(e.status(), status=e.code)


class DrillApiServer:
    def __init__(self, cluster: DrillCluster, address: str = "127.0.0.1"):
        self.cluster = cluster
        self.address = address
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._opening = False  # a _listen task is under way

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        if self.cluster.api.reachable:
            await self._listen()
        else:  # the API servers are down from the start: keep the port for when they return

            with socket.socket() as sock:
                sock.bind((self.address, 0))
                self.port = sock.getsockname()[1]
        self.cluster.listeners.append(self._follow_reachability)

    async def _listen(self) -> None:
        if self._runner is None:
            return
        site = web.TCPSite(self._runner, self.address, self.port, reuse_address=True)
        await site.start()
        self._site = site
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _open(self) -> None:
        try:
            if self._site is None and self.cluster.api.reachable:
                await self._listen()
        finally:
            self._opening = False

    def _follow_reachability(self) -> None:
        want = self.cluster.api.reachable
        if want and self._site is None and not self._opening and self._runner is not None:
            self._opening = True
            asyncio.get_running_loop().create_task(self._open())
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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        cluster = self.cluster
        controllers.tick(cluster)
        path = request.path
        query = dict(request.query)
        try:
            if request.method in ("GET", "HEAD"):
                result = rest.get(cluster, path, query)
                if isinstance(result, str):
                    return web.Response(text=result, content_type="text/plain")
                return web.json_response(result)
            if request.method in ("PATCH", "PUT"):
                ctype = request.headers.get("Content-Type", "")
                if request.method == "PATCH" and "merge-patch+json" not in ctype and \
                        "json-patch+json" not in ctype:
                    raise rest.ApiError(415, "UnsupportedMediaType",
                                           rest.UNSUPPORTED_MEDIA)
                try:
                    body = json.loads(await request.text() or "null")
                except ValueError:
                    raise rest.ApiError(400, "BadRequest",
                                           "error decoding patch: invalid JSON") from None
                if request.method == "PATCH":
                    return web.json_response(rest.patch(cluster, path, body, ctype))
                return web.json_response(rest.put(cluster, path, body))
            if request.method == "DELETE":
                return web.json_response(rest.delete(cluster, path, query))
            raise rest.ApiError(405, "MethodNotAllowed",
                                   "the server does not allow this method on the requested "
                                   "resource")
        except rest.ApiError as e:
            return _error(e)
