"""etcdctl over SSH: commands built through the inventory's `etcdctl` prefix."""

from __future__ import annotations

from tui.errors import ConfigError
from tui.fleet.commands import Command, Safety
from tui.fleet.prefix import SHAPE, PrefixError, parse_prefix
from tui.inventory import Host, Inventory


def etcdctl(inventory: Inventory, host: Host, *args: str, safety: Safety = Safety.READ,
            timeout: float = 15.0) -> Command:
    """etcdctl ARGS against `host`'s own member, the way the inventory says to reach it."""
    try:
        template = parse_prefix(inventory.etcdctl)  # parsed (and checked) when it loaded
    except PrefixError as e:
        raise ConfigError(f"etcdctl: {e}", where=inventory.source,
                          hint=f"Write the inventory's etcdctl as {SHAPE}") from None
    prefix = template.expand(name=host.name, address=host.address)
    return Command(stages=(tuple(args),), privileged=True, prefix=prefix, safety=safety,
                   timeout=timeout)


def endpoint_status_cluster(inventory: Inventory, host: Host) -> Command:
    return etcdctl(inventory, host, "endpoint", "status", "--cluster", "-w", "json")


def member_list(inventory: Inventory, host: Host) -> Command:
    return etcdctl(inventory, host, "member", "list", "-w", "json")


def alarm_list(inventory: Inventory, host: Host) -> Command:
    return etcdctl(inventory, host, "alarm", "list")


def endpoint_health_cluster(inventory: Inventory, host: Host) -> Command:
    return etcdctl(inventory, host, "endpoint", "health", "--cluster", "-w", "json")
