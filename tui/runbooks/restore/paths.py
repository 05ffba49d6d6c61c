"""The step lists of each procedure (RST as written for 4.12-4.13, RST by release for
4.14-4.17, RSTN for 4.18+, QRS) and the runbook classes built from them.

The factories are public: `step_*` and `guard_*_step` build one step each (its ID given
where procedures share it), `rst_steps(path_key)`, `rstn_steps()` and `qrs_steps()` each
procedure's whole list, so a new procedure is composed from them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tui.cluster.ops import RECOVERY_KUBECONFIG, delete_nodes_op
from tui.errors import EtcdDrError
from tui.fleet.commands import Command, Safety
from tui.runbooks.context import RunContext
from tui.runbooks.model import Confirm, Runbook, Step, Targets, Wait
from tui.runbooks.runner import Refused

from tui.runbooks.restore.common import (API, API_BACK_TIMEOUT, GUARD_OFF, GUARD_ON, PATH_KEYS,
                                         POLL, ROLLOUT_TIMEOUT, STABLE_TIMEOUT, check_transport,
                                         guarded, control_plane, lost_hosts, non_recovery_hosts)
from tui.runbooks.restore.hosts import (check_backup_on_recovery, check_etcd_container,
                                        check_etcd_disabled, check_proxy, check_recovery_host,
                                        check_rstn01, check_ssh, check_vip, copy_backup,
                                        copy_preview, disable_command, disable_etcd_action,
                                        rst04_preview, run_script,
                                        script_preview, skip_no_keepalived, skip_no_proxy,
                                        stop_non_recovery)
from tui.runbooks.restore.nodes import (approve_csrs, check_single_member, csr_preview,
                                        kubelet_hosts, nodes_and_pems, pem_preview,
                                        restart_kubelet, restart_kubelets, skip_no_workers)
from tui.runbooks.restore.ovn import (check_nodes_deleted, check_ovnkube_master_ips,
                                      delete_nodes, nodes_to_delete, ovn_acting_hosts,
                                      ovn_preview, restart_ovn, skip_not_ovn)
from tui.runbooks.restore.machines import (machine_preview, machine_step_check,
                                           replace_machines, skip_no_machines)
from tui.runbooks.restore.rollouts import (check_all_rollouts, check_etcd_everywhere,
                                           check_etcd_rolled_out, check_etcd_static_pods,
                                           check_guard_off, check_guard_on, check_redeploy_sent,
                                           check_stable, force_if_stalled, patch_action,
                                           patch_preview, redeploy_control_plane, redeploy_etcd,
                                           redeploy_patch, rollout_preview, wait_stable_quorum)
from tui.runbooks.restore.aftercare import aftercare_step
from tui.runbooks.restore.preflight import run_preflight, preflight_report
from tui.runbooks.restore.plan import QUORUM, suggest_procedure
from tui.runbooks.restore.ticket import print_ticket
from tui.runbooks.restore_checks import RestorePath


# --- the runbooks --------------------------------------------------------------------------

def step_rst01() -> Step:
    return Step("RST-01", "Choose the recovery host",
                "The healthy control-plane host the cluster is restored from: reachable, its "
                "etcd data present, the highest raft index where readable.",
                targets=Targets.RECOVERY_HOST, check=check_recovery_host)


def step_ssh(step_id: str = "RST-02") -> Step:
    return Step(step_id, "SSH open to every control-plane host",
                "Sessions to every control-plane host, the recovery host included, are open "
                "and kept open by the console: once the restore starts the API is gone. Lost "
                "hosts are noted and replaced later.",
                targets=Targets.CONTROL_PLANE, check=check_ssh)


def step_backup(step_id: str = "RST-03") -> Step:
    return Step(step_id, "The backup on the recovery host",
                "The backup directory on the recovery host holds exactly one snapshot_<ts>.db "
                "and one static_kuberesources_<ts>.tar.gz with the same <ts> (copied there "
                "first when it comes from this machine or another cluster host, sha256 "
                "checked).",
                targets=Targets.RECOVERY_HOST, action=guarded(copy_backup),
                preview=copy_preview, check=check_backup_on_recovery,
                safety=Safety.MUTATING)


def step_rst04(path_key: str) -> Step:
    extra = (" On 4.14-4.17 the kube-controller-manager and kube-scheduler manifests are "
             "moved aside too (RST-04g).") if path_key == "4.14-4.17" else ""
    return Step("RST-04", "Stop static pods and move etcd data on the other hosts",
                "On every non-recovery control-plane host (never the recovery host): move "
                "etcd-pod.yaml to /tmp and wait until the etcd containers stop (RST-04a/b), "
                "the same for kube-apiserver (RST-04c/d), move /var/lib/etcd to /tmp "
                "(RST-04e); where keepalived.yaml exists, move it and remove the VIPs "
                f"(RST-04f).{extra} Lost hosts are skipped.",
                targets=Targets.NON_RECOVERY_HOSTS, action=guarded(stop_non_recovery),
                preview=rst04_preview, safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER,
                skip_if=lambda ctx: None if [h for h in non_recovery_hosts(ctx)
                                             if h not in lost_hosts(ctx)]
                else "every non-recovery control-plane host is lost (replaced in RST-16)")


def step_script(step_id: str, title: str, explain: str) -> Step:
    return Step(step_id, title, explain, targets=Targets.RECOVERY_HOST,
                action=run_script(step_id), preview=script_preview(step_id),
                safety=Safety.DESTRUCTIVE,
                confirm=Confirm.TYPE_HOST,
                warning=("Irreversible: etcd restarts as a single member from this host's data; "
                         "what only the lost members had is gone." if step_id == "QRS-03" else
                         "Irreversible: the cluster goes back to the backup's state and the API "
                         "goes away until the restore completes."))


def step_replace(step_id: str, explain: str) -> Step:
    return Step(step_id, "Replace the machines of the other control-plane hosts", explain,
                targets=Targets.API, action=guarded(replace_machines),
                preview=machine_preview(step_id), check=machine_step_check(step_id),
                safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER,
                skip_if=skip_no_machines(step_id))


def step_aftercare() -> Step:
    return Step("RST-25", "Aftercare",
                "Restart the pods that cache API state (routers, operators, third-party "
                "components), allow a few minutes, use the installer's system:admin kubeconfig "
                "while OAuth logins fail; go through the persistent-volume checks PV-1..4. "
                "Warns loudly if the quorum guard is still off, or admission webhooks RST-15 "
                "set to failurePolicy Ignore still are.",
                targets=Targets.API, action=guarded(aftercare_step))


def _skip_two_node(ctx: RunContext) -> str | None:
    if len(control_plane(ctx)) == 2 or ctx.facts.get("topology") == "DualReplica":
        return "a two-node cluster with fencing keeps no quorum guard"
    return None


def guard_off_step(step_id: str, wait_api: bool = False) -> Step:
    return Step(step_id, "Turn the quorum guard off",
                "etcd/cluster gets unsupportedConfigOverrides."
                "useUnsupportedUnsafeNonHANonProductionUnstableEtcd: true, so the etcd "
                "operator can roll out etcd while it has a single member.",
                targets=Targets.API,
                action=patch_action("etcd", lambda ctx: GUARD_OFF, wait_api=wait_api,
                                     learn=wait_api),
                preview=patch_preview("etcd", lambda ctx: GUARD_OFF),
                check=check_guard_off, safety=Safety.MUTATING, confirm=Confirm.YES_NO,
                skip_if=_skip_two_node if step_id == "RSTN-05" else None)


def guard_on_step(step_id: str, title: str = "Turn the quorum guard back on") -> Step:
    return Step(step_id, title,
                "etcd/cluster's unsupportedConfigOverrides is set to null, and read back: "
                "it must be gone.",
                targets=Targets.API, action=patch_action("etcd", lambda ctx: GUARD_ON),
                preview=patch_preview("etcd", lambda ctx: GUARD_ON),
                check=check_guard_on, wait=Wait(10.0, 120.0), safety=Safety.MUTATING)


def rst_steps(path_key: str) -> tuple[Step, ...]:
    ovn_ic = path_key == "4.14-4.17"
    steps = [
        step_rst01(),
        step_ssh("RST-02"),
        step_backup("RST-03"),
        step_rst04(path_key),
        Step("RST-05", "Work from the recovery host",
             "From here on, host commands run on the recovery host unless a step says "
             "otherwise.", targets=Targets.RECOVERY_HOST, check=check_recovery_host),
        Step("RST-06", "The recovery host holds the API VIP",
             "keepalived clusters only: `ip -o address | grep <api_vip>` must show the VIP on "
             "the recovery host.", targets=Targets.RECOVERY_HOST, check=check_vip,
             skip_if=skip_no_keepalived),
        Step("RST-07", "Export the proxy variables",
             "With a cluster-wide proxy, NO_PROXY, HTTP_PROXY and HTTPS_PROXY are exported for "
             "the restore script (sudo -E).", targets=Targets.RECOVERY_HOST,
             check=check_proxy, skip_if=skip_no_proxy),
        step_script("RST-08", "Run cluster-restore.sh on the recovery host",
                     "cluster-restore.sh stops the kube-apiserver, kube-controller-manager, "
                     "kube-scheduler and etcd static pods, moves /var/lib/etcd/member to "
                     "/var/lib/etcd-backup, restores the snapshot as a single-member etcd and "
                     "starts the control plane from the backup's resources. The API is gone "
                     "until it is back. "
                     "Sent once, under an attempt record: a resumed run asks the host what "
                     "this run's attempt did, and never sends it again on a guess."),
        Step("RST-09", "Nodes Ready, PEM cleanup where not",
             "Wait for the API (REST, or oc on the recovery host), then for the nodes to be "
             "Ready. A node still NotReady after a few minutes gets every PEM file in "
             "/var/lib/kubelet/pki deleted (kubelet-client-*, kubelet-server-*, the -current "
             "links) so its kubelet bootstraps new certificates.",
             targets=Targets.API, action=guarded(nodes_and_pems), preview=pem_preview,
             safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER),
        Step("RST-10", "Restart kubelet on every control-plane host",
             "`systemctl restart kubelet.service`, the recovery host first; also on any other "
             "node whose PEM files RST-09 removed, so its kubelet bootstraps again.",
             targets=Targets.CONTROL_PLANE, action=guarded(restart_kubelets),
             preview=lambda ctx: [(h, restart_kubelet()) for h in kubelet_hosts(ctx)
                                  if h not in lost_hosts(ctx)],
             safety=Safety.MUTATING),
        Step("RST-11", "Approve the nodes' pending CSRs",
             "Each pending CSR is reviewed: only node-bootstrapper client CSRs "
             "(kubernetes.io/kube-apiserver-client-kubelet from system:serviceaccount:openshift-"
             "machine-config-operator:node-bootstrapper) and kubelet-serving CSRs from "
             "system:node:<name> of a known node are approved; others are listed and left. "
             "Repeats until the nodes are Ready. Skipped without worker nodes.",
             targets=Targets.API, action=guarded(approve_csrs), preview=csr_preview,
             safety=Safety.MUTATING, confirm=Confirm.YES_NO, skip_if=skip_no_workers),
        Step("RST-12", "Check the single-member control plane",
             "On the recovery host a running etcd container; in the API one Running etcd pod, "
             "on the recovery host's node, which is Ready.",
             targets=Targets.RECOVERY_HOST, check=check_single_member,
             wait=Wait(POLL, API_BACK_TIMEOUT)),
    ]
    if not ovn_ic:
        steps += [
            Step("RST-13", "Delete the other control-plane nodes (OVN-Kubernetes)",
                 "OVN-Kubernetes only: delete the Node objects of the non-recovery control-"
                 "plane hosts, so ovnkube-master drops them.",
                 targets=Targets.API, action=guarded(delete_nodes),
                 preview=lambda ctx: [(API, Command.of("oc", *delete_nodes_op(
                     nodes_to_delete(ctx)).oc_args))],
                 check=check_nodes_deleted, safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER,
                 skip_if=skip_not_ovn),
            Step("RST-14", "Wait until ovnkube-master forgets them",
                 "OVN-Kubernetes only: until ds/ovnkube-master no longer mentions the IPs of the "
                 "non-recovery control-plane hosts (5-10 minutes or more).",
                 targets=Targets.API, check=check_ovnkube_master_ips,
                 wait=Wait(15.0, ROLLOUT_TIMEOUT), skip_if=skip_not_ovn),
        ]
    steps += [
        Step("RST-15", "Restart OVN-Kubernetes" + (" (interconnect)" if ovn_ic else ""),
             ("OVN interconnect: delete the ovnkube-control-plane pods; then node by node "
              "(recovery host first, the other control-plane hosts, then workers): rm -f "
              "/var/lib/ovn-ic/etc/*.db, restart ovs-vswitchd and ovsdb-server, delete that "
              "node's ovnkube-node pod and wait for it to run again." if ovn_ic else
              "rm -f /var/lib/ovn/etc/*.db on the control-plane hosts (RST-15a), delete the "
              "ovnkube-master pods and wait for them (RST-15b/c), delete every ovnkube-node pod "
              "and wait for them (RST-15d/e).")
             + " Admission webhooks with failurePolicy Fail that can reject pods in "
               "openshift-ovn-kubernetes are listed first and, confirmed, set to Ignore; "
               "back to Fail once the OVN pods run.",
             targets=Targets.ALL_NODES, hosts=ovn_acting_hosts, action=guarded(restart_ovn),
             preview=ovn_preview,
             safety=Safety.DESTRUCTIVE, confirm=Confirm.TYPE_CLUSTER, skip_if=skip_not_ovn),
        step_replace("RST-16",
                      "One at a time, delete the machine of each other control-plane host "
                      "(oc delete machine -n openshift-machine-api); the machine API provisions "
                      "a new one; wait until it is Running. Never the recovery host's machine. "
                      "On user-provisioned or bare metal installs the host is recreated by "
                      "hand."),
        guard_off_step("RST-17"),
        Step("RST-18", "API access from the recovery host",
             f"When the external API is not back, API steps run `oc` on the recovery host with "
             f"KUBECONFIG={RECOVERY_KUBECONFIG}; the console picks the transport per call.",
             targets=Targets.API, check=check_transport, wait=Wait(POLL, API_BACK_TIMEOUT)),
        Step("RST-19", "Force an etcd redeployment",
             "A unique forceRedeploymentReason (recovery-<timestamp>) starts a new etcd "
             "revision; with the guard off, etcd scales back up to every control-plane host.",
             targets=Targets.API, action=guarded(redeploy_etcd),
             preview=patch_preview("etcd", redeploy_patch("etcd")),
             check=check_redeploy_sent, safety=Safety.MUTATING, confirm=Confirm.YES_NO),
        guard_on_step("RST-20"),
        Step("RST-21", "Check the guard is on",
             "unsupportedConfigOverrides must be gone from etcd/cluster.",
             targets=Targets.API, check=check_guard_on),
        Step("RST-22", "Wait for etcd's rollout",
             "Until NodeInstallerProgressing reads AllNodesAtLatestRevision (one revision in "
             "the message) with the new revision.",
             targets=Targets.API, check=check_etcd_rolled_out,
             wait=Wait(30.0, ROLLOUT_TIMEOUT)),
        Step("RST-23", "Force the control plane's rollouts",
             "kubeapiserver, then kubecontrollermanager, then kubescheduler: each a unique "
             "forceRedeploymentReason, each waited until AllNodesAtLatestRevision.",
             targets=Targets.API, action=guarded(redeploy_control_plane),
             preview=rollout_preview, check=check_all_rollouts, safety=Safety.MUTATING,
             confirm=Confirm.YES_NO),
        Step("RST-24", "etcd runs on every control-plane host",
             "`oc -n openshift-etcd get pods -l k8s-app=etcd`: one Running pod per control-"
             "plane host.", targets=Targets.API, check=check_etcd_everywhere,
             wait=Wait(30.0, ROLLOUT_TIMEOUT)),
        step_aftercare(),
    ]
    return tuple(steps)


def rstn_steps() -> tuple[Step, ...]:
    return (
        Step("RSTN-01", "Choose the recovery host; SSH to every control-plane host",
             "The healthy control-plane host the cluster is restored from, and sessions to "
             "every control-plane host (kept open: the API goes away).",
             targets=Targets.CONTROL_PLANE, check=check_rstn01),
        Step("RSTN-02", "Run disable-etcd.sh on every control-plane host",
             "On every control-plane host, the recovery host included: disable-etcd.sh moves "
             "etcd-pod.yaml to /home/core/assets/manifests-stopped and waits for the etcd "
             "containers to stop; the API servers keep running. Lost hosts are skipped.",
             targets=Targets.CONTROL_PLANE, action=guarded(disable_etcd_action),
             preview=lambda ctx: [(h, disable_command(ctx)) for h in control_plane(ctx)
                                  if h not in lost_hosts(ctx)],
             check=check_etcd_disabled, precheck=False, safety=Safety.DESTRUCTIVE,
             confirm=Confirm.TYPE_CLUSTER),
        step_backup("RSTN-03"),
        step_script("RSTN-04", "Run cluster-restore.sh on the recovery host",
                     "cluster-restore.sh stops etcd, restores the snapshot with a revision bump "
                     "and the compaction mark and starts a single-member etcd; the other "
                     "members rejoin on their own. Sent once, under an attempt record: a resumed "
                     "run asks the host what this run's attempt did, and never sends it again "
                     "on a guess."),
        guard_off_step("RSTN-05", wait_api=True),
        step_replace("RST-16",
                      "Hosts were lost: one at a time, delete each lost host's machine so the "
                      "machine API provisions a new one, and wait until it is Running. Never "
                      "the recovery host's machine."),
        Step("RSTN-06", "Wait until every cluster operator is stable",
             "What `oc adm wait-for-stable-cluster` does: no operator Progressing or Degraded, "
             "all Available (about 15 minutes).",
             targets=Targets.API, check=check_stable, wait=Wait(30.0, STABLE_TIMEOUT)),
        guard_on_step("RSTN-07", "Turn the quorum guard back on and check it"),
        Step("RSTN-08", "Force a redeployment only if etcd did not roll out",
             "When the etcd static pods did not roll out to every control-plane host, a unique "
             "forceRedeploymentReason forces it; otherwise nothing is sent.",
             targets=Targets.API, action=guarded(force_if_stalled),
             preview=patch_preview("etcd", redeploy_patch("etcd")),
             check=check_etcd_static_pods, wait=Wait(30.0, ROLLOUT_TIMEOUT),
             safety=Safety.MUTATING),
        step_aftercare(),
    )


def qrs_steps() -> tuple[Step, ...]:
    return (
        Step("QRS-01", "Pick the member with the most recent data",
             "With the API down: the running control-plane host with the highest raft index "
             "(endpoint status, or maxRaftIndex in /var/lib/etcd/revision.json). Data written "
             "only to other members is lost.",
             targets=Targets.RECOVERY_HOST, check=check_recovery_host),
        Step("QRS-02", "Check its etcd container",
             "`crictl ps --name '^etcd$'` on that host.",
             targets=Targets.RECOVERY_HOST, check=check_etcd_container),
        step_script("QRS-03", "Run quorum-restore.sh on that host",
                     "quorum-restore.sh restarts etcd as a new single-member cluster from this "
                     "host's local data, with a revision bump. Sent once, under an attempt "
                     "record: a resumed run asks the host what this run's attempt did, and "
                     "never sends it again on a guess."),
        step_replace("QRS-04",
                      "Members on hosts that are still online rejoin on their own; for each "
                      "offline (lost) host, delete its Machine so a new one is provisioned, and "
                      "wait until it is Running (user-provisioned: delete its node and "
                      "reinstall by hand)."),
        Step("QRS-05", "Wait until every cluster operator is stable",
             "No operator Progressing or Degraded, all Available; a redeployment is forced "
             "only if the etcd static pods do not roll out.",
             targets=Targets.API, action=guarded(wait_stable_quorum),
             preview=patch_preview("etcd", redeploy_patch("etcd")),
             check=check_stable, safety=Safety.MUTATING),
        step_aftercare(),
    )


# The phases an operator confirms once each (tui/runbooks/runner.py, Runner._confirm): the
# steps that take the cluster down and restore it; those that rebuild what the restore left
# behind (certificates, lost nodes, the network, lost machines); those that roll the control
# plane out again. Aftercare asks nothing. Each destructive command is still listed, per step
# and host, in the phase's question, and a step that would send anything else asks again.
PHASES = {
    "rst": (("Take the cluster down and restore the backup", "RST-01", "RST-08"),
            ("Bring back the nodes, the network and the lost machines", "RST-09", "RST-16"),
            ("Roll etcd and the control plane out again", "RST-17", "RST-24")),
    "rstn": (("Stop etcd and restore the backup", "RSTN-01", "RSTN-04"),
             ("Replace the lost machines and let the cluster settle", "RSTN-05", "RSTN-08")),
    "qrs": (("Restart etcd from this host's data", "QRS-01", "QRS-03"),
            ("Replace the lost machines and let the cluster settle", "QRS-04", "QRS-05")),
}


def _in_phases(steps: tuple[Step, ...], phases) -> tuple[Step, ...]:
    """Each step from a phase's first to its last ID (in runbook order) gets that phase."""
    out, phase, last = [], "", ""
    for step in steps:
        begins = next((p for p in phases if p[1] == step.id), None)
        if begins is not None:
            phase, last = begins[0], begins[2]
        out.append(replace(step, phase=phase) if phase else step)
        if step.id == last:
            phase = ""
    return tuple(out)


