"""DEF-MAN: defragment etcd by hand, one member at a time, the leader last.

A member being defragmented answers nothing until it is done, so members go one by one with
a pause between them (at least a minute, as the procedure says) and a check that the member
answers again. The leader can move while this runs, so it is read again before each member.
Any unhealthy member stops the run: a NOSPACE alarm alone is not unhealthy (it is often the
reason for the defrag); the alarm is disarmed at the end, once the space is back.
"""

from __future__ import annotations

import asyncio
import weakref

from tui.errors import ParseError
from tui.etcd import etcdctl
from tui.etcd.parse import parse_alarm_list
from tui.fleet.commands import Safety
from tui.journal import read_journal
from tui import timeouts
from tui.runbooks.context import RunContext, RunEvent, RunEventKind
from tui.runbooks.model import CheckResult, Confirm, Runbook, Step, Targets
from tui.runbooks.runner import StepRun

MB = 1024 * 1024
DOCUMENTED_MIN_WAIT = 60.0


def recommendation(member, quota: int, nospace: bool = False) -> tuple[bool, str]:
    """Whether to defragment a member, and why (the operator's rule and the two alerts).
    nospace: a NOSPACE alarm is active. Every member is then defragmented before the disarm,
    and its in-use figure can read high (etcd releases the pages a compaction freed only at
    the next write, and none comes), so the fragmentation says little."""
    if nospace:  # the columns show the figures; the reason is the alarm
        return True, "NOSPACE: every member, then disarm"
    if member.db_size is None or member.db_size_in_use is None:
        return False, "no size data"
    reasons = []
    frag = member.fragmentation or 0.0
    if frag >= 0.45 and member.db_size >= 100 * MB:
        reasons.append(f"{frag:.0%} fragmented, {member.db_size / MB:.0f} MB")
    if member.db_size / quota > 0.5:
        reasons.append(f"{member.db_size / quota:.0%} of quota (>50%)")
    if member.db_size_in_use / member.db_size < 0.5:
        reasons.append(f"{member.db_size_in_use / member.db_size:.0%} of file in use (<50%)")
    if reasons:
        return True, ", ".join(reasons)
    return False, f"{frag:.0%} fragmented: little to gain"


# reads under way, per collector: callers at the same moment share one (DEF-MAN-1's check
# runs once per control-plane host, in parallel)
_reading: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


async def _status(ctx: RunContext):
    """A fresh status read (never an earlier one; only one already under way is shared)."""
    collector = ctx.backend.collector
    task = _reading.get(collector)
    if task is None or task.done():
        task = asyncio.ensure_future(collector.collect())
        _reading[collector] = task
    return await task


def _unhealthy(snap) -> list[str]:
    out = []
    for h in snap.hosts:
        if h.role == "control-plane" and h.state not in ("connected",):
            out.append(f"host {h.name} is {h.state}")
    for m in snap.members:
        errors = [e for e in m.errors if not e.startswith("alarm:")]
        if errors:
            out.append(f"member {m.name}: {'; '.join(errors)}")
    if snap.members and snap.leader is None:
        out.append("etcd has no leader")
    if not snap.members:
        out.append(f"no member data ({snap.etcd_error})")
    return out


async def preflight(ctx: RunContext) -> list[str]:
    snap = await _status(ctx)
    reasons = _unhealthy(snap)
    if reasons:
        return ["every member must be healthy before a defrag (" + "; ".join(reasons) + ")"]
    wait = float(ctx.params.get("wait", DOCUMENTED_MIN_WAIT))
    if wait < 0:
        return ["--wait cannot be negative"]
    ctx.params.setdefault("sizes_before", {m.name: m.db_size for m in snap.members})
    leader = snap.leader.name
    ctx.params.setdefault("order", sorted(m.name for m in snap.members if m.name != leader)
                          + [leader])
    ctx.params.setdefault("member_hosts", {m.name: m.host for m in snap.members})
    for line in timeout_plan(ctx):
        ctx.operator.show(RunEvent(RunEventKind.NOTE, "DEF-MAN-2", line))
    return []


