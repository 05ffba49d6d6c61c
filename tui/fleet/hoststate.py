"""A host's connection as the status view shows it: its state (HostState) and status
(HostStatus), and what a failed connection attempt says about the machine (failure_kind,
LOST_KINDS); the jump host's own failure (JumpHostError) and sudo's refusals."""

from __future__ import annotations

import asyncio
import errno
import re
import time
from dataclasses import dataclass, field
from enum import Enum

import asyncssh


class JumpHostError(OSError):
    """The jump host (ssh.jump) could not be reached or refused us, so no host behind it is
    reachable; the message names the jump host, not the host being connected."""


class HostState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    UNREACHABLE = "unreachable"
    AUTH_FAILED = "auth-failed"
    HOST_KEY_UNKNOWN = "host-key-unknown"
    HOST_KEY_MISMATCH = "host-key-mismatch"
    SUDO_DENIED = "sudo-denied"
    DISCONNECTED = "disconnected"

    @property
    def usable(self) -> bool:
        """Commands can be sent (sudo-denied hosts still run unprivileged commands)."""
        return self in (HostState.CONNECTED, HostState.SUDO_DENIED)


@dataclass
class HostStatus:
    state: HostState = HostState.CONNECTING
    error: str | None = None
    since: float = field(default_factory=time.time)
    reconnecting: bool = False
    fingerprint: str | None = None  # the key a host presented when it is not trusted yet
    # why the last connection attempt failed (failure_kind: refused, no-route, timeout, ...),
    # and since when (time.monotonic()) every attempt failed with a kind that says the machine
    # is not there (LOST_KINDS); None once any attempt gets further than that
    failure: str | None = None
    lost_signal_since: float | None = None
    server_key: str | None = None  # fingerprint of the host key of the last good connection


# what sudo prints when it refuses us (no NOPASSWD rule, not in sudoers, needs a terminal)
SUDO_DENIED_MARKERS = ("a password is required", "may not run sudo", "not in the sudoers",
                       "is not allowed to run sudo", "a terminal is required")

# Connection failures that say the machine (or its network) is not there: the kernel or a
# router answered "refused" / "no route" / "network unreachable". A timeout says nothing
# (a slow network, a firewall dropping packets, a host busy booting); an auth failure, a host
# key problem or sudo denied are a host that answers.
LOST_KINDS = ("refused", "no-route", "network-unreachable")
_ERRNO_KINDS = {errno.ECONNREFUSED: "refused", errno.EHOSTUNREACH: "no-route",
                errno.ENETUNREACH: "network-unreachable"}
_ERRNO_IN_TEXT = re.compile(r"\[Errno (\d+)\]")


def failure_kind(exc: BaseException) -> str:
    """The class of a failed connection attempt: one of LOST_KINDS, "timeout", "jump-host",
    "host-key", "auth" or "other"."""
    if isinstance(exc, JumpHostError):
        return "jump-host"  # the jump host's failure says nothing about this host
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return "host-key"
    if isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" in str(exc).lower():
        return "host-key"
    if isinstance(exc, asyncssh.PermissionDenied):
        return "auth"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(exc, OSError):
        if exc.errno in _ERRNO_KINDS:
            return _ERRNO_KINDS[exc.errno]
        if exc.errno == errno.ETIMEDOUT:
            return "timeout"
        # asyncio joins the failures of every address of a name into one OSError without an
        # errno ("Multiple exceptions: [Errno 111] ..., [Errno 113] ..."): lost only if each is
        kinds = [_ERRNO_KINDS.get(int(n)) for n in _ERRNO_IN_TEXT.findall(str(exc))]
        if kinds and None not in kinds:
            return next(k for k in LOST_KINDS if k in kinds)
    return "other"


def brief_error(exc: BaseException) -> str:
    """The first line of an error, as a host's state or a result shows it."""
    text = str(exc).strip() or exc.__class__.__name__
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return text.splitlines()[0]