@dataclass(frozen=True)
class RestoreRunbook(Runbook):
    """A restore procedure; `path_key` says which ("4.12-4.13", ..., "quorum")."""

    path_key: str = ""

    def print_plan(self, runner, out) -> None:
        """The change ticket; exit 2 afterwards when the real run would be refused."""
        print_ticket(runner, out)
        override = runner.ctx.params.get("override")
        blocked = [i for i in runner.ctx.params.get("preflight") or []
                   if i["blocking"] and not i["ok"]
                   and not (override and i.get("overridable", True))]
        if blocked:
            hint = "Fix these, or give --override REASON where that is allowed"
            # the same rule as the console's wizard: on 4.18+ without a usable backup, the
            # quorum restore is the procedure the checks point at
            p = runner.ctx.params
            backup_ok = all(i["ok"] for i in p.get("preflight") or []
                            if i["key"] in ("backup", "snapshot"))
            if self.name == "restore" and self.path_key == "4.18+":
                key, why = suggest_procedure("restore", RestorePath(
                    "4.18+", "RSTN", p.get("path_reason") or "the procedure"), "", backup_ok)
                if key == QUORUM:
                    hint += (f". {why[:1].upper()}{why[1:]} Headless: etcd-dr run quorum-restore (the console's "
                             f"restore wizard proposes it)")
            raise Refused("the plan is printed, but the run would be refused: "
                          + "; ".join(f"{i['title']}: {i['detail']}" for i in blocked),
                          hint=hint)