def _measured(ctx: RunContext) -> timeouts.Measured | None:
    seen = ctx.facts.get("defrag_rate")
    if not seen:
        return None
    return timeouts.Measured(float(seen["bytes_per_second"]), seen["member"])


def member_timeout(ctx: RunContext, name: str, size: int | None) -> timeouts.Timeout:
    """The defrag timeout of member `name` (its file `size` bytes): the operator's --timeout,
    else the rule (tui.timeouts) with the rate measured on an earlier member of this
    run. After a defrag timed out, a retry allows at least twice as long; so do the members
    after it while no defrag has finished to measure the disk by."""
    timed_out = ctx.facts.get("timed_out") or {}
    at_least = 0.0
    if name in timed_out:
        at_least = 2.0 * timed_out[name]
    elif timed_out and not ctx.facts.get("defrag_rate"):
        at_least = 2.0 * max(timed_out.values())
    return timeouts.defrag_timeout(size, measured=_measured(ctx),
                                   override=ctx.params.get("timeout"), at_least=at_least)


def _planned_sizes(ctx: RunContext) -> dict:
    sizes = dict(ctx.params.get("sizes_before") or {})
    snap = ctx.backend.collector.last if ctx.backend.collector else None
    for m in (snap.members if snap is not None else []):
        sizes.setdefault(m.name, m.db_size)
    return sizes


def timeout_plan(ctx: RunContext) -> list[str]:
    """Each member's defrag timeout and why, in the order the run takes them."""
    order, _hosts = _planned_order(ctx)
    sizes = _planned_sizes(ctx)
    return [f"{name}: {member_timeout(ctx, name, sizes.get(name)).why}" for name in order]


def _defrag_command(ctx: RunContext, host: str, timeout: timeouts.Timeout):
    """etcdctl defrag of `host`'s member. etcdctl's own --command-timeout is the rule's; the
    SSH command gets 30 s more, so that etcdctl's own failure (the defrag goes on inside
    etcd) is what the console reads, not a cut connection."""
    return etcdctl.etcdctl(ctx.inventory, ctx.inventory.host(host),
                           f"--command-timeout={timeout.flag()}", "defrag",
                           safety=Safety.MUTATING, timeout=timeout.seconds + 30)


def _preview(leader_step: bool):
    def preview(ctx: RunContext) -> list[tuple[str, object]]:
        order, hosts = _planned_order(ctx)
        sizes = _planned_sizes(ctx)
        names = order[-1:] if leader_step else order[:-1]
        return [(hosts[n], _defrag_command(ctx, hosts[n], member_timeout(ctx, n, sizes.get(n))))
                for n in names if hosts.get(n)]
    return preview


def _planned_order(ctx: RunContext) -> tuple[list[str], dict]:
    """The order the run will take (leader last), from its preflight or the last status."""
    if ctx.params.get("order"):
        return ctx.params["order"], ctx.params.get("member_hosts") or {}
    snap = ctx.backend.collector.last if ctx.backend.collector else None
    if snap is None or snap.leader is None:
        return [], {}
    leader = snap.leader.name
    order = sorted(m.name for m in snap.members if m.name != leader) + [leader]
    return order, {m.name: m.host for m in snap.members}


def _preview_alarms(ctx: RunContext) -> list[tuple[str, object]]:
    hosts = [h for h in _planned_order(ctx)[1].values() if h]
    if not hosts:
        return []
    host = ctx.inventory.host(hosts[0])
    return [(hosts[0], etcdctl.alarm_list(ctx.inventory, host)),
            (hosts[0], etcdctl.etcdctl(ctx.inventory, host, "alarm", "disarm",
                                       safety=Safety.MUTATING))]


