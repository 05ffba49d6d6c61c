"""RST-16 / QRS-04: replace the machines of the lost or other control-plane hosts, one at a
time, never the recovery host's."""

from __future__ import annotations

from tui.cluster.ops import MACHINES_PATH, delete_machine_op
from tui.fleet.commands import Command
from tui.runbooks.context import RunContext, RunEventKind
from tui.runbooks.model import CheckResult
from tui.runbooks.runner import StepRun

from tui.runbooks.restore.common import (API, MACHINE_TIMEOUT, POLL, Refusal, keep_fact, cluster_ops,
                                         path_params, send, wait_for_api,
                                         assert_one_name_per_machine, learn_cluster, lost_hosts,
                                         node_of, non_recovery_hosts, proven_lost, within)
from tui.runbooks.restore.hosts import not_recovery


# --- RST-16 / QRS-04: replace the machines of the other control-plane hosts ------------------

def _machine_role(m: dict) -> str:
    labels = (m.get("metadata") or {}).get("labels") or {}
    return labels.get("machine.openshift.io/cluster-api-machine-role") or \
        labels.get("machine.openshift.io/cluster-api-machine-type") or ""


def machine_matches(ctx: RunContext, m: dict, host: str) -> bool:
    status = m.get("status") or {}
    node = (status.get("nodeRef") or {}).get("name")
    h = ctx.inventory.host(host)
    addresses = {a.get("address") for a in status.get("addresses") or []}
    name = (m.get("metadata") or {}).get("name") or ""
    return node in (node_of(ctx, host), host) or h.address in addresses or \
        host in addresses or name == host or name.endswith("-" + host)


def machine_phase(m: dict) -> str:
    if (m.get("metadata") or {}).get("deletionTimestamp"):
        return "Deleting"
    return (m.get("status") or {}).get("phase") or "Unknown"


def assert_not_recovery_machine(ctx: RunContext, machine: dict, host: str) -> None:
    """RST-16: the recovery host's machine is never deleted, whichever host asked."""
    rec = ctx.params.get("recovery_host")
    if host == rec or (rec and machine_matches(ctx, machine, rec)):
        name = (machine.get("metadata") or {}).get("name")
        raise Refusal(f"machine {name} belongs to the recovery host {rec}: RST-16 never deletes "
                      f"it", hint="Nothing was deleted")


async def _machines(ctx: RunContext) -> list[dict]:
    return (await cluster_ops(ctx).get(MACHINES_PATH)).get("items") or []


async def _replace_one(ctx: RunContext, run: StepRun, host: str) -> str:
    not_recovery(ctx, host, f"{run.step.id} (machine replacement)")
    record = (ctx.facts.get("replaced") or {}).get(host)
    machines = await _machines(ctx)
    names = {(m.get("metadata") or {}).get("name") for m in machines}
    if record is None:
        old = next((m for m in machines if machine_matches(ctx, m, host)), None)
        if old is None:
            platform = ctx.facts.get("platform") or "unknown"
            run.fail(f"no Machine for {host} in {MACHINES_PATH.rsplit('/', 1)[0]} (platform "
                     f"{platform}): on user-provisioned or installer-provisioned bare metal "
                     f"the machine is not recreated: recreate the host the way it was created "
                     f"(see 'replacing a bare-metal control plane node'), then skip this step "
                     f"with that reason")
        assert_not_recovery_machine(ctx, old, host)
        old_name = old["metadata"]["name"]
        record = {"old": old_name, "before": sorted(n for n in names if n)}
        replaced = dict(ctx.facts.get("replaced") or {})
        replaced[host] = record
        keep_fact(run, replaced=replaced)
        await send(run, delete_machine_op(old_name))
    elif record["old"] in names:
        old = next(m for m in machines if (m.get("metadata") or {}).get("name") == record["old"])
        assert_not_recovery_machine(ctx, old, host)
        if machine_phase(old) != "Deleting":
            await send(run, delete_machine_op(record["old"]))
    waited = 0.0
    while True:
        machines = await _machines(ctx)
        new = [m for m in machines if (m.get("metadata") or {}).get("name") not in
               record["before"] and _machine_role(m) in ("master", "")]
        phases = ", ".join(f"{(m.get('metadata') or {}).get('name')} {machine_phase(m)}"
                           for m in new) or "no new machine yet"
        running = [m for m in new if machine_phase(m) == "Running"]
        if running:
            name = running[0]["metadata"]["name"]
            replaced = dict(ctx.facts.get("replaced") or {})
            replaced[host] = {**record, "new": name}
            ctx.facts["replaced"] = replaced
            return f"{host}: machine {record['old']} replaced by {name} (Running)"
        if waited >= MACHINE_TIMEOUT:
            run.fail(f"{host}: the replacement of machine {record['old']} was not Running "
                     f"{within(ctx, MACHINE_TIMEOUT)} ({phases})")
        await run.wait(POLL * 3, f"the replacement of {record['old']}: {phases}", [host])
        waited += POLL * 3


