"""etcd-dr: the guided etcd recovery console for OpenShift 4.

The headless core (inventory, fleet, etcd, cluster, drill, status) imports no Textual;
the app (tui.app, tui.widgets, screens) renders what the core reports.
"""

__version__ = "0.1.0"