async def _find_leader(ctx: RunContext, _host) -> CheckResult:
    snap = await _status(ctx)
    problems = _unhealthy(snap)
    if problems:
        return CheckResult(False, "; ".join(problems))
    leader = snap.leader.name
    others = sorted(m.name for m in snap.members if m.name != leader)
    ctx.facts["leader_at_start"] = leader
    return CheckResult(True, f"leader {leader}; order: {', '.join(others + [leader])} "
                             f"(the leader last)")


def _member_host(ctx: RunContext, member) -> str:
    if member.host is None:
        raise ParseError(f"member {member.name} ({member.endpoint}) matches no inventory host",
                         hint="Check the host addresses in the inventory")
    return member.host


async def _defrag_one(ctx: RunContext, run: StepRun, name: str, step_id: str,
                      snap=None) -> str:
    """DEF-MAN-2 (or -5) for one member, then DEF-MAN-3's check; returns a summary.
    `snap`: the status the caller has just read to choose this member (else read here)."""
    if snap is None:
        snap = await _status(ctx)
    problems = _unhealthy(snap)
    if problems:
        run.fail("stopped before defragmenting " + name + ": " + "; ".join(problems))
    member = next(m for m in snap.members if m.name == name)
    host = _member_host(ctx, member)
    done, size = done_in_this_run(_journal_records(ctx), name, member.db_size)
    if done:
        ctx.facts.setdefault("sizes_after", {})[name] = size
        run.done_before = True
        run.journal("already-done", [host], step_id=step_id, member=name, detail=done)
        run.show(RunEventKind.ALREADY_DONE, f"{name}: {done}", [host], step_id=step_id)
        return f"{name} already defragmented"
    before = member.db_size
    timeout = member_timeout(ctx, name, before)
    run.journal("started", [host], step_id=step_id, member=name, db_size=before,
                timeout_s=timeout.seconds, detail=timeout.why)
    run.show(RunEventKind.NOTE, f"{name}: {timeout.why}", [host], step_id=step_id)
    command = _defrag_command(ctx, host, timeout)
    began = ctx.pace.epoch()  # the operator's time: a drill's simulated seconds
    result = await run.run(host, command, step_id=step_id)
    if not result.ok:
        text = (result.stderr or result.error or "").strip()
        if "deadline exceeded" in text or result.timed_out:
            ctx.facts.setdefault("timed_out", {})[name] = timeout.seconds
            ctx.facts["busy_member"] = name  # etcd goes on with the defrag regardless
            # seen busy, then answering with a smaller file: the time it took measures the
            # disk (_settled_status)
            ctx.facts["busy_since"] = {"member": name, "size": before, "at": began}
            run.fail(f"defrag of {name} timed out after {timeout.seconds}s (etcd goes on "
                     f"with it); a retry waits for {name} to answer, then allows at least "
                     f"--command-timeout={2 * timeout.seconds}s")
        run.fail(f"defrag of {name} failed: {text.splitlines()[-1] if text else 'no output'}")
    _measure(ctx, name, before, ctx.pace.epoch() - began)
    # DEF-MAN-3: its DB SIZE dropped
    after_snap = await _status(ctx)
    after = next((m for m in after_snap.members if m.name == name), None)
    if after is None or after.db_size is None:
        run.fail(f"{name} did not report its size after the defrag")
    reclaimed = (before or 0) - after.db_size
    free_before = (member.db_size or 0) - (member.db_size_in_use or 0)
    if reclaimed <= 0 and free_before >= max(MB, 0.1 * (before or 0)):
        # the free figure can only understate (pages freed by the last write read as in
        # use), so a file that kept that much free was not defragmented
        problem = (f"{name}'s file did not shrink ({_mb(before)} -> {_mb(after.db_size)}) though "
                   f"{_mb(free_before)} of it read free before, and etcdctl said the defrag "
                   f"finished: check that the command reaches {name} (its --endpoints)")
        run.journal("failed", [host], step_id="DEF-MAN-3", member=name, db_size_before=before,
                    db_size_after=after.db_size, error=problem)
        run.fail(f"DEF-MAN-3: {problem}")
    sizes = ctx.facts.setdefault("sizes_after", {})
    sizes[name] = after.db_size
    run.journal("finished", [host], step_id="DEF-MAN-3", member=name, db_size_before=before,
                db_size_after=after.db_size, reclaimed=reclaimed)
    run.show(RunEventKind.NOTE, f"{name}: {before / MB:.0f} MB -> {after.db_size / MB:.0f} MB "
                     f"({reclaimed / MB:.0f} MB reclaimed)", [host], step_id="DEF-MAN-3")
    run.journal("finished", [host], step_id=step_id, member=name)
    return f"{name} {reclaimed / MB:.0f} MB reclaimed"