def restore_runbook(path_key: str) -> RestoreRunbook:
    """The restore runbook for a path: "4.12-4.13" | "4.14-4.17" | "4.18+"."""
    if path_key not in PATH_KEYS:
        raise EtcdDrError(f"unknown restore path {path_key!r}",
                          hint=f"Choose one of {', '.join(PATH_KEYS)}")
    steps = _in_phases(rstn_steps(), PHASES["rstn"]) if path_key == "4.18+" else \
        _in_phases(rst_steps(path_key), PHASES["rst"])
    label = {"4.12-4.13": "RST as written", "4.14-4.17": "RST by release",
             "4.18+": "RSTN"}[path_key]
    return RestoreRunbook(name="restore", title=f"Restore etcd from a backup ({path_key}, "
                                                f"{label})",
                          steps=steps, preflight=run_preflight("restore", path_key),
                          params=("backup_dir",), path_key=path_key)


QUORUM_RESTORE = RestoreRunbook(
    name="quorum-restore", title="Quorum restore without a backup (4.18+, QRS)",
    steps=_in_phases(qrs_steps(), PHASES["qrs"]), preflight=run_preflight("quorum-restore"),
    path_key="quorum")


@dataclass(frozen=True)
class ResolvingRunbook(Runbook):
    """`restore` before its path is known: `resolve(ctx)` reads the cluster (the preflight)
    and returns the runbook for its version, or for params["path"] when given (a resume, or
    the operator's override with a reason)."""

    @property
    def mutating(self) -> bool:
        return True

    async def resolve(self, ctx: RunContext) -> RestoreRunbook:
        key = ctx.params.get("path")
        if key and key not in PATH_KEYS:
            raise EtcdDrError(f"unknown restore path {key!r}",
                              hint=f"Choose one of {', '.join(PATH_KEYS)}")
        if key and ctx.params.get("preflight") is not None:
            return restore_runbook(key)  # a resume: the journal's plan already chose it
        report = await preflight_report(ctx, "restore")
        ctx.restore_report = report
        if key and report.path is not None and report.path.key != key and \
                not ctx.params.get("path_reason"):
            raise Refused(f"--path {key} differs from the detected {report.path.key} "
                          f"({report.path.why})", hint="Give the reason with --reason")
        key = key or (report.path.key if report.path else None)
        if key is None:
            raise Refused(f"the cluster version is unknown ({report.version_source}): the "
                          f"restore procedure depends on it",
                          hint="Choose it with --path 4.12-4.13|4.14-4.17|4.18+ and --reason")
        return restore_runbook(key)


async def _unresolved(ctx: RunContext) -> list[str]:
    return ["the restore runbook must be resolved to a procedure first (resolve_runbook)"]


RESTORE = ResolvingRunbook(name="restore", title="Restore etcd from a backup", steps=(),
                           preflight=_unresolved)