def _machine_hosts(ctx: RunContext, step_id: str) -> list[str]:
    if step_id == "RST-16" and path_params(ctx) in ("4.12-4.13", "4.14-4.17"):
        return non_recovery_hosts(ctx)  # the procedure recreates every other one
    return [h for h in lost_hosts(ctx) if h != ctx.params.get("recovery_host")]


def machine_replacement_reasons(ctx: RunContext, step_id: str) -> dict[str, str]:
    """Why each machine RST-16 / QRS-04 would replace may be replaced: a lost host only on
    the preflight's evidence; on 4.12-4.17 the procedure also recreates the other hosts that
    answered (RST-04 stopped them). Refuses when a host has no such reason, or when another
    inventory name is the recovery host's machine (same SSH host key)."""
    assert_one_name_per_machine(ctx, step_id)
    reasons, problems = {}, []
    for host in _machine_hosts(ctx, step_id):
        why = proven_lost(ctx, host)
        if why is not None:
            reasons[host] = f"lost: {why}"
        elif host in lost_hosts(ctx):
            problems.append(f"{host} is listed as lost but nothing proves it")
        elif step_id == "RST-16" and path_params(ctx) in ("4.12-4.13", "4.14-4.17"):
            reasons[host] = ("the procedure recreates every non-recovery control-plane "
                             "machine (the host answered over SSH at the preflight)")
        else:
            problems.append(f"{host} is not proven lost")
    if problems:
        raise Refusal(f"{step_id} deletes the machines of proven-lost hosts only: "
                      + "; ".join(problems),
                      hint="Nothing was deleted. Confirm the host lost (--lost HOST, or "
                           "'confirm lost' in the restore screen) and run the preflight again")
    return reasons


async def replace_machines(ctx: RunContext, run: StepRun) -> str:
    reasons = machine_replacement_reasons(ctx, run.step.id)
    for host, why in reasons.items():
        run.show(RunEventKind.NOTE, f"{host}: its machine is replaced because {why}", [host])
        run.journal("confirmed", [host], kind="machine-replacement", evidence=why)
    await wait_for_api(ctx, run)
    if "network_type" not in ctx.facts:
        await learn_cluster(ctx)
    done = []
    for host in _machine_hosts(ctx, run.step.id):  # one at a time
        done.append(await _replace_one(ctx, run, host))
    return "; ".join(done) or "no machine to replace"


def machine_step_check(step_id: str):
    async def check(ctx: RunContext, host) -> CheckResult:
        hosts = _machine_hosts(ctx, step_id)
        replaced = ctx.facts.get("replaced") or {}
        missing = [h for h in hosts if not (replaced.get(h) or {}).get("new")]
        if missing:
            return CheckResult(False, f"not replaced yet: {', '.join(missing)}")
        return CheckResult(True, "replaced: " + (", ".join(
            f"{h} -> {replaced[h]['new']}" for h in hosts) or "none needed"))
    return check


def machine_preview(step_id: str):
    def preview(ctx: RunContext) -> list[tuple[str, Command]]:
        out = [(API, Command.of("oc", "get", "machines", "-n", "openshift-machine-api", "-o",
                                "wide"))]
        for h in _machine_hosts(ctx, step_id):
            out.append((API, Command.of("oc", *delete_machine_op(f"<machine of {h}>").oc_args)))
        return out
    return preview


def skip_no_machines(step_id: str):
    def skip(ctx: RunContext) -> str | None:
        if _machine_hosts(ctx, step_id):
            return None
        return "no control-plane host was lost"
    return skip