def _journal_records(ctx: RunContext) -> list[dict]:
    """This run's journal so far (a journal holds one run and its resumes)."""
    if ctx.journal is None or not ctx.journal.path.exists():
        return []
    return read_journal(ctx.journal.path)


def done_in_this_run(records: list[dict], name: str,
                     size_now: int | None) -> tuple[str, int | None]:
    """Whether this run has defragmented member `name` already: (why, its size), or ("", None).

    Only this run's evidence counts: its DEF-MAN-3 line for the member, or a defrag it sent
    (its DEF-MAN-2/-5 line keeps the file's size then) after which the file is smaller, which
    only a defrag does to an etcd file. A low fragmentation is no evidence: etcd counts the
    pages its last write freed as in use until the next write, so a member can read 5%
    fragmented with most of its file free. Without evidence the member is defragmented, which
    is safe to repeat."""
    checked = [r for r in records if r.get("step") == "DEF-MAN-3" and r.get("event") == "finished"
               and r.get("member") == name and isinstance(r.get("db_size_after"), int)]
    if checked:
        r = checked[-1]
        why = (f"defragmented earlier in this run ({_when(r)}: "
               f"{_mb(r.get('db_size_before'))} -> {_mb(r['db_size_after'])}, journal)")
        return why, r["db_size_after"]
    sent = [r for r in records if r.get("step") in ("DEF-MAN-2", "DEF-MAN-5")
            and r.get("event") == "started" and r.get("member") == name
            and isinstance(r.get("db_size"), int)]
    if sent and size_now is not None and size_now < sent[-1]["db_size"]:
        r = sent[-1]
        why = (f"the defrag this run sent at {_when(r)} finished while the console was not "
               f"watching: the file was {_mb(r['db_size'])} then, {_mb(size_now)} now")
        return why, size_now
    return "", None


def _unanswered_defrag(ctx: RunContext) -> str | None:
    """The member whose defrag command this run's journal shows sent and never answered (the
    console stopped while it ran), or None."""
    hosts = {host: name for name, host in (ctx.params.get("member_hosts") or {}).items()}
    open_on: dict[str, bool] = {}
    for r in _journal_records(ctx):
        if r.get("step") in ("DEF-MAN-2", "DEF-MAN-5") and " defrag" in r.get("command", ""):
            for host in r.get("hosts") or []:
                open_on[host] = r["event"] == "started"
    return next((hosts[h] for h, still in open_on.items() if still and h in hosts), None)


def _waited_after(records: list[dict], name: str) -> bool:
    """Whether this run has already let `name` recover after its defrag (DEF-MAN-4 ended
    well): a member defragmented earlier, even while the console was not watching, gets its
    wait unless the journal shows it had one."""
    return any(r.get("step") == "DEF-MAN-4" and r.get("event") == "finished"
               and r.get("member") == name for r in records)


def _when(record: dict) -> str:
    stamp = str(record.get("time", ""))
    return f"{stamp[11:19]} UTC" if stamp.endswith("+00:00") and len(stamp) >= 19 else \
        (stamp or "an unrecorded time")


