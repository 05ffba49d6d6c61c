"""The programs a drill host's shell can run, one module per family.

Importing this package loads every family, and each registers its programs in the registry
(tui.drill.programs) with the `command` decorator. The shell imports this package, so a
shell always has every program. Each command acts only on the drill model (never on the real
machine) and fails the way the real program does: same stderr text, same exit status, so an
operator who trains here meets the same messages on a real node.
"""

# isort: off
# The families register in this order, which is the order of COMMANDS and of the binaries
# tui.drill.hostfiles writes: keep it when adding one.
from tui.drill.commands import builtins
from tui.drill.commands import files
from tui.drill.commands import dirs
from tui.drill.commands import fileinfo
from tui.drill.commands import archive
from tui.drill.commands import text
from tui.drill.commands import system
from tui.drill.commands import crictl
from tui.drill.commands import scripts
from tui.drill.commands import oc
from tui.drill.commands import pcs
# isort: on

FAMILIES = (builtins, files, dirs, fileinfo, archive, text, system, crictl, scripts, oc, pcs)
