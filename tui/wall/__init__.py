"""The readiness wall (`etcd-dr wall`): many clusters, read-only, worst first.

readiness: the verdict rules (no I/O); backups: the backup probe's commands; probe: one
read-only backend per cluster, refreshed a bounded number at a time. No Textual here: the
screen is screens/wall.py.
"""
