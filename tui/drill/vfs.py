"""The drill host's filesystem as the programs see it: paths, permissions, symlinks.

Everything lives in the DrillHost model (files, dirs, links and their metadata maps); nothing
here touches the real machine. Permissions follow what a real RHCOS control-plane node has,
because the procedures depend on them: as `core`, files under /etc/kubernetes,
/var/lib/etcd and /var/lib/kubelet cannot be read, moved or removed, and /var/lib/etcd cannot
even be listed; under sudo everything works.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import zlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.drill.model import DrillHost
    from tui.drill.shell import ShellSession

ENOENT = "No such file or directory"
EACCES = "Permission denied"
EPERM = "Operation not permitted"
ENOTDIR = "Not a directory"
EISDIR = "Is a directory"
EEXIST = "File exists"
ENOTEMPTY = "Directory not empty"
EINVAL = "Invalid argument"
ELOOP = "Too many levels of symbolic links"
EBUSY = "Device or resource busy"

# files only root may read (0600) on a real node
ROOT_FILE_TREES = ("/etc/kubernetes", "/var/lib/etcd", "/var/lib/etcd-backup",
                   "/var/lib/kubelet", "/root", "/etc/ssh")
# directories only root may enter (0700): etcd enforces it on its data dir
PRIVATE_DIRS = ("/var/lib/etcd", "/var/lib/etcd-backup", "/root")
STICKY_DIRS = ("/tmp", "/var/tmp")
HOME = "/home/core"
DEVICES = {"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty"}


class FsError(Exception):
    def __init__(self, strerror: str, path: str = ""):
        super().__init__(strerror)
        self.strerror = strerror
        self.path = path


def under(path: str, tree: str) -> bool:
    return path == tree or path.startswith(tree.rstrip("/") + "/")


def normpath(path: str, cwd: str = "/") -> str:
    """Absolute, lexically normalised path (no symlink resolution)."""
    if not path.startswith("/"):
        path = posixpath.join(cwd, path)
    out = posixpath.normpath(path)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


class Vfs:
    """One user's view of one host's files."""

    def __init__(self, host: "DrillHost", user: str = "core", cwd: str = "/",
                 now: float = 0.0):
        self.host = host
        self.user = user
        self.cwd = cwd
        self.now = now
        self._ensure_parents()

    @classmethod
    def for_session(cls, session: "ShellSession") -> "Vfs":
        host = getattr(session, "fs", None) or session.host
        return cls(host, session.user, session.cwd, session.cluster.clock.now())

    @property
    def root(self) -> bool:
        return self.user == "root"

    def _ensure_parents(self) -> None:
        # hosts built by hand may list files without their directories
        # (each command's Vfs does this over every path: rpartition, not posixpath.dirname,
        # which was most of a drill command's time; the paths are normalised, absolute)
        # Only the paths not seen by an earlier command's Vfs are walked (the set
        # differences run in C); once any directory seen before has gone (rm -r, mv, a
        # controller), every path is walked again, as each command did before.
        host = self.host
        dirs = host.dirs
        seen: set[str] | None = getattr(host, "_parents_seen", None)
        seen_dirs: set[str] | None = getattr(host, "_parents_dirs", None)
        if seen is None or seen_dirs is None or not dirs.issuperset(seen_dirs):
            seen = set()
        fresh = (host.files.keys() | host.links.keys() | dirs) - seen
        for p in fresh:
            d = p.rpartition("/")[0]
            while d and d not in dirs:
                dirs.add(d)
                d = d.rpartition("/")[0]
        dirs.add("/")
        seen |= fresh
        seen.update(dirs)
        try:
            host._parents_seen, host._parents_dirs = seen, set(dirs)
        except AttributeError:  # a host object that keeps no attributes: walk each time
            pass

    # --- metadata -------------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        return normpath(path, self.cwd)

    def kind(self, p: str) -> str | None:
        """"dir" | "file" | "link" | "dev" | None for an already-resolved absolute path."""
        h = self.host
        if p == "/" or p in h.dirs:
            return "dir"
        if p in h.links:
            return "link"
        if p in h.files:
            return "file"
        if p in DEVICES:
            return "dev"
        return None

    def owner(self, p: str) -> str:
        o = self.host.owners.get(p)
        if o:
            return o
        if under(p, HOME):
            return "core"
        return "root"

    def mode(self, p: str) -> int:
        m = self.host.modes.get(p)
        if m is not None:
            return m
        k = self.kind(p)
        if k == "link":
            return 0o777
        if k == "dev":
            return 0o666
        if k == "dir":
            if p in STICKY_DIRS:
                return 0o1777
            if p == HOME:
                return 0o700
            if p == "/root":
                return 0o550
            if any(under(p, d) for d in PRIVATE_DIRS):
                return 0o700
            return 0o755
        if p.startswith("/usr/local/bin/") or p.startswith("/usr/bin/") or \
                p.startswith("/usr/sbin/"):
            return 0o755
        if any(under(p, t) for t in ROOT_FILE_TREES):
            return 0o600
        return 0o644

    def mtime(self, p: str) -> float:
        t = self.host.mtimes.get(p)
        if t is not None:
            return t
        # files nobody touched date from the node's installation, a few days before "now"
        return self.now - 4 * 86400 - (zlib.crc32(p.encode()) % 3600)

    def size(self, p: str) -> int:
        k = self.kind(p)
        if k == "dir":
            return 4096 if p.count("/") < 3 else max(6, 20 * len(self.listdir_raw(p)))
        if k == "link":
            return len(self.host.links[p])
        if k == "dev":
            return 0
        if p in self.host.sizes:
            return self.host.sizes[p]
        return len(self.host.files.get(p, b""))

    def _allowed(self, p: str, bit: int) -> bool:
        """bit: 4 read, 2 write, 1 execute/search (owner bits when the user owns it)."""
        if self.root:
            return True
        m = self.mode(p)
        if self.owner(p) == self.user:
            return bool((m >> 6) & bit)
        return bool(m & bit)

    def can_read(self, p: str) -> bool:
        return self._allowed(p, 4)

    def can_write(self, p: str) -> bool:
        return self._allowed(p, 2)

    def can_exec(self, p: str) -> bool:
        return self._allowed(p, 1)

    # --- resolution -----------------------------------------------------------------------

    def resolve(self, path: str, follow: bool = True) -> str:
        """The real absolute path behind `path`, following symlinks (and the last component
        too if `follow`). Raises FsError on an unsearchable or non-directory component; the
        last component itself need not exist."""
        p = self.abspath(path)
        trailing = path.endswith("/") and p != "/"
        hops = 0
        parts = [x for x in p.split("/") if x]
        cur = "/"
        i = 0
        while i < len(parts):
            name = parts[i]
            if name == "..":
                cur = posixpath.dirname(cur)
                i += 1
                continue
            if self.kind(cur) != "dir":
                raise FsError(ENOTDIR if self.kind(cur) else ENOENT, cur)
            if not self.can_exec(cur):
                raise FsError(EACCES, cur)
            nxt = posixpath.join(cur, name)
            last = i == len(parts) - 1
            if self.kind(nxt) == "link" and (not last or follow or trailing):
                hops += 1
                if hops > 40:
                    raise FsError(ELOOP, nxt)
                target = self.host.links[nxt]
                base = "/" if target.startswith("/") else cur
                rest = parts[i + 1:]
                parts = [x for x in normpath(target, base).split("/") if x] + rest
                cur = "/"
                i = 0
                continue
            cur = nxt
            i += 1
        if trailing and self.kind(cur) not in ("dir", None):
            raise FsError(ENOTDIR, cur)
        return cur

    def lstat(self, path: str) -> tuple[str, str]:
        """(resolved path, kind) without following a final symlink; FsError if absent."""
        p = self.resolve(path, follow=False)
        k = self.kind(p)
        if k is None:
            raise FsError(ENOENT, p)
        return p, k

    def stat(self, path: str) -> tuple[str, str]:
        p = self.resolve(path, follow=True)
        k = self.kind(p)
        if k is None:
            raise FsError(ENOENT, p)
        return p, k

    def exists(self, path: str, follow: bool = True) -> bool:
        try:
            (self.stat if follow else self.lstat)(path)
            return True
        except FsError:
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return self.stat(path)[1] == "dir"
        except FsError:
            return False

    # --- reading --------------------------------------------------------------------------

    def read(self, path: str) -> bytes:
        p, k = self.stat(path)
        if k == "dir":
            raise FsError(EISDIR, p)
        if k == "dev":
            return b""
        if not self.can_read(p):
            raise FsError(EACCES, p)
        return self.host.files[p]

    def read_text(self, path: str) -> str:
        return self.read(path).decode("utf-8", "replace")

    def listdir_raw(self, p: str) -> list[str]:
        prefix = p.rstrip("/") + "/"
        h = self.host
        names = set()
        for coll in (h.files, h.dirs, h.links):
            for q in coll:
                if q.startswith(prefix) and q != p and "/" not in q[len(prefix):]:
                    names.add(q[len(prefix):])
        if p == "/dev":
            names.update(d[5:] for d in DEVICES)
        return sorted(names)

    def listdir(self, path: str) -> list[str]:
        p, k = self.stat(path)
        if k != "dir":
            raise FsError(ENOTDIR, p)
        if not self.can_read(p):
            raise FsError(EACCES, p)
        return self.listdir_raw(p)

    # --- writing --------------------------------------------------------------------------

    def _parent_writable(self, p: str, entry: str | None = None) -> None:
        parent = posixpath.dirname(p)
        if self.kind(parent) != "dir":
            raise FsError(ENOENT if self.kind(parent) is None else ENOTDIR, parent)
        if not self.can_write(parent) or not self.can_exec(parent):
            raise FsError(EACCES, p)
        # sticky /tmp: only an entry's owner may remove or rename it
        if entry is not None and not self.root and self.mode(parent) & 0o1000 \
                and self.owner(entry) != self.user and self.owner(parent) != self.user:
            raise FsError(EPERM, p)

    def _touch_meta(self, p: str) -> None:
        self.host.mtimes[p] = self.now

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        p = self.resolve(path, follow=True)
        k = self.kind(p)
        if k == "dev":
            return
        if k == "dir":
            raise FsError(EISDIR, p)
        if k == "file":
            if not self.can_write(p):
                raise FsError(EACCES, p)
            old = self.host.files[p] if append else b""
            self.host.files[p] = old + data
            self.host.sizes.pop(p, None)
        else:
            self._parent_writable(p)
            self.host.files[p] = data
            self.host.owners[p] = self.user
            self.host.modes[p] = 0o644
        self._touch_meta(p)

    def touch(self, path: str) -> None:
        p = self.resolve(path, follow=True)
        k = self.kind(p)
        if k is None:
            self.write(path, b"")
            return
        if k != "dev" and not self.can_write(p) and self.owner(p) != self.user:
            raise FsError(EACCES, p)
        self._touch_meta(p)

    def mkdir(self, path: str) -> str:
        p = self.resolve(path, follow=False)
        if self.kind(p) is not None:
            raise FsError(EEXIST, p)
        self._parent_writable(p)
        self.host.dirs.add(p)
        self.host.owners[p] = self.user
        self.host.modes[p] = 0o755
        self._touch_meta(p)
        return p

    def symlink(self, target: str, path: str) -> None:
        p = self.resolve(path, follow=False)
        if self.kind(p) is not None:
            raise FsError(EEXIST, p)
        self._parent_writable(p)
        self.host.links[p] = target
        self.host.owners[p] = self.user
        self._touch_meta(p)

    def readlink(self, path: str) -> str:
        p, k = self.lstat(path)
        if k != "link":
            raise FsError(EINVAL, p)
        return self.host.links[p]

    def unlink(self, path: str) -> None:
        p, k = self.lstat(path)
        if k == "dir":
            raise FsError(EISDIR, p)
        self._parent_writable(p, entry=p)
        self._drop(p)

    def rmdir(self, path: str) -> None:
        p, k = self.lstat(path)
        if k != "dir":
            raise FsError(ENOTDIR, p)
        if p == "/":
            raise FsError(EBUSY, p)
        if self.listdir_raw(p):
            raise FsError(ENOTEMPTY, p)
        self._parent_writable(p, entry=p)
        self._drop(p)

    def _drop(self, p: str) -> None:
        h = self.host
        for coll in (h.files, h.links, h.modes, h.owners, h.mtimes, h.sizes):
            coll.pop(p, None)
        h.dirs.discard(p)

    def _subtree(self, p: str) -> list[str]:
        prefix = p.rstrip("/") + "/"
        h = self.host
        return sorted({q for coll in (h.files, h.dirs, h.links) for q in coll
                       if q == p or q.startswith(prefix)})

    def rename(self, src: str, dst: str) -> None:
        """rename(2): `dst` is the final name. Directories move with everything below."""
        s, sk = self.lstat(src)
        d = self.resolve(dst, follow=False)
        dk = self.kind(d)
        if s == d:
            return
        if sk == "dir" and under(d, s):
            raise FsError(EINVAL, d)
        self._parent_writable(s, entry=s)
        self._parent_writable(d, entry=d if dk else None)
        if dk == "dir":
            if sk != "dir":
                raise FsError(EISDIR, d)
            if self.listdir_raw(d):
                raise FsError(ENOTEMPTY, d)
        elif dk is not None and sk == "dir":
            raise FsError(ENOTDIR, d)
        if dk is not None:
            for q in self._subtree(d):
                self._drop(q)
        h = self.host
        for q in self._subtree(s):
            nq = d + q[len(s):]
            # the moved file keeps its owner and mode, as rename(2) does
            own, mode, mt = self.owner(q), self.mode(q), self.mtime(q)
            if q in h.files:
                h.files[nq] = h.files.pop(q)
            if q in h.links:
                h.links[nq] = h.links.pop(q)
            if q in h.dirs:
                h.dirs.discard(q)
                h.dirs.add(nq)
            if q in h.sizes:
                h.sizes[nq] = h.sizes.pop(q)
            for coll in (h.modes, h.owners, h.mtimes):
                coll.pop(q, None)
            h.owners[nq], h.modes[nq], h.mtimes[nq] = own, mode, mt

    def copy_file(self, src: str, dst: str, preserve: bool = False) -> None:
        s, _ = self.stat(src)
        data = self.read(src)
        self.write(dst, data)
        d = self.resolve(dst, follow=True)
        if s in self.host.sizes:
            self.host.sizes[d] = self.host.sizes[s]
        if preserve:
            self.host.modes[d] = self.mode(s)
            self.host.mtimes[d] = self.mtime(s)
            if self.root:
                self.host.owners[d] = self.owner(s)
        else:
            self.host.modes.setdefault(d, self.mode(s) & 0o755)

    # --- globbing -------------------------------------------------------------------------

    def glob(self, pattern: str) -> list[str]:
        """Pathname expansion as bash does it (no dotfiles unless the pattern says so;
        unreadable directories simply match nothing). Results keep the pattern's form."""
        absolute = pattern.startswith("/")
        parts = [x for x in pattern.split("/") if x != ""]
        trailing = pattern.endswith("/")
        results = [("/" if absolute else "", "/" if absolute else self.cwd)]
        for idx, part in enumerate(parts):
            last = idx == len(parts) - 1
            nxt = []
            for shown, real in results:
                if not has_glob(part):
                    lit = unescape_glob(part)
                    rp = posixpath.join(real, lit)
                    try:
                        ok = self.exists(rp, follow=not last or trailing) or \
                            self.exists(rp, follow=False)
                    except FsError:
                        ok = False
                    if ok:
                        nxt.append((shown + lit + ("" if last else "/"), rp))
                    continue
                try:
                    names = self.listdir(real)
                except FsError:
                    continue
                rx = re.compile(glob_to_regex(part))
                for n in names:
                    if n.startswith(".") and not part.startswith("."):
                        continue
                    if rx.fullmatch(n):
                        rp = posixpath.join(real, n)
                        if not last and not self.is_dir(rp):
                            continue
                        nxt.append((shown + n + ("" if last else "/"), rp))
            results = nxt
            if not results:
                return []
        out = [s for s, r in results]
        if trailing:
            out = [s + "/" for s, r in results if self.is_dir(r)]
        return sorted(out, key=lambda s: s.encode())