def _mb(size) -> str:
    return f"{size / MB:.1f} MB" if isinstance(size, (int, float)) else "? MB"


def _measure(ctx: RunContext, name: str, size: int | None, seconds: float) -> None:
    """Keep the slowest rate a defrag of this run showed: the next members' timeouts use it."""
    seen = timeouts.Measured.of(size, seconds, name)
    if seen is None or size < 100 * MB:  # a small file measures the dial, not the disk
        return
    old = ctx.facts.get("defrag_rate")
    if old is None or seen.bytes_per_second < float(old["bytes_per_second"]):
        ctx.facts["defrag_rate"] = {"bytes_per_second": seen.bytes_per_second, "member": name}


BUSY_WAIT = 600.0  # how long a defrag that outlived its timeout may keep its member busy


async def _settled_status(ctx: RunContext, run: StepRun):
    """A status read; when the only unhealthy member is one whose defrag timed out (etcd
    goes on defragmenting after etcdctl gives up), wait for it to answer again first."""
    busy = ctx.facts.get("busy_member")
    why = "the defrag that timed out"
    if not busy:  # a console killed mid-defrag: etcd went on with it
        busy, why = _unanswered_defrag(ctx), "the defrag sent before the console stopped"
    snap = await _status(ctx)
    if not busy:
        return snap
    waited = 0.0
    while waited < BUSY_WAIT:
        problems = _unhealthy(snap)
        if not problems:
            break
        if not all(busy in p for p in problems):
            return snap  # something else is wrong: the caller stops on it
        await run.wait(5.0, f"{busy} is still busy with {why}", step_id="DEF-MAN-4")
        waited += 5.0
        snap = await _status(ctx)
    ctx.facts.pop("busy_member", None)
    since = ctx.facts.pop("busy_since", None)
    member = next((m for m in snap.members if since and m.name == since["member"]), None)
    if waited and member is not None and not _unhealthy(snap) and member.db_size is not None \
            and since.get("size") is not None and member.db_size < since["size"]:
        # seen busy, then done (its file shrank) within one 5 s poll: from the command to
        # this read is the defrag's time. Not when it answered at the first read: it may
        # have finished long before (while the operator read the failure, or between runs),
        # and that time would measure the operator, not the disk
        _measure(ctx, busy, since.get("size"), ctx.pace.epoch() - float(since["at"]))
    return snap


async def _wait_and_check(ctx: RunContext, run: StepRun, name: str):
    """DEF-MAN-4: at least a minute for the member to recover, then it must answer; returns
    the status read after the wait (the next member is chosen from it)."""
    wait = float(ctx.params.get("wait", DOCUMENTED_MIN_WAIT))
    run.journal("started", [], step_id="DEF-MAN-4", member=name, wait_s=wait)
    await run.wait(wait, f"letting {name} recover before the next member", step_id="DEF-MAN-4")
    snap = await _status(ctx)
    member = next((m for m in snap.members if m.name == name), None)
    errors = [e for e in (member.errors if member else ["missing"]) if not e.startswith("alarm:")]
    if errors:
        run.fail(f"{name} does not answer after the wait: {'; '.join(errors)}")
    run.journal("finished", [], step_id="DEF-MAN-4", member=name, wait_s=wait)
    return snap


