"""The cluster operators' conditions on the drill cluster (Available, Progressing, Degraded),
following the rollouts, the etcd members and the API, and when the cluster counts as settled."""

from __future__ import annotations

from tui.drill import objects
from tui.drill.model import (
    DrillCluster,
)

OPERATORS_SETTLE_SECONDS = 180.0


def members_complete(cluster: DrillCluster) -> bool:
    for h in cluster.control_plane():
        m = cluster.member_of(h)
        if not h.up or m is None or not m.running or m.is_learner:
            return False
    return True


def settle(cluster: DrillCluster, now: float) -> bool:
    api = cluster.api
    if members_complete(cluster):
        if api.members_complete_since is None:
            api.members_complete_since = now
            return True
    elif api.members_complete_since is not None:
        api.members_complete_since = None
        return True
    return False


def settled(cluster: DrillCluster) -> bool:
    """The operators are all Available, none Progressing or Degraded: OPERATORS_SETTLE_SECONDS
    after every control-plane host runs a member again (right away on a cluster that was
    never restored and has all its members)."""
    api = cluster.api
    since = api.members_complete_since
    if since is None:
        return False
    if cluster.restored_at is None:
        return True
    return cluster.clock.now() >= max(since, cluster.restored_at) + OPERATORS_SETTLE_SECONDS


_PROGRESSING = {
    "authentication": "OAuthServerDeploymentProgressing: deployment/oauth-openshift."
                      "openshift-authentication: 2/3 pods have been updated to the latest "
                      "generation",
    "openshift-apiserver": "APIServerDeploymentProgressing: deployment/apiserver."
                           "openshift-apiserver: 1/3 pods have been updated to the latest "
                           "generation",
    "console": "SyncLoopRefreshProgressing: Working toward version",
    "ingress": "ingresscontroller \"default\" is progressing: IngressControllerProgressing: "
               "One or more status conditions indicate progressing: DeploymentRollingOut=True",
    "monitoring": "Rolling out the stack.",
    "machine-config": "Working towards the rendered configuration",
}


_STATIC = {"etcd": "etcds", "kube-apiserver": "kubeapiservers",
           "kube-controller-manager": "kubecontrollermanagers",
           "kube-scheduler": "kubeschedulers"}


def clusteroperator_conditions(cluster: DrillCluster, name: str) -> dict:
    """Available/Progressing/Degraded of cluster operator `name` (and "_since", when they
    last changed)."""
    ok = {"status": "False", "reason": "AsExpected", "message": "All is well"}
    available = {"status": "True", "reason": "AsExpected", "message": "All is well"}
    progressing = dict(ok)
    degraded = dict(ok)
    restored = cluster.restored_at is not None
    calm = settled(cluster) or (not restored and members_complete(cluster))
    since = cluster.restored_at or 0.0
    plural = _STATIC.get(name)
    if plural and plural in cluster.api.operators:
        moving, message = objects.rollout_message(cluster, cluster.api.operators[plural])
        if moving:
            progressing = {"status": "True", "reason": "NodeInstaller",
                           "message": f"NodeInstallerProgressing: {message}"}
        else:
            available["message"] = f"StaticPodsAvailable: {message}"
    if name == "etcd":
        lacking = [h.name for h in cluster.control_plane()
                   if not (h.up and cluster.member_of(h) and cluster.member_of(h).running)]
        if lacking:
            degraded = {"status": "True", "reason": "EtcdMembers_UnhealthyMembers",
                        "message": "EtcdMembersDegraded: " + ", ".join(
                            f"{n} is unhealthy" for n in lacking)}
            if restored:
                progressing = {"status": "True", "reason": "EtcdMembers_MembersProgressing",
                               "message": "EtcdMembersProgressing: members are being added"} \
                    if progressing["status"] == "False" else progressing
    if name == "network":
        missing = [r for r in cluster.api.pods.values()
                   if not r.name or r.running_at is None or
                   cluster.clock.now() < r.running_at]
        if missing and cluster.api.network_type == "OVNKubernetes":
            apps = sorted({r.app for r in missing})
            progressing = {"status": "True", "reason": "Deploying",
                           "message": "; ".join(f'DaemonSet "/openshift-ovn-kubernetes/{a}" is '
                                                f'not available (awaiting {sum(1 for r in missing if r.app == a)} nodes)'
                                                for a in apps)}
    if restored and not calm:
        if progressing["status"] == "False" and name in _PROGRESSING:
            progressing = {"status": "True", "reason": "Progressing",
                           "message": _PROGRESSING[name]}
        if name in ("authentication", "openshift-apiserver", "kube-apiserver") and \
                degraded["status"] == "False":
            degraded = {"status": "True", "reason": "APIServerDeployment_UnavailablePod",
                        "message": "APIServerDeploymentDegraded: 1 of 3 requested instances "
                                   "are unavailable"}
    elif calm and restored and cluster.api.members_complete_since is not None:
        since = max(since, cluster.api.members_complete_since) + (
            OPERATORS_SETTLE_SECONDS if restored else 0)
    return {"Degraded": degraded, "Progressing": progressing, "Available": available,
            "_since": since or None}
