"""A command's output as it arrives: split into lines for the panes, kept for the result.

Both in time linear in the output's size and in bounded memory, whatever the command prints:

- `LineSplitter` keeps the line still open as a list of pieces and joins them only when its
  newline arrives (adding each chunk to a growing string re-copied the line on every chunk:
  a 150 MB line with no newline took minutes). A line longer than its cap (LINE_CAP) is
  passed on cut, once, with a marker that says how much was left out; the rest of that line
  is counted, not kept, until its newline.
- `Capture` keeps at most its cap (OUTPUT_CAP unless the command asks for another) of one
  stream for the RunResult and counts the rest: output over the cap makes the result an
  error (`over_cap_error`), never a success with cut output. Reading goes on to the end, so
  the remote command finishes, but what is over the cap is dropped as it arrives.
- A command that needs all of a large output streams it to a file (`Command.output_to`).
"""

from __future__ import annotations

import os
import re
from typing import TextIO

from tui.secrets import PEM_BEGIN, PEM_END

OUTPUT_CAP = 16 * 1024 * 1024  # bytes of one stream of one command kept in memory
LINE_CAP = 1024 * 1024  # bytes of one line passed on to panes and line listeners
# at a cut, the kept text ends at the last blank within this many characters: a secret that
# straddles the cut is dropped whole rather than shown in part (the redactor knows whole
# shapes: half a token may not look like one)
_WORD_BACKOFF = 4096