async def _compact(ctx: RunContext, run: StepRun) -> str:
    """DEF-CMP-1 (an etcd-dr step, not in the procedure, which relies on the compaction etcd
    runs every 5 minutes): compact the history up to the current revision, so the defrag that
    follows reclaims that space too. Only when the operator chose it."""
    import json

    source = next((h.name for h in ctx.backend.collector.hosts_view() if h.state == "connected"
                   and h.role == "control-plane"), None)
    if source is None:
        run.fail("no control-plane host to run etcdctl on")
    host = ctx.inventory.host(source)
    status = await run.run(source, etcdctl.etcdctl(ctx.inventory, host, "endpoint", "status",
                                                   "-w", "json"))
    try:
        revision = int(json.loads(status.stdout)[0]["Status"]["header"]["revision"])
    except (ValueError, KeyError, IndexError, TypeError):
        run.fail(f"cannot read the current revision from {source}: "
                 f"{(status.stderr or status.stdout).strip()[:200]}")
    result = await run.run(source, etcdctl.etcdctl(ctx.inventory, host, "compaction",
                                                   str(revision), safety=Safety.MUTATING))
    if not result.ok:
        text = (result.stderr or result.error or "").strip()
        if "has been compacted" in text:
            return f"history already compacted at or after revision {revision}"
        run.fail(f"compaction failed: {text.splitlines()[-1] if text else 'no output'}")
    return f"history compacted to revision {revision}"


async def _defrag_non_leaders(ctx: RunContext, run: StepRun) -> str:
    wait = float(ctx.params.get("wait", DOCUMENTED_MIN_WAIT))
    if wait < DOCUMENTED_MIN_WAIT and not ctx.facts.get("short_wait_noted"):
        run.journal("override", [], step_id="DEF-MAN-4",
                    reason=f"wait {wait:g}s is under the documented minimum of "
                           f"{DOCUMENTED_MIN_WAIT:g}s between members")
        run.show(RunEventKind.NOTE, f"warning: a {wait:g}s wait is under the documented minimum of "
                         f"{DOCUMENTED_MIN_WAIT:g}s", step_id="DEF-MAN-4")
        ctx.facts["short_wait_noted"] = True
    done = ctx.facts.setdefault("defragmented", [])
    summaries = []
    snap = await _settled_status(ctx, run)
    while True:
        # the leader can move: it is read again before each member (after each wait)
        leader = snap.leader.name if snap.leader else None
        todo = sorted(m.name for m in snap.members if m.name != leader and m.name not in done)
        if not todo:
            break
        name = todo[0]
        summary = await _defrag_one(ctx, run, name, "DEF-MAN-2", snap)
        summaries.append(summary)
        done.append(name)
        if _waited_after(_journal_records(ctx), name):
            snap = await _settled_status(ctx, run)  # done and recovered earlier: no wait
        else:
            snap = await _wait_and_check(ctx, run, name)
    return "; ".join(summaries) or "no non-leader member"


async def _defrag_leader(ctx: RunContext, run: StepRun) -> str:
    snap = await _settled_status(ctx, run)
    leader = snap.leader.name if snap.leader else None
    done = ctx.facts.setdefault("defragmented", [])
    if leader is None:
        run.fail("etcd has no leader")
    if leader != ctx.facts.get("leader_at_start"):
        run.show(RunEventKind.NOTE,
                 f"the leader moved to {leader} during the run", step_id="DEF-MAN-5")
    todo = [leader] + sorted(m.name for m in snap.members
                             if m.name not in done and m.name != leader)
    # members left over (the leader moved onto one already done, away from one not done) go
    # before the current leader, which stays last
    todo = todo[1:] + todo[:1]
    summaries = []
    for i, name in enumerate(todo):
        if name in done:
            continue
        summaries.append(await _defrag_one(ctx, run, name, "DEF-MAN-5", snap))
        done.append(name)
        snap = None
        if i < len(todo) - 1 and not _waited_after(_journal_records(ctx), name):
            snap = await _wait_and_check(ctx, run, name)
    return "; ".join(summaries) or "every member defragmented already"


