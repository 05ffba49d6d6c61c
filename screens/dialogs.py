"""Dialogs the runbook screens ask through: confirm a step, decide after a failure; and the
question q asks while a runbook runs.

The keys of the screen below do not reach through a dialog (a modal screen), so each dialog
has its own footer, showing exactly the keys that act there, and answers the two keys that
work everywhere: `?` helps and `q` quits (asking first while a runbook runs). While a text
field has the focus, every printable key is typed into it, q and ? included.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.runbooks.attempts import UnknownDecision, UnknownState
from tui.runbooks.context import ConfirmRequest, Decision
from tui.runbooks.model import Confirm
from tui.widgets.footer import QuietFooter

HELP_KEY = Binding("question_mark", "app.help", "Help", key_display="?")
QUIT_KEY = Binding("q", "app.quit", "Quit")
# after a dialog's own keys, in its footer
ALWAYS = [HELP_KEY, QUIT_KEY]


class ConfirmStepScreen(ModalScreen[bool]):
    """Shows exactly what will be sent, where; destructive steps need a name typed."""

    # the footer shows the first key of each action: "esc Cancel" (n too, as the label says)
    BINDINGS = [Binding("y", "go_ahead", "Go ahead"), Binding("escape", "cancel", "Cancel"),
                Binding("n", "cancel", "Cancel"), *ALWAYS]

    def __init__(self, request: ConfirmRequest):
        super().__init__()
        self.request = request

    @property
    def typed(self) -> bool:
        return self.request.kind in (Confirm.TYPE_HOST, Confirm.TYPE_CLUSTER)

    def compose(self) -> ComposeResult:
        r = self.request
        # commands, names and explanations are text: "[/x]" or "{.items[*]}" in a command
        # is what will be sent, not markup (which would eat it or fail to parse)
        with Vertical(id="dialog", classes="confirm"):
            if r.covers:  # a phase's steps, confirmed once: each one's commands below
                yield Static(f"[b]{escape(r.phase)}[/b] ({escape(', '.join(r.covers))})")
            else:
                yield Static(f"[b]{escape(r.step.id)} {escape(r.step.title)}[/b]")
            # what it says and sends scrolls (a phase lists many commands); the question
            # below it stays on screen at any terminal size
            # what is sent comes first, where the eye lands at any size: a phase's short
            # summary, then every command; a step's commands, its warning, then what it does
            with VerticalScroll(id="confirm-body"):
                commands = Static("\n".join(r.commands) or "(no command)",
                                  classes="commands", markup=False)
                if r.covers:
                    yield Static(r.text, classes="explain", markup=False)
                    yield commands
                    if r.details:  # what each step of the phase does (and its warning)
                        yield Static(r.details, classes="explain", markup=False)
                else:
                    yield commands
                    if r.step.warning:
                        yield Static(f"[b]Warning:[/b] {escape(r.step.warning)}",
                                     classes="warning")
                    yield Static(r.text, classes="explain", markup=False)
            if self.typed:
                yield Static(f"Type [b]{escape(r.expected)}[/b] and press Enter to go ahead; "
                             f"Escape cancels and sends nothing.")
                yield Input(placeholder="type it here", id="confirm-input")
            else:
                yield Static("[b]y[/b] goes ahead; [b]n[/b], Escape or Enter on Cancel (focused) "
                             "sends nothing.")
                with Horizontal(classes="buttons"):
                    yield Button("Go ahead", id="yes", variant="warning")
                    yield Button("Cancel", id="no")
        yield QuietFooter()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "go_ahead":
            return not self.typed  # given only by typing the name
        return True

    def on_mount(self) -> None:
        if self.typed:
            self.query_one(Input).focus()
        else:
            self.query_one("#no", Button).focus()  # the safe answer is the default

    def action_go_ahead(self) -> None:
        if not self.typed:  # a typed confirmation is only ever given by typing the name
            self.dismiss(True)

    class TypedWrong(Message):
        """A typed confirmation that was not the expected name (a drill counts it)."""

        def __init__(self, step_id: str, expected: str, typed: str) -> None:
            super().__init__()
            self.step_id, self.expected, self.typed = step_id, expected, typed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if typed == self.request.expected:
            self.dismiss(True)
            return
        if typed:
            self.post_message(self.TypedWrong(self.request.step.id, self.request.expected,
                                              typed))
        self.notify(f"Type {self.request.expected} exactly, or press Escape.",
                    severity="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_cancel(self) -> None:
        self.dismiss(False)


class FailureScreen(ModalScreen[Decision]):
    """A step failed: retry, skip with a typed reason (journaled as an override), or abort."""

    BINDINGS = [Binding("escape", "abort", "Abort"), *ALWAYS]

    def __init__(self, step_id: str, title: str, error: str):
        super().__init__()
        self.step_id, self.title_text, self.error = step_id, title, error

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="failure"):
            yield Static(f"[b]{escape(self.step_id)} {escape(self.title_text)} failed[/b]")
            yield Static(self.error, classes="error", markup=False)
            yield Static("Retry it, skip it with a reason (written to the journal as an "
                         "override), or abort the run. Nothing else is sent meanwhile.\n"
                         "Enter retries (Retry has the focus); to skip, type the reason, then "
                         "Skip; Escape aborts.")
            yield Input(placeholder="reason to skip (required to skip)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Retry", id="retry", variant="primary")
                yield Button("Skip", id="skip", variant="warning")
                yield Button("Abort", id="abort", variant="error")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.query_one("#retry", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "skip":
            reason = self.query_one("#reason", Input).value.strip()
            if not reason:
                self.notify("Type why it is safe to skip this step.", severity="warning")
                return
            self.dismiss(Decision("skip", reason))
        else:
            self.dismiss(Decision(event.button.id))

    def action_abort(self) -> None:
        self.dismiss(Decision("abort"))


class UnknownStateScreen(ModalScreen[tuple]):
    """This run cannot tell whether a command was done on a host: the operator looks and
    decides, with a typed reason either way (journaled). Escape stops the run."""

    BINDINGS = [Binding("escape", "stop", "Stop the run"), *ALWAYS]

    def __init__(self, question: UnknownState):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        q = self.question
        with Vertical(id="dialog", classes="failure"):
            yield Static(f"[b]{escape(q.step_id)} on {escape(q.host)}: was it done? "
                         f"Unknown[/b]")
            yield Static(f"{q.command}\n{q.detail}", classes="error", markup=False)
            if q.seen:
                yield Static("Seen:\n" + "\n".join(q.seen), classes="commands", markup=False)
            if q.inspect:
                yield Static("Look for yourself:\n" + "\n".join(q.inspect),
                             classes="commands", markup=False)
            yield Static("Say what you found, then: Done (it is not sent again), Not done (it "
                         "is sent), or Stop. Both answers are journaled with your words.")
            yield Input(placeholder="what you found (required)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Done", id="done", variant="warning")
                yield Button("Not done: send it", id="not-done", variant="warning")
                yield Button("Stop", id="stop", variant="error")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "stop":
            self.dismiss((UnknownDecision.ABORT, ""))
            return
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.notify("Type what you found on the host first.", severity="warning")
            return
        self.dismiss((UnknownDecision.DONE if event.button.id == "done"
                      else UnknownDecision.RUN, reason))

    def action_stop(self) -> None:
        self.dismiss((UnknownDecision.ABORT, ""))


class QuitScreen(ModalScreen[bool]):
    """q while a runbook runs: what stops with the console, and whether to quit. q again (or
    y) quits; n, Escape or Enter on Stay (focused) keeps the console and the run going."""

    BINDINGS = [Binding("q", "quit", "Quit"), Binding("y", "quit", "Quit"),
                Binding("escape", "stay", "Stay"), Binding("n", "stay", "Stay"), HELP_KEY]

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="quit"):
            yield Static("[b]Quit while a runbook runs?[/b]")
            yield Static(self.question, markup=False)
            yield Static("[b]q[/b] (again) or [b]y[/b] quits; [b]n[/b], Escape or Enter on "
                         "Stay (focused) keeps the console and the run going.")
            with Horizontal(classes="buttons"):
                yield Button("Quit", id="quit", variant="error")
                yield Button("Stay", id="stay", variant="primary")
        yield QuietFooter()

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()  # the safe answer is the default

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_quit(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)
