"""The real-programs test lab: OpenSSH sshd and etcd on loopback, started and stopped by pid.

`tests.lab.lab` builds labs (usable from tests and from bench/), `tests.lab.fixtures` holds
the pytest fixtures; test modules load them with `pytest_plugins = ["tests.lab.fixtures"]`.
"""
