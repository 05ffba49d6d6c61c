"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as the kube-apiserver applies them,
with its error messages. Pure functions over JSON documents; nothing of the drill."""

from __future__ import annotations

import json
import re
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class JsonPatchError(ValueError):
    """A JSON patch (RFC 6902) that does not apply to the document."""


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not isinstance(path, str) or not path.startswith("/"):
        raise JsonPatchError(f"invalid JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list, key: str, path: str, op: str, adding: bool = False) -> int:
    if adding and key == "-":
        return len(container)
    if not re.fullmatch(r"0|[1-9]\d*", key):
        raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    i = int(key)
    if i > len(container) - (0 if adding else 1):
        raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return i


def _parent(doc: Any, parts: list[str], path: str, op: str) -> Any:
    node = doc
    for key in parts[:-1]:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list):
            node = node[_index(node, key, path, op)]
        else:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return node


def _at(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, key = _parent(doc, parts, path, op), parts[-1]
    if isinstance(parent, dict) and key in parent:
        return parent[key]
    if isinstance(parent, list):
        return parent[_index(parent, key, path, op)]
    raise JsonPatchError(f"{op} operation does not apply: doc is missing key: {path}")


def apply_json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 (add, remove, replace, move, copy, test) on a copy of `doc`."""
    if not isinstance(operations, list):
        raise JsonPatchError("json: cannot unmarshal object into Go value of type "
                             "jsonpatch.Patch")
    doc = json.loads(json.dumps(doc))
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise JsonPatchError("operation missing op or path")
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise JsonPatchError(f"{op} operation: missing value")
        if op == "test":
            if _at(doc, path, op) != operation["value"]:
                raise JsonPatchError(f"testing value {path} failed: test failed")
            continue
        if op in ("move", "copy"):
            value = json.loads(json.dumps(_at(doc, operation.get("from", ""), op)))
            if op == "move":
                doc = apply_json_patch(doc, [{"op": "remove", "path": operation.get("from")}])
            doc = apply_json_patch(doc, [{"op": "add", "path": path, "value": value}])
            continue
        if op not in ("add", "remove", "replace"):
            raise JsonPatchError(f"unexpected operation: {op!r}")
        parts = _pointer(path)
        if not parts:
            if op == "remove":
                raise JsonPatchError("remove operation does not apply: the whole document")
            doc = operation["value"]
            continue
        parent, key = _parent(doc, parts, path, op), parts[-1]
        if isinstance(parent, dict):
            if op != "add" and key not in parent:
                raise JsonPatchError(f"{op} operation does not apply: doc is missing key: "
                                     f"{path}")
            if op == "remove":
                del parent[key]
            else:
                parent[key] = operation["value"]
        elif isinstance(parent, list):
            i = _index(parent, key, path, op, adding=op == "add")
            if op == "add":
                parent.insert(i, operation["value"])
            elif op == "remove":
                del parent[i]
            else:
                parent[i] = operation["value"]
        else:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return doc


def merge_diff(before: Any, after: Any) -> Any:
    """The merge patch (RFC 7386) that turns `before` into `after`."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return after
    out: dict[str, Any] = {k: None for k in before if k not in after}
    for k, v in after.items():
        if k not in before:
            out[k] = v
        elif before[k] != v:
            out[k] = merge_diff(before[k], v)
    return out
