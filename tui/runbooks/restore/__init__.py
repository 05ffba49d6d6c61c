"""RST, RST by release, RSTN and QRS: restore etcd to a previous state, or from the member
with the most data when quorum is lost (RUNBOOK.md "RST", "RST by release", "RSTN", "QRS").

One runbook per procedure:
- `restore_runbook("4.12-4.13")`: RST-01..25 as the source document writes them;
- `restore_runbook("4.14-4.17")`: the same IDs with RST-04g (controller-manager and scheduler
  moved aside too) and OVN interconnect in RST-15; RST-13/14 do not apply;
- `restore_runbook("4.18+")`: RSTN-01..08 (disable-etcd.sh everywhere, cluster-restore.sh on
  the recovery host), plus RST-16 when hosts were lost;
- `QUORUM_RESTORE`: QRS-01..05 (quorum-restore.sh on the member with the highest raft index).
Each ends with RST-25, the aftercare, which also warns loudly when the quorum guard is off.

The API goes away during a restore: every API step goes through ClusterOps (REST when the
API answers, else `oc` on the recovery host with its recovery kubeconfig, RST-18).

Control-plane hosts that did not answer over SSH at the preflight are lost hosts: host steps
skip them (journaled) and RST-16 / QRS-04 replace their machines. Refusals by construction:
RST-04 never acts on the recovery host and RST-16 never deletes its machine (both checked
inside the step, not only by targeting); a second run of a restore script needs a typed
confirmation; a quorum guard left off at the end is a loud warning. RST-15 sets the admission
webhooks with failurePolicy Fail that can reject the OVN pods to Ignore (confirmed, the
originals kept as facts) and back to Fail once the pods run; any still Ignore when the run
stops is a loud warning too.

Layout (one module per part of the procedure; `paths` puts them together):
- `common`: constants and budgets, what the run knows, step helpers, reading the cluster;
- `hosts`: RST-01..08 / RSTN-01..04 / QRS-02..03 (recovery host, SSH, the backup, RST-04 on
  the non-recovery hosts, keepalived VIP, proxy, disable-etcd.sh, the restore script once);
- `nodes`: RST-09..12 (PEMs, kubelet, CSRs, the single member);
- `ovn`: RST-13..15 (OVN-Kubernetes);
- `machines`: RST-16 / QRS-04 (machine replacement);
- `rollouts`: the quorum guard, forced redeployments, every operator stable;
- `aftercare`: RST-25 and the persistent-volume checks;
- `preflight`: the preflight report and what it puts in the run's parameters;
- `preflight_facts`: what the preflight reads, once, into one frozen PreflightFacts;
- `preflight_checks`: PREFLIGHT_CHECKS, the preflight's pure checks over those facts;
- `paths`: the step list of each procedure and the runbook classes;
- `plan`: the plan both front ends show before a run (the wizard, the dry run), in one wording;
- `ticket`: the dry-run change ticket.
"""

from __future__ import annotations

from tui.runbooks.restore.common import (API, BOOTSTRAPPER, CLIENT_SIGNER, DEFAULT_BACKUP_DIR,
                                         DISABLE_SCRIPT, GUARD, GUARD_OFF, GUARD_ON, LOST_REASON,
                                         PATH_KEYS, QUORUM_SCRIPT, RESTORE_SCRIPT,
                                         SERVING_SIGNER, Refusal, control_plane, learn_cluster,
                                         lost_hosts, node_of, non_recovery_hosts, recovery_host)
from tui.runbooks.restore.hosts import (SCRIPTS, ScriptSpec, restore_state, rst04_commands,
                                        script_command)
from tui.runbooks.restore.nodes import review_csr
from tui.runbooks.restore.ovn import WEBHOOK_FACT, RiskyWebhook, risky_webhooks
from tui.runbooks.restore.machines import assert_not_recovery_machine
from tui.runbooks.restore.aftercare import AftercareItem, aftercare
from tui.runbooks.restore.preflight import (PreflightItem, PreflightReport, apply_report,
                                            detect_version, preflight_report)
from tui.runbooks.restore.paths import (QUORUM_RESTORE, RESTORE, ResolvingRunbook,
                                        RestoreRunbook, restore_runbook)
from tui.runbooks.restore.plan import (QUORUM, PlanStep, RestorePlan, best_recovery_host,
                                      restore_plan, suggest_procedure)
from tui.runbooks.restore.ticket import print_ticket

__all__ = [
    "API", "BOOTSTRAPPER", "CLIENT_SIGNER", "DEFAULT_BACKUP_DIR", "DISABLE_SCRIPT", "GUARD",
    "GUARD_OFF", "GUARD_ON", "LOST_REASON", "PATH_KEYS", "QUORUM_SCRIPT",
    "RESTORE_SCRIPT", "SERVING_SIGNER", "Refusal", "control_plane", "learn_cluster",
    "lost_hosts", "node_of", "non_recovery_hosts", "recovery_host",
    "SCRIPTS", "ScriptSpec", "restore_state", "rst04_commands", "script_command",
    "review_csr", "WEBHOOK_FACT", "RiskyWebhook", "risky_webhooks",
    "assert_not_recovery_machine", "AftercareItem", "aftercare",
    "PreflightItem", "PreflightReport", "apply_report", "detect_version", "preflight_report",
    "QUORUM_RESTORE", "RESTORE", "ResolvingRunbook", "RestoreRunbook", "restore_runbook",
    "print_ticket", "QUORUM", "PlanStep", "RestorePlan", "best_recovery_host", "restore_plan",
    "suggest_procedure",
]