async def _alarms(ctx: RunContext, run: StepRun) -> str:
    # only a host to run etcdctl on is needed here, not a status read
    source = next((h.name for h in ctx.backend.collector.hosts_view() if h.state == "connected"
                   and h.role == "control-plane"), None)
    if source is None:
        run.fail("no control-plane host to run etcdctl on")
    host = ctx.inventory.host(source)
    result = await run.run(source, etcdctl.alarm_list(ctx.inventory, host))
    if not result.ok:
        run.fail(f"alarm list failed: {result.stderr.strip() or result.error}")
    alarms = parse_alarm_list(result.stdout)
    table = _before_after(ctx)
    for line in table:
        run.show(RunEventKind.NOTE, line, step_id="DEF-MAN-6")
    if not alarms:
        return "no alarms; " + table[-1]
    names = ", ".join(f"{a.alarm}" for a in alarms)
    disarm = await run.run(source, etcdctl.etcdctl(ctx.inventory, host, "alarm", "disarm",
                                                   safety=Safety.MUTATING))
    if not disarm.ok:
        run.fail(f"alarm disarm failed: {disarm.stderr.strip() or disarm.error}")
    again = await run.run(source, etcdctl.alarm_list(ctx.inventory, host))
    left = parse_alarm_list(again.stdout) if again.ok else alarms
    if left:
        run.fail(f"alarms still active after disarm: {', '.join(a.alarm for a in left)} "
                 f"(is the database still over its quota?)")
    return f"disarmed {names}; " + table[-1]


def _before_after(ctx: RunContext) -> list[str]:
    """The before/after table, one line per member and a total."""
    before = ctx.params.get("sizes_before") or {}
    after = ctx.facts.get("sizes_after") or {}
    rows, total = [], 0
    for name in sorted(before):
        b, a = before.get(name), after.get(name)
        if b is None or a is None:
            rows.append(f"{name}: {(b or 0) / MB:.0f} MB (not defragmented)")
            continue
        total += b - a
        rows.append(f"{name}: {b / MB:.0f} MB -> {a / MB:.0f} MB, {(b - a) / MB:.0f} MB "
                    f"reclaimed")
    rows.append(f"{total / MB:.0f} MB reclaimed in all")
    return rows


DEFRAG = Runbook(
    name="defrag",
    title="Defragment etcd (leader last)",
    preflight=preflight,
    steps=(
        Step("DEF-MAN-1", "Find the leader",
             "Read every member's status: all must be healthy (a NOSPACE alarm alone is "
             "fine); the leader is defragmented last.",
             targets=Targets.CONTROL_PLANE, check=_find_leader),
        Step("DEF-CMP-1", "Compact the history (optional)",
             "Only when chosen: etcdctl compaction to the current revision, so the defrag "
             "also reclaims the history etcd would otherwise compact within 5 minutes.",
             targets=Targets.CONTROL_PLANE, action=_compact, safety=Safety.MUTATING,
             confirm=Confirm.YES_NO,
             skip_if=lambda ctx: None if ctx.params.get("compact") else "not chosen"),
        Step("DEF-MAN-2", "Defragment the other members, one at a time",
             "For each non-leader member: etcdctl defrag on that member only (it answers "
             "nothing until done; its --command-timeout grows with the member's file, or "
             "follows the rate measured on a member done before), check its DB size dropped "
             "(DEF-MAN-3), then wait for it "
             "to recover and answer again (DEF-MAN-4). The leader is read again before "
             "each member, since it can move.",
             targets=Targets.CONTROL_PLANE, action=_defrag_non_leaders,
             preview=_preview(leader_step=False), safety=Safety.MUTATING,
             confirm=Confirm.YES_NO),
        Step("DEF-MAN-5", "Defragment the leader, last",
             "The same for the member that leads now.",
             targets=Targets.CONTROL_PLANE, action=_defrag_leader,
             preview=_preview(leader_step=True), safety=Safety.MUTATING,
             confirm=Confirm.YES_NO),
        Step("DEF-MAN-6", "Disarm the alarms",
             "etcdctl alarm list; if any alarm (NOSPACE) is active, etcdctl alarm disarm, "
             "then check none is left. Then the size of every member before and after.",
             targets=Targets.CONTROL_PLANE, action=_alarms, preview=_preview_alarms,
             safety=Safety.MUTATING),
    ),
)
