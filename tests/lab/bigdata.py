"""Real-size etcd data for the big lab tests (tests/test_lab_big.py, issue #13).

A member is filled to a gigabyte through etcd's v3 HTTP/JSON gateway (`POST /v3/kv/put`,
key and value base64), one request per key over keep-alive connections from a few threads:
no process per put, no gRPC stubs. Each value is VALUE_BYTES of bytes derived from its key
alone (a PRNG seeded with the key), so nothing of the gigabyte is kept in Python and
"check every key" reads the keys back in pages (`POST /v3/kv/range` with a limit) and
compares each value's sha256 with the one its key gives. Memory stays bounded by the page
size times the value size, whatever the total.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB
# under etcd's default --max-request-bytes (1.5 MiB) with the key and the request's framing
VALUE_BYTES = MiB - 4096
PAGE = 8  # keys per range request when reading back (8 MiB of values, ~11 MB of JSON)


def key_name(prefix: str, i: int) -> str:
    return f"{prefix}{i:06d}"


def value_of(key: str) -> bytes:
    """The value `key` holds: the same bytes every time, from the key alone."""
    return random.Random(key).randbytes(VALUE_BYTES)


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _prefix_end(prefix: str) -> bytes:
    """The range end that covers every key starting with prefix (etcd's `--prefix`)."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    raw[-1] += 1
    return bytes(raw)


class Gateway:
    """POSTs to one member's JSON gateway over one keep-alive connection (one per thread)."""

    def __init__(self, address: str, port: int = 2379, timeout: float = 60):
        self.address, self.port, self.timeout = address, port, timeout
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.address, self.port,
                                                                 timeout=self.timeout)
        return conn

    def post(self, path: str, body: str) -> dict:
        for attempt in (1, 2):  # a keep-alive connection the member closed: one reconnect
            conn = self._conn()
            try:
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        if response.status != 200:
            raise AssertionError(f"{path} on {self.address}: HTTP {response.status}: "
                                 f"{data[:500]!r}")
        return json.loads(data)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- etcd's operations, by their gateway paths --

    def put(self, key: str, value: bytes) -> int:
        # the body by hand: base64 needs no JSON escaping, and json.dumps of a 1.4 MB string
        # costs more than the put
        reply = self.post("/v3/kv/put", '{"key":"' + _b64(key) + '","value":"' + _b64(value)
                          + '"}')
        return int(reply["header"]["revision"])

    def delete_range(self, start: str, end: str | bytes) -> int:
        reply = self.post("/v3/kv/deleterange", json.dumps(
            {"key": _b64(start), "range_end": _b64(end)}))
        return int(reply.get("deleted", 0))

    def compact(self, revision: int) -> None:
        self.post("/v3/kv/compaction", json.dumps({"revision": revision, "physical": True}))

    def status(self) -> dict:
        """dbSize, dbSizeInUse, leader, revision (integers) of this member."""
        reply = self.post("/v3/maintenance/status", "{}")
        return {"dbSize": int(reply["dbSize"]), "dbSizeInUse": int(reply.get("dbSizeInUse", 0)),
                "leader": int(reply["leader"]), "member": int(reply["header"]["member_id"]),
                "revision": int(reply["header"]["revision"])}

    def keys_and_digests(self, prefix: str, page: int = PAGE):
        """(key, sha256 of its value) for every key under prefix, in key order, a page of
        `page` keys at a time."""
        start, end = prefix.encode(), _prefix_end(prefix)
        while True:
            reply = self.post("/v3/kv/range", json.dumps(
                {"key": _b64(start), "range_end": _b64(end), "limit": page}))
            kvs = reply.get("kvs") or []
            for kv in kvs:
                key = base64.b64decode(kv["key"]).decode()
                yield key, hashlib.sha256(base64.b64decode(kv.get("value", ""))).hexdigest()
            if not reply.get("more") or not kvs:
                return
            start = base64.b64decode(kvs[-1]["key"]) + b"\0"


@dataclass
class Fill:
    keys: int
    bytes: int
    seconds: float
    revision: int

    @property
    def rate(self) -> float:
        return self.bytes / MiB / self.seconds if self.seconds else 0.0


def fill(addresses: list[str], prefix: str, count: int, *, start: int = 0,
         workers: int = 6) -> Fill:
    """`count` keys of VALUE_BYTES each (keys start..start+count-1) put from `workers`
    threads, spread over the members at `addresses`: decoding a megabyte of JSON is most of
    a put's cost, and each member's gateway decodes its share."""
    gateways = [Gateway(a) for a in addresses]
    began = time.monotonic()

    def put(i: int) -> int:
        key = key_name(prefix, i)
        return gateways[i % len(gateways)].put(key, value_of(key))

    def close(_) -> None:
        time.sleep(0.05)  # every worker gets one
        for gateway in gateways:
            gateway.close()

    try:
        with ThreadPoolExecutor(workers) as pool:
            revisions = list(pool.map(put, range(start, start + count)))
            list(pool.map(close, range(workers)))  # the connections are per thread
    finally:
        close(None)
    return Fill(count, count * VALUE_BYTES, time.monotonic() - began, max(revisions))


def check_every_key(address: str, prefix: str, indices) -> int:
    """Every key under prefix is one of `indices` with the value its key gives, and every
    one of `indices` is there. Returns how many keys were read."""
    want = [key_name(prefix, i) for i in sorted(indices)]
    gateway = Gateway(address)
    seen = 0
    try:
        for key, digest in gateway.keys_and_digests(prefix):
            assert seen < len(want), f"{key}: more keys under {prefix} than the {len(want)} " \
                                     f"expected"
            assert key == want[seen], f"expected {want[seen]} next, read {key}"
            assert digest == hashlib.sha256(value_of(key)).hexdigest(), \
                f"{key}: its value changed"
            seen += 1
    finally:
        gateway.close()
    assert seen == len(want), f"read {seen} keys under {prefix}, expected {len(want)} " \
                              f"(first missing: {want[seen] if seen < len(want) else '-'})"
    return seen
