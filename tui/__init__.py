"""etcd-dr: the guided etcd recovery console for OpenShift 4.

The headless core (inventory, fleet, etcd, cluster, drill, status) imports no Textual;
the app (tui.app, tui.widgets, screens) renders what the core reports.
"""

import warnings

__version__ = "0.1.0"

# cryptography 51 deprecates DSA, and asyncssh names DSA classes in type hints at import
# time: five CryptographyDeprecationWarnings on stderr before every command's own output. The
# console never offers DSA keys or host keys of its own; what asyncssh negotiates is its
# business. Set here, before any module of ours imports asyncssh.
warnings.filterwarnings("ignore", message=r"DSA is deprecated", module=r"asyncssh\.")
