"""The programs a drill host's shell can run, one module per family.

Importing this package loads every family, and each registers its programs in the registry
(tui.drill.programs) with the `command` decorator. The shell imports this package, so a
shell always has every program. Each command acts only on the drill model (never on the real
machine) and fails the way the real program does: same stderr text, same exit status, so an
operator who trains here meets the same messages on a real node.
"""

# Every family; none depends on the order they register in (listings sort, and each program
# has paths of its own).
from tui.drill.commands import (archive, builtins, crictl, dirs, fileinfo, files, grep, hostinfo,
                                oc, pcs, scripts, system, testcmd, text, units)

FAMILIES = (builtins, testcmd, files, dirs, fileinfo, archive, grep, text, system, hostinfo, units,
            crictl, scripts, oc, pcs)
