"""RST-18 on the drill: with no usable kubeconfig every API step of a restore runs `oc` on
the recovery host with its recovery kubeconfig, and the restore still completes."""

from __future__ import annotations

from tui.backend import Backend, BackendSpec
from tui.journal import Journal, read_journal
from tui.runbooks import registry, resolve_runbook
from tui.runbooks.context import Decision, RunContext
from tui.runbooks.runner import Runner


class Operator:
    async def confirm(self, request):
        return True

    async def on_failure(self, step, error):
        return Decision("abort")

    def show(self, event):
        pass


async def test_a_4_18_restore_entirely_over_oc_on_the_recovery_host(tmp_path):
    backend = Backend(BackendSpec(scenario="lost-two-hosts-4.18", speed=300.0))
    await backend.start()
    try:
        backend.api.kubeconfig = None  # as an inventory without kubeconfig
        ctx = RunContext(backend=backend, journal=Journal(tmp_path / "j.jsonl", "restore"),
                         operator=Operator(), params={"backup_dir": "/home/core/assets/backup"},
                         time_scale=300.0)
        runbook = await resolve_runbook(registry()["restore"], ctx)
        await Runner(runbook, ctx).run()
    finally:
        await backend.close()
    records = read_journal(tmp_path / "j.jsonl")
    assert records[-1]["event"] == "finished"
    writes = [r for r in records if r.get("transport")]
    assert writes and {r["transport"] for r in writes} == {"SSH on master-0"}
    assert any(r["command"].startswith("oc patch etcd/cluster") for r in writes)
    assert any(r["command"].startswith("oc delete machine") for r in writes)
