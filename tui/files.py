"""Files etcd-dr writes on the operator's machine: opened without following links, made
private, and every disk error said plainly (what, which path, what to do) as a ConfigError.

A journal, an inventory written by `lab serve`, a drill's keys: each goes through here, so no
`OSError` from a full disk, a read-only file system or a path that is not what it seems ever
reaches the operator as a traceback or an "internal error".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tui.errors import ConfigError

_PROBLEMS = {
    errno.ENOSPC: "the file system is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.EEXIST: "a part of the path exists and is not a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
    errno.ELOOP: "it is a symbolic link, and etcd-dr does not follow links for the files it "
                 "writes",
    errno.EFBIG: "the file is larger than the file system or this process allows",
    errno.EIO: "the device reported an I/O error",
    errno.ENOENT: "a directory of the path does not exist",
    errno.ENAMETOOLONG: "the path is too long",
    errno.ENXIO: "it is a device or socket that cannot be written",
    errno.ETXTBSY: "the file is in use as a program",
}


def os_problem(error: OSError) -> str:
    """An OSError in words an operator reads (no errno numbers, no Python names)."""
    return _PROBLEMS.get(error.errno or 0) or (error.strerror or str(error)).rstrip(".").lower()


def ensure_directory(path: Path, *, what: str, hint: str, private: bool = True) -> None:
    """Create `path` (and its parents) when missing; a part that is a file, a read-only or
    full file system is a ConfigError naming the path. A new directory is 0700 when private;
    an existing one is left as it is."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    except FileExistsError:  # mkdir(exist_ok) says so when the path is a file
        raise ConfigError(f"cannot create {what} ({path} exists and is not a directory)",
                          where=str(path), hint=hint) from None
    except OSError as e:
        raise ConfigError(f"cannot create {what} ({os_problem(e)})", where=str(path),
                          hint=hint) from None


def refuse_unusual(path: Path, *, what: str, hint: str) -> os.stat_result | None:
    """A path etcd-dr is about to write must be a plain file of its own or not exist yet:
    a symbolic link, a directory, a device, a FIFO or a file with other hard links is refused
    (nothing is opened, nothing changes). Returns its lstat, or None when it does not exist.
    Each ancestor that exists must be a directory."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise ConfigError(f"cannot write {what} ({os_problem(OSError(errno.ENOTDIR, ''))})",
                          where=str(path), hint=hint) from None
    except OSError as e:
        raise ConfigError(f"cannot write {what} ({os_problem(e)})", where=str(path),
                          hint=hint) from None
    if st is None:
        parent = path.parent
        while True:
            try:
                pst = os.stat(parent)
            except FileNotFoundError:
                if parent.parent == parent:
                    return None
                parent = parent.parent
                continue
            except OSError as e:
                raise ConfigError(f"cannot write {what} ({os_problem(e)})", where=str(path),
                                  hint=hint) from None
            if not stat.S_ISDIR(pst.st_mode):
                raise ConfigError(f"cannot write {what} ({parent} is not a directory)",
                                  where=str(path), hint=hint)
            return None
    _check_kind(st, path, what=what, hint=hint)
    return st


def _check_kind(st: os.stat_result, path: Path, *, what: str, hint: str) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise ConfigError(f"refused to write {what}: the path is a symbolic link (etcd-dr "
                          f"never follows links for the files it writes)", where=str(path),
                          hint=hint)
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"cannot write {what}: the path is a directory", where=str(path),
                          hint=hint)
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"refused to write {what}: the path is not a regular file (a "
                          f"device, FIFO or socket)", where=str(path), hint=hint)
    if st.st_nlink > 1:
        raise ConfigError(f"refused to write {what}: the file has other hard links",
                          where=str(path), hint=hint)


def open_private(path: Path, *, what: str, hint: str, append: bool,
                 tighten_existing: bool = True) -> tuple[int, bool]:
    """Open `path` for writing without following a symbolic link (O_NOFOLLOW): appending
    (journals) or replacing its contents. Returns (fd, created). A new file is 0600; an
    existing one of this user's is made 0600 when `tighten_existing` (the caller decides
    otherwise, after looking at it); one of another user's keeps its mode (nothing etcd-dr
    did not create or own is chmod'ed). Every refusal or OSError: ConfigError."""
    ensure_directory(path.parent, what=f"the directory of {what}", hint=hint)
    refuse_unusual(path, what=what, hint=hint)
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    flags |= os.O_APPEND if append else 0
    created = True
    try:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            created = False
            fd = os.open(path, flags)
    except OSError as e:
        raise ConfigError(f"cannot open {what} ({os_problem(e)})", where=str(path),
                          hint=hint) from None
    try:
        st = os.fstat(fd)
        _check_kind(st, path, what=what, hint=hint)  # swapped since the lstat above
        if created or (tighten_existing and st.st_uid == os.geteuid()
                       and st.st_mode & 0o7177):
            os.fchmod(fd, 0o600)
        os.set_blocking(fd, True)
        if not append and not created:
            os.ftruncate(fd, 0)
    except ConfigError:
        os.close(fd)
        raise
    except OSError as e:
        os.close(fd)
        raise ConfigError(f"cannot open {what} ({os_problem(e)})", where=str(path),
                          hint=hint) from None
    return fd, created


def write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written (a short write is not an error to ignore)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:  # pragma: no cover - a regular file never returns 0 for a non-empty write
            raise OSError(errno.EIO, "short write")
        view = view[n:]


def write_private_file(path: str | os.PathLike, text: str, *, what: str, hint: str) -> None:
    """Replace `path`'s contents with `text`, 0600, fsync'd, never through a symbolic link;
    every failure a ConfigError naming the path."""
    path = Path(path)
    fd, _ = open_private(path, what=what, hint=hint, append=False)
    try:
        write_all(fd, text.encode("utf-8"))
        os.fsync(fd)
    except OSError as e:
        raise ConfigError(f"cannot write {what} ({os_problem(e)})", where=str(path),
                          hint=hint) from None
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Make a new entry in `path` durable; a directory that cannot be opened is skipped."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
