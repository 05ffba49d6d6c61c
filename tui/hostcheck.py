"""`etcd-dr init`'s SSH check: connect to every host of a new inventory, show each unknown
host key's fingerprint, trust the ones the operator (or --trust-on-first-use) accepts, and
say per host what is left to fix.

A key that differs from known_hosts is never trusted here (as in the console). Every trust
is journaled before known_hosts changes: `confirmed` when the operator answered yes at the
terminal, `override` when --trust-on-first-use accepted it without a person looking.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from tui.errors import EtcdDrError
from tui.fleet.fleet import Fleet, HostState
from tui.inventory import Inventory
from tui.journal import Journal


class TrustPolicy(str, enum.Enum):
    ASK = "ask"              # a terminal: the operator answers per host
    FIRST_USE = "first-use"  # --trust-on-first-use: every unknown key, journaled
    NEVER = "never"          # no terminal: nothing is trusted, the hosts are listed


@dataclass
class HostCheck:
    name: str
    address: str
    port: int
    state: str  # a HostState value
    error: str | None = None
    fingerprint: str | None = None  # the key presented (unknown or mismatching), or the good one
    trusted_now: str | None = None  # "operator" or "trust-on-first-use" when init trusted it
    failure: str | None = None  # the fleet's failure_kind ("jump-host", "host-key", ...)

    @property
    def ready(self) -> bool:
        return self.state == HostState.CONNECTED.value

    def note(self) -> str:
        """One line for the inventory's comment and the summary."""
        if self.ready:
            how = {"operator": "; its key was trusted by the operator at init",
                   "trust-on-first-use": "; its key was trusted on first use "
                                         "(--trust-on-first-use, journaled)"}
            return (f"connected, key {self.fingerprint or '?'}"
                    + how.get(self.trusted_now or "", ""))
        return f"{self.state}: {self.error or ''}".rstrip(": ")


Ask = Callable[[HostCheck], bool]
JournalFor = Callable[[], Journal]


async def look(inventory: Inventory, fleet: Fleet | None = None) -> list[HostCheck]:
    """One connection attempt per host (no retries), one HostCheck per host in inventory
    order; the fleet stays open when given (to trust keys on it)."""
    own = fleet is None
    fleet = fleet or Fleet(inventory, read_only=True, reconnect=False)
    try:
        await fleet.start(wait=True, timeout=inventory.ssh.connect_timeout + 10)
        out = []
        for h in inventory.hosts:
            st = fleet.status[h.name]
            state = st.state.value
            if st.state == HostState.CONNECTING:  # never settled within the wait
                state, error = HostState.UNREACHABLE.value, "no answer in time"
            else:
                error = st.error
            out.append(HostCheck(h.name, h.address, h.port, state, error,
                                 st.fingerprint or st.server_key, failure=st.failure))
        return out
    finally:
        if own:
            await fleet.close()


def choose(checks: list[HostCheck], policy: TrustPolicy, known_hosts: str,
           ask: Ask | None = None) -> dict[str, str]:
    """Which unknown keys to trust: host name -> "operator" or "trust-on-first-use". Not
    async: the operator's prompt runs outside the event loop, so Ctrl-C there stops init at
    once. A check left untrusted says why in its error."""
    chosen: dict[str, str] = {}
    for check in checks:
        if check.state != HostState.HOST_KEY_UNKNOWN.value:
            continue  # a changed key (host-key-mismatch) is never a candidate
        if not check.fingerprint:
            check.error = (f"{check.error}; its key could not be read again, so it cannot be "
                           f"trusted now: run init again")
        elif policy == TrustPolicy.NEVER:
            check.error = (f"{check.address} presents {check.fingerprint}, which is not in "
                           f"{known_hosts}; not trusted: no terminal to ask on and no "
                           f"--trust-on-first-use")
        elif policy == TrustPolicy.FIRST_USE:
            chosen[check.name] = "trust-on-first-use"
        elif ask is not None and ask(check):
            chosen[check.name] = "operator"
        else:
            check.error = f"{check.fingerprint}: not trusted (the operator said no)"
    return chosen


async def trust(inventory: Inventory, checks: list[HostCheck], chosen: dict[str, str], *,
                journal_for: JournalFor | None = None) -> None:
    """Trust the chosen hosts' keys, each only if the host still presents the key that was
    shown (journaled before known_hosts changes), then look again at them: the checks say
    how they connect now."""
    if not chosen:
        return
    journal: Journal | None = None
    trusted: list[str] = []
    fleet = Fleet(inventory, read_only=True, reconnect=False)
    try:
        await fleet.start(wait=True, timeout=inventory.ssh.connect_timeout + 10)
        for check in checks:
            how = chosen.get(check.name)
            if how is None or check.fingerprint is None:
                continue
            if journal is None and journal_for is not None:
                journal = journal_for()
            if journal is not None:
                first_use = how == "trust-on-first-use"
                journal.write("-", "override" if first_use else "confirmed", [check.name],
                              action="trust-host-key", fingerprint=check.fingerprint,
                              address=check.address, port=check.port,
                              known_hosts=inventory.ssh.known_hosts,
                              reason=("--trust-on-first-use: the key was not checked by a "
                                      "person" if first_use else
                                      "the operator checked the fingerprint and said yes"))
            try:
                await fleet.trust_host_key(check.name, check.fingerprint)
            except EtcdDrError as e:  # the key changed since it was shown: nothing trusted
                check.error = e.message
                if journal is not None:
                    journal.write("-", "failed", [check.name], action="trust-host-key",
                                  fingerprint=check.fingerprint, error=e.message)
                continue
            except (TimeoutError, OSError, asyncssh.Error) as e:
                check.error = f"its key could not be read again to trust it ({e})"
                if journal is not None:
                    journal.write("-", "failed", [check.name], action="trust-host-key",
                                  fingerprint=check.fingerprint, error=check.error)
                continue
            check.trusted_now = how
            trusted.append(check.name)
    finally:
        await fleet.close()
        if journal is not None:
            journal.close()
    if trusted:  # the proof: the trusted hosts connect now
        again = await look(inventory.with_hosts(tuple(h for h in inventory.hosts
                                                      if h.name in trusted)))
        by_name = {c.name: c for c in again}
        for check in checks:
            if check.name in by_name:
                new = by_name[check.name]
                check.state, check.error = new.state, new.error
                check.fingerprint = new.fingerprint or check.fingerprint
