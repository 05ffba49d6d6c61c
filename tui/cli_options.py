"""What the `etcd-dr` commands share: every failure as one paragraph on stderr and an exit
code (never a traceback), and the options several commands take. The commands are in
tui/cli.py (one cluster), tui/cli_fleet.py (many clusters) and tui/cli_lab.py (the drill lab).
"""

from __future__ import annotations

import sys
from functools import wraps

import click

from tui.errors import EtcdDrError


def fail(message: str, code: int = 2) -> None:
    from tui.secrets import redact_text

    click.echo(redact_text(f"etcd-dr: {message}"), err=True)
    sys.exit(code)


def operator_errors(fn):
    """Turn every failure into a plain message and an exit code."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EtcdDrError as e:
            fail(e.message, e.exit_code)
        except KeyboardInterrupt:
            fail("interrupted.", 130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as e:  # the last line of defence: still no traceback
            fail(f"unexpected internal error: {e.__class__.__name__}: {e}. Nothing more was "
                 f"sent to the hosts after this point; please report it with the command "
                 f"you ran.", 1)

    return wrapper


def _speed(ctx, param, value):
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter("must be greater than 0 (a finite number)")
    return value


def _scenario(ctx, param, value):
    if value is None:
        return value
    from tui.drill.scenario import scenario_files

    known = scenario_files()
    if value not in known and not value.endswith((".yaml", ".yml")):
        raise click.BadParameter(f"unknown scenario {value!r}; known: {', '.join(known)}")
    return value


scenario_option = click.option("--scenario", default=None, callback=_scenario,
                               help="Drill scenario (see `etcd-dr scenarios`).")
# `etcd-dr drill` opens a current release unless told otherwise; status, run and lab serve
# keep `healthy` (4.12), the contract's name, as their --drill default
DEFAULT_DRILL_SCENARIO = "healthy-4.20"
speed_option = click.option("--speed", type=float, default=1.0, callback=_speed,
                            show_default=True, help="Simulated clock speed factor.")
read_only_option = click.option("--read-only", is_flag=True,
                                help="Send nothing that changes a host or the cluster.")


def duration(ctx, param, value):
    """click callback: a DURATION option (30s, 5m, 2h) in seconds."""
    if value is None:
        return None
    from tui.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