GLOB_CHARS = "*?["


def has_glob(part: str) -> bool:
    """True if `part` holds an unescaped glob character (escapes come from quoting)."""
    i = 0
    while i < len(part):
        c = part[i]
        if c == "\\":
            i += 2
            continue
        if c in "*?":
            return True
        if c == "[":
            j = i + 1
            if j < len(part) and part[j] in "!^":
                j += 1
            if j < len(part) and part[j] == "]":
                j += 1
            if "]" in part[j:]:
                return True
        i += 1
    return False


def unescape_glob(part: str) -> str:
    return re.sub(r"\\(.)", r"\1", part)


def glob_to_regex(part: str) -> str:
    out = []
    i = 0
    while i < len(part):
        c = part[i]
        if c == "\\" and i + 1 < len(part):
            out.append(re.escape(part[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = i + 1
            if j < len(part) and part[j] in "!^":
                j += 1
            if j < len(part) and part[j] == "]":
                j += 1
            while j < len(part) and part[j] != "]":
                j += 1
            if j >= len(part):
                out.append(re.escape(c))
            else:
                body = part[i + 1:j]
                if body[:1] in "!^":
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def fnmatch_name(name: str, pattern: str) -> bool:
    """find -name matching (same rules as globbing, no path separators)."""
    return fnmatch.fnmatchcase(name, pattern)
