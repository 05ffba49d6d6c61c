"""Keep libraries' log records off the operator's terminal, and cheap when nobody reads them.

Python prints WARNING records of unconfigured loggers to stderr, which would scribble over
the console's screen (kubernetes' "Config not found", asyncssh's connection notes). What
matters reaches the operator through our own messages instead. (Warnings that libraries print
at import, such as asyncssh's about DSA under cryptography 51, are filtered in tui/__init__.py,
before any of our modules imports them.)
"""

from __future__ import annotations

import logging
import sys

LIBRARIES = ("kubernetes", "asyncssh", "aiohttp", "urllib3")


def quiet_library_logs() -> None:
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    if "asyncssh" in sys.modules:  # else its users call it (the fleet, the drill's server)
        skip_disabled_ssh_logs()


def skip_disabled_ssh_logs() -> None:
    """asyncssh's SSHLogger.log turns each argument into text before the logger looks at
    the level, for every channel opened and closed: at a wall of a hundred clusters that was
    5% of the probes' CPU, for debug lines nobody sees. A record whose level is off is
    dropped first; one whose level is on is logged as asyncssh logs it. Called by what
    opens SSH connections (the fleet, the drill's server); once is enough."""
    # imported here: a command that opens no SSH connection does not load asyncssh
    from asyncssh.logging import SSHLogger

    if getattr(SSHLogger.log, "level_checked_first", False):
        return
    log_as_asyncssh_does = SSHLogger.log

    def log(self, level: int, msg: object, *args, **kwargs) -> None:
        if self.isEnabledFor(level):
            log_as_asyncssh_does(self, level, msg, *args, **kwargs)

    log.level_checked_first = True  # type: ignore[attr-defined]
    SSHLogger.log = log  # type: ignore[method-assign]
