"""Probes several runbooks share: is an encryption migration under way, is a proxy set."""

from __future__ import annotations

from tui.cluster.api import CONFIG_GROUP, describe_api_error
from tui.runbooks.context import RunContext
from tui.secrets import REDACTED, register_proxy

PROXY_VARS = {"httpProxy": "HTTP_PROXY", "httpsProxy": "HTTPS_PROXY", "noProxy": "NO_PROXY"}


async def encryption_in_progress(ctx: RunContext) -> str | None:
    """Why encryption may be mid-migration, or None when it is certainly not."""
    snap = await ctx.api.snapshot()
    if not snap.reachable:
        return f"the API cannot tell whether encryption is in progress ({snap.error})"
    busy = [f"{op}: {c.reason}" for op, c in snap.encrypted.items()
            if c is not None and (c.reason or "").endswith("InProgress")]
    if busy:
        return "encryption or decryption is in progress (" + ", ".join(busy) + ")"
    return None


async def proxy_env(ctx: RunContext) -> dict:
    """HTTP_PROXY/HTTPS_PROXY/NO_PROXY from proxy/cluster (status first, as the docs read)."""
    if not ctx.api.configured:
        return {"unknown": "no kubeconfig"}
    try:
        obj = await ctx.api.get_cluster_object(CONFIG_GROUP, "proxies", "cluster")
    except Exception as e:  # unreachable API: the backup can still run without a proxy
        return {"unknown": describe_api_error(e, ctx.api.server)}
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    out = {}
    for field, var in PROXY_VARS.items():
        value = status.get(field) or spec.get(field)
        if value:
            out[var] = str(value)
    # a proxy URL's credentials are secrets by value from now on: whatever shape they take
    # in a command line, an output or a message, no output of this process shows them
    register_proxy(out)
    return out


async def reread_redacted_proxy(ctx: RunContext) -> None:
    """A resumed run takes its parameters from its journal, where a proxy's credentials
    are redacted: read proxy/cluster again rather than export `<redacted>` to a host."""
    proxy = ctx.params.get("proxy")
    if isinstance(proxy, dict) and any(REDACTED in str(v) for v in proxy.values()):
        ctx.params["proxy"] = await proxy_env(ctx)