def byte_size(text: str) -> int:
    """The size of text as UTF-8 bytes (what the host sent)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def size_words(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def cut_marker(more: int) -> str:
    return f"… [line cut: {more:,} bytes more]"


_MARKER = re.compile(r"… \[line cut: ([\d,]+) bytes more\]( -----BEGIN PRIVATE KEY)?\Z")
_CARRY = 64  # characters kept from one dropped piece to the next: a marker split over two
# When the part of a line that is cut holds the start of a private key block that it does not
# end, the cut line says so in the redactor's own words: the pane's StreamRedactor then keeps
# redacting the lines that follow (the key's body) until the block's END line.
_KEY_CONTINUES = " -----BEGIN PRIVATE KEY"


def key_state(text: str, state: bool | None) -> bool | None:
    """Whether a private key block is open after text, given whether it was before (None:
    nothing said so far)."""
    begin = None
    for begin in PEM_BEGIN.finditer(text):
        pass
    end = None
    for end in PEM_END.finditer(text):
        pass
    if begin is None and end is None:
        return state
    if begin is None:
        return False
    return end is None or begin.start() > end.start()


class LineSplitter:
    """Complete lines out of a stream's chunks. `feed` returns the lines a chunk completes,
    `finish` the last line when the stream ends without a newline."""

    def __init__(self, line_cap: int = LINE_CAP):
        self.line_cap = line_cap
        self._pieces: list[str] = []
        self._kept = 0  # characters in _pieces
        self._skipped = 0  # bytes of the open line beyond its cap, counted, not kept
        # whether the dropped part leaves a private key block open (None: it has no marker)
        self._key_open: bool | None = None
        self._carry = ""  # the last characters before the dropped piece being looked at

    def feed(self, chunk: str) -> list[str]:
        if "\n" not in chunk:
            self._add(chunk)
            return []
        first, *middle, last = chunk.split("\n")
        self._add(first)
        lines = [self._take()]
        if middle:
            if max(map(len, middle)) <= self.line_cap:
                lines.extend(middle)  # the usual case: short lines, no per-line Python work
            else:
                for line in middle:
                    self._add(line)
                    lines.append(self._take())
        self._add(last)
        return lines

    def finish(self) -> list[str]:
        if self._pieces or self._skipped:
            return [self._take()]
        return []

    @property
    def open_line_size(self) -> int:
        """Characters of the open line held in memory (at most the line cap)."""
        return self._kept

    def _add(self, piece: str) -> None:
        if not piece:
            return
        if self._skipped or self._kept >= self.line_cap:
            self._drop(piece)
            return
        room = self.line_cap - self._kept
        if len(piece) > room:
            self._pieces.append(piece[:room])
            self._kept = self.line_cap
            self._carry = piece[max(0, room - _CARRY):room]
            self._drop(piece[room:])
        else:
            self._pieces.append(piece)
            self._kept += len(piece)

    def _drop(self, piece: str) -> None:
        self._skipped += byte_size(piece)
        # a private key's BEGIN may sit in what is dropped (or straddle the cut): look, in
        # C, at each dropped piece with the end of the one before it
        region = self._carry + piece
        if "-----" in region:
            self._key_open = key_state(region, self._key_open)
        self._carry = region[-_CARRY:]

    def _take(self) -> str:
        text = "".join(self._pieces) if len(self._pieces) != 1 else self._pieces[0]
        skipped, key_open = self._skipped, self._key_open
        self._pieces, self._kept, self._skipped = [], 0, 0
        self._key_open, self._carry = None, ""
        if not skipped:
            return text
        if key_open is None:
            key_open = key_state(text, None)
        tail = text[-_WORD_BACKOFF:]
        blank = max(tail.rfind(" "), tail.rfind("\t"))
        if blank >= 0:
            dropped = tail[blank + 1:]
            if dropped:
                skipped += byte_size(dropped)
                text = text[:len(text) - len(dropped)]
        # what the redactor will see of a key block in the cut line (the word back-off may
        # have cut a BEGIN in two: "-----BEGIN RSA" kept, " PRIVATE KEY-----" dropped)
        shown_open = key_state(text, None)
        continues = _KEY_CONTINUES if key_open and not shown_open else ""
        return text + cut_marker(skipped) + continues


def cut_line(line: str, cap: int) -> str:
    """One line bounded to about cap characters as LineSplitter cuts it (a line already cut
    keeps the count of what was cut before); a line within the cap is returned as it is."""
    if len(line) <= cap:
        return line
    before = 0
    marker = _MARKER.search(line, max(0, len(line) - 120))
    if marker is not None:
        before = int(marker.group(1).replace(",", ""))
        key = marker.group(2) or ""
        line = line[:marker.start()] + key
    room = max(1, cap - 80)  # the marker fits in the cap: cutting again changes nothing
    splitter = LineSplitter(room)
    splitter.feed(line)
    (text,) = splitter.finish()
    found = _MARKER.search(text, max(0, len(text) - 120))
    if found is None:
        return text
    more = int(found.group(1).replace(",", "")) + before
    return text[:found.start()] + cut_marker(more) + (found.group(2) or "")


class Capture:
    """One stream of a command kept for its RunResult: at most `cap` bytes in memory, the
    total counted; or, with `sink`, every chunk written to that file and nothing kept."""

    def __init__(self, cap: int = OUTPUT_CAP, sink: TextIO | None = None):
        self.cap = cap
        self.sink = sink
        self.size = 0  # bytes seen
        self._parts: list[str] = []

    def add(self, chunk: str) -> None:
        n = byte_size(chunk)
        if self.sink is not None:
            self.sink.write(chunk)
        elif self.size + n <= self.cap:
            self._parts.append(chunk)
        elif self.size < self.cap:
            room = self.cap - self.size
            self._parts.append(chunk.encode("utf-8", "surrogatepass")[:room]
                               .decode("utf-8", "ignore"))
        self.size += n

    @property
    def over_cap(self) -> bool:
        return self.sink is None and self.size > self.cap

    @property
    def text(self) -> str:
        return "".join(self._parts)


def over_cap_error(stream: str, capture: Capture, exit_status: int | None) -> str:
    """The RunResult error of a stream over its cap: what was cut, where, what to do."""
    ran = ("the command ran to its end" if exit_status == 0 else
           f"the command exited {exit_status}" if exit_status is not None else
           "the command did not finish")
    return (f"output over {size_words(capture.cap)} (cap): the command's {stream} was cut at "
            f"{capture.cap:,} of {capture.size:,} bytes ({ran}; the rest was read and "
            f"dropped, not kept). A part of an output is not trusted as the whole: report "
            f"this; a step that needs all of it must stream it to a file or ask for a larger "
            f"cap")


def open_output_file(path: str | os.PathLike) -> TextIO:
    """A file for a command's whole stdout, created 0600 (output may hold secrets)."""
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass")
