"""Data files shipped with etcd-dr: styles, help text and drill scenarios."""

from importlib.resources import files


def asset_path(*parts: str):
    """A Traversable for a file under assets/ (works installed or from a checkout)."""
    node = files(__name__)
    for part in parts:
        node = node / part
    return node
