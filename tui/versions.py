"""OpenShift release numbers, as the procedures branch on them."""

from __future__ import annotations


def openshift_minor(version: str | None) -> tuple[int, int] | None:
    """(major, minor) of a version like "4.12.30", or None when it cannot be read."""
    try:
        major, minor = (version or "").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return None
