"""ClusterApi and the environment's proxy (tui.cluster.api.resolve_env_proxy): HTTP(S)_PROXY /
NO_PROXY are read once for the API server's URL and given to the kubernetes client (with the
proxy URL's user:password as Proxy-Authorization), and the client's aiohttp session does not
trust the environment (no ~/.netrc read per request). Everything here talks to 127.0.0.1:
the API server's name (api.cluster.invalid) is never resolved, only the proxy sees it."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
import yaml

from tui.cluster.api import ClusterApi

UNREACHABLE = "http://api.cluster.invalid:6443"
VERSION_PATH = "/apis/config.openshift.io/v1/clusterversions/version"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
              "http_proxy", "https_proxy", "no_proxy", "all_proxy")


class StandIn:
    """A tiny HTTP server on 127.0.0.1 that answers every request itself (as a proxy that
    forwards would, or as the API server): it records each request line and its headers,
    and answers the clusterversion with version 4.20.3, anything else with {}."""

    def __init__(self):
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> StandIn:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def lines(self) -> list[str]:
        return [line for line, _ in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        line, *rest = head.decode("latin-1").split("\r\n")
        headers = {}
        for h in rest:
            if ":" in h:
                k, v = h.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        self.requests.append((line, headers))
        if line.startswith("CONNECT "):  # a tunnel to an HTTPS API server: refused here
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        target = line.split(" ")[1]
        body = {}
        if target.split("?")[0].endswith(VERSION_PATH):
            body = {"kind": "ClusterVersion", "metadata": {"name": "version"},
                    "status": {"desired": {"version": "4.20.3"}}}
        data = json.dumps(body).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(data) + data)
        await writer.drain()
        writer.close()


def _kubeconfig(tmp_path, server: str, token: str | None = "sha256~test-token") -> str:
    user = {"token": token} if token else {}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx"}))
    return str(path)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    # no operator's ~/.netrc: an empty one of our own unless a test writes one
    netrc = tmp_path / "netrc"
    netrc.write_text("")
    monkeypatch.setenv("NETRC", str(netrc))
    return monkeypatch


@pytest.fixture
async def proxy():
    server = await StandIn().start()
    yield server
    await server.stop()


@pytest.mark.parametrize("userinfo, password", [("user:pw", "pw"),
                                                 ("user:p%40ss%3Aw%25rd", "p@ss:w%rd")])
async def test_the_api_is_reached_through_http_proxy_with_its_credentials(
        tmp_path, clean_env, proxy, userinfo, password):
    clean_env.setenv("HTTP_PROXY", f"http://{userinfo}@127.0.0.1:{proxy.port}")
    api = ClusterApi(_kubeconfig(tmp_path, UNREACHABLE), timeout=5.0)
    await api.warm_up()  # the client's set-up first, as the console does at start: in a
    # loaded CI run the look ran out of its 6 s with the set-up inside it
    try:
        snap = await api.snapshot(brief=True)
    finally:
        await api.close()
    assert snap.reachable, snap.error
    assert snap.brief and snap.version == "4.20.3"
    assert f"GET {UNREACHABLE}{VERSION_PATH} HTTP/1.1" in proxy.lines
    assert all(line.split(" ")[1].startswith(UNREACHABLE + "/") for line in proxy.lines)
    assert len(proxy.requests) == 5  # the brief look, every request through the proxy
    expected = "Basic " + base64.b64encode(f"user:{password}".encode()).decode()
    for line, headers in proxy.requests:
        assert headers.get("proxy-authorization") == expected, (line, headers)
        assert headers.get("authorization") == "Bearer sha256~test-token"


async def test_an_https_api_server_is_tunnelled_with_the_proxy_credentials(
        tmp_path, clean_env, proxy):
    """The real case (an OpenShift API is https): HTTPS_PROXY's CONNECT carries the
    credentials; the proxy refusing the tunnel is an unreachable API without the password."""
    clean_env.setenv("HTTPS_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
    server = "https://api.cluster.invalid:6443"
    api = ClusterApi(_kubeconfig(tmp_path, server), timeout=3.0)
    try:
        snap = await api.snapshot(brief=True)
    finally:
        await api.close()
    assert not snap.reachable and "pw" not in snap.error, snap.error
    assert proxy.requests
    expected = "Basic " + base64.b64encode(b"user:pw").decode()
    for line, headers in proxy.requests:
        assert line == "CONNECT api.cluster.invalid:6443 HTTP/1.1"
        assert headers.get("proxy-authorization") == expected, headers
        assert "authorization" not in headers  # the API token stays inside the tunnel


async def test_no_proxy_reaches_the_api_server_directly(tmp_path, clean_env, proxy):
    direct = await StandIn().start()
    try:
        clean_env.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
        clean_env.setenv("NO_PROXY", "api.cluster.invalid,127.0.0.1")
        api = ClusterApi(_kubeconfig(tmp_path, f"http://127.0.0.1:{direct.port}"), timeout=5.0)
        await api.warm_up()  # the client's set-up first, as the console does at start: in a
        # loaded CI run the look ran out of its 6 s with the set-up inside it
        try:
            snap = await api.snapshot(brief=True)
        finally:
            await api.close()
    finally:
        await direct.stop()
    assert snap.reachable and snap.version == "4.20.3", snap.error
    assert proxy.requests == []
    assert f"GET {VERSION_PATH} HTTP/1.1" in direct.lines  # origin-form: no proxy between
    assert all("proxy-authorization" not in h for _, h in direct.requests)


async def test_no_proxy_for_the_unresolvable_name_means_no_proxy_and_no_answer(
        tmp_path, clean_env, proxy):
    """NO_PROXY names the API server: the proxy is not asked even though the name cannot be
    resolved here (the snapshot is unreachable, the proxy saw nothing)."""
    clean_env.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
    clean_env.setenv("NO_PROXY", "api.cluster.invalid")
    api = ClusterApi(_kubeconfig(tmp_path, UNREACHABLE), timeout=3.0)
    try:
        snap = await api.snapshot(brief=True)
    finally:
        await api.close()
    assert not snap.reachable
    assert proxy.requests == []


async def test_the_proxy_password_is_not_in_the_error_when_the_proxy_refuses(
        tmp_path, clean_env, proxy):
    clean_env.setenv("HTTP_PROXY", f"http://user:s3cretpw@127.0.0.1:{proxy.port}")
    await proxy.stop()  # nothing listens there now: the proxy refuses connections
    api = ClusterApi(_kubeconfig(tmp_path, UNREACHABLE), timeout=3.0)
    try:
        snap = await api.snapshot(brief=True)
        full = await api.snapshot()
    finally:
        await api.close()
    for s in (snap, full):
        assert not s.reachable and s.error
        assert "s3cretpw" not in s.error and "user:" not in s.error, s.error
    assert "refuses connections" in snap.error, snap.error


async def test_the_session_does_not_read_netrc(tmp_path, clean_env, proxy):
    """aiohttp with trust_env reads ~/.netrc ($NETRC) for every request's host and sends its
    login as Basic auth: kubectl does not, and neither does the console."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.cluster.invalid login netrcuser password netrcpw\n"
                     "machine 127.0.0.1 login netrcuser password netrcpw\n")
    clean_env.setenv("NETRC", str(netrc))
    clean_env.setenv("HTTP_PROXY", f"http://user:pw@127.0.0.1:{proxy.port}")
    api = ClusterApi(_kubeconfig(tmp_path, UNREACHABLE, token=None), timeout=5.0)
    await api.warm_up()  # the client's set-up first, as the console does at start: in a
    # loaded CI run the look ran out of its 6 s with the set-up inside it
    try:
        snap = await api.snapshot(brief=True)
    finally:
        await api.close()
    assert snap.reachable and snap.version == "4.20.3", snap.error
    assert proxy.requests
    for line, headers in proxy.requests:
        assert "authorization" not in headers, (line, headers)
        assert "netrcpw" not in json.dumps(headers)
