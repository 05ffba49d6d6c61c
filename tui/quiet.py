"""Keep libraries' log records off the operator's terminal.

Python prints WARNING records of unconfigured loggers to stderr, which would scribble over
the console's screen (kubernetes' "Config not found", asyncssh's connection notes). What
matters reaches the operator through our own messages instead.
"""

from __future__ import annotations

import logging

LIBRARIES = ("kubernetes", "asyncssh", "aiohttp", "urllib3")


def quiet_library_logs() -> None:
    for name in LIBRARIES:
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
