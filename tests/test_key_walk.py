"""Keys are honest: on every screen and dialog, each key its footer shows is pressed and must
do something an operator can see (another screen or dialog, a dialog closed with its answer,
the app asked to exit, a hint, a new status, a changed choice); a key shown that does nothing
fails, and so does a key the walk has no expectation for (say what it does, below).

`q` quits everywhere but in a text field (asking first while a runbook runs), `?` helps
everywhere, Escape closes the top dialog, and letters typed into a field never act as keys.

The app's exit is recorded instead of done (`Keys.exits`), so one app walks many screens.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, Select

from screens.briefing import BriefingScreen
from screens.debrief import DebriefScreen
from screens.dialogs import ConfirmStepScreen, FailureScreen, QuitScreen, UnknownStateScreen
from screens.help import HelpScreen
from screens.resume import ResumeScreen
from screens.trust_key import TrustKeyScreen
from tests.conftest import populated, wait_until
from tui.app import make_app
from tui.backend import BackendSpec

# every key of every screen, each on a drill console: 60-75 s on the 2-core CI machine with
# four workers busy; the timeout is a hang detector, not a speed target (bench/)
pytestmark = pytest.mark.timeout(240)


def _name(screen) -> str:
    return type(screen).__name__


def _action(binding) -> str:
    """The action without its namespace: "app.quit" and a screen's "quit" alike."""
    action = binding.action
    for prefix in ("app.", "screen."):
        action = action.removeprefix(prefix)
    return action


class Keys:
    """Presses the keys a footer shows and checks what each one did."""

    def __init__(self, app, pilot):
        self.app, self.pilot = app, pilot
        self.exits: list = []

    @asynccontextmanager
    async def exits_recorded(self):
        real = self.app.exit
        self.app.exit = lambda *args, **kwargs: self.exits.append(args)
        try:
            yield self
        finally:
            del self.app.exit  # the app's own again: run_test can end it
            assert real == self.app.exit

    def shown(self) -> list[tuple[str, object]]:
        """(key, binding) for every key the top screen's footer shows; each one is enabled
        (a dimmed key in the footer would be one that does nothing)."""
        screen = self.app.screen
        keys = []
        for key, active in screen.active_bindings.items():
            if not active.binding.show:
                continue
            assert active.enabled, f"{_name(screen)} shows {key} disabled"
            keys.append((key, active.binding))
        actions = {key: _action(binding) for key, binding in keys}
        if not isinstance(self.app.focused, Input):  # (a field takes every letter)
            # q quits and ? helps, on every screen and dialog (? closes the help itself)
            assert actions.get("q") == "quit", (_name(screen), actions)
            assert actions.get("question_mark") == (
                "dismiss" if isinstance(screen, HelpScreen) else "help"), (_name(screen), actions)
        return keys

    async def wait(self, predicate, what: str, timeout: float = 15.0) -> None:
        await wait_until(self.pilot, predicate, timeout=timeout, what=what)

    async def top(self, cls, what: str = "") -> object:
        await self.wait(lambda: isinstance(self.app.screen, cls), what or cls.__name__)
        await self.pilot.pause()
        return self.app.screen

    async def back_to(self, screen) -> None:
        await self.wait(lambda: self.app.screen is screen, f"back to {_name(screen)}")
        await self.pilot.pause()

    async def quit_key(self, key: str) -> None:
        """q: the app is asked to exit, or (a runbook running) the question comes first."""
        app, screen = self.app, self.app.screen
        before = len(self.exits)
        asking = isinstance(screen, QuitScreen)
        running = app.running_runbooks()
        await self.pilot.press(key)
        if running and not asking:
            question = await self.top(QuitScreen, "the quit question (a runbook runs)")
            assert running[0] in question.question
            assert len(self.exits) == before, "quit without asking while a runbook ran"
            await self.pilot.press("escape")  # stay
            await self.back_to(screen)
            assert len(self.exits) == before
            return
        await self.wait(lambda: len(self.exits) > before, f"{key} to quit on {_name(screen)}")

    async def help_key(self, key: str) -> None:
        screen = self.app.screen
        await self.pilot.press(key)
        await self.top(HelpScreen, f"help over {_name(screen)}")
        await self.pilot.press("escape")
        await self.back_to(screen)

    async def screen_key(self, key: str, binding) -> bool:
        """A full screen's key; True when it acted (every branch asserts what it did)."""
        app, screen = self.app, self.app.screen
        action = _action(binding)
        if action.startswith("switch_mode("):
            target = action.split("'")[1]
            mode = app.current_mode
            await self.pilot.press(key)
            await self.wait(lambda: app.current_mode == target, f"{key} to open {target}")
            await app.switch_mode(mode)
            await self.back_to(screen)
        elif action == "refresh":
            before = app.snapshot
            await self.pilot.press(key)
            await self.wait(lambda: app.snapshot is not before, f"{key} to refresh the status")
        elif action == "hint":
            notes = len(app._notifications)
            await self.pilot.press(key)
            await self.wait(lambda: len(app._notifications) > notes, f"{key}: a hint")
        elif action == "debrief":
            await self.pilot.press(key)
            await self.top(DebriefScreen, f"{key}: the debrief")
            await self.pilot.press("escape")
            await self.back_to(screen)
        elif action == "toggle_direction":
            direction = screen.query_one("#direction", Select)
            before = direction.value
            await self.pilot.press(key)
            await self.wait(lambda: direction.value != before, f"{key} to turn the direction")
        elif action.startswith("phase("):
            target = action.split("'")[1]
            if screen.phase == target:  # the current phase's key: from another one
                screen.action_phase("run" if target != "run" else "setup")
                await self.pilot.pause()
            await self.pilot.press(key)
            await self.wait(lambda: screen.phase == target, f"{key}: the {target} phase")
        elif action == "recheck":
            before = screen.report
            await self.pilot.press(key)
            await self.wait(lambda: screen.report is not before and not screen.checking,
                            f"{key}: the preflight again", timeout=30)
        elif action == "start":
            await self.pilot.press(key)
            await self.wait(lambda: app.screen is not screen or screen.running
                            or screen.finished is not None, f"{key} to start the run")
            # a step asks first (or one failed): Escape answers no, and the run stops
            while screen.running or app.screen is not screen:
                if app.screen is not screen:
                    await self.pilot.press("escape")
                await self.pilot.pause(0.05)
            await self.back_to(screen)
        else:
            return False
        return True

    async def screen_keys(self, only: tuple[str, ...] = ()) -> list[str]:
        """Walk the top (full) screen's footer (`only`: just these actions). Returns the keys
        walked."""
        screen = self.app.screen
        walked = []
        for key, binding in self.shown():
            action = _action(binding)
            if only and action not in only:
                continue
            if action == "quit":
                await self.quit_key(key)
            elif action == "help":
                await self.help_key(key)
            else:
                assert await self.screen_key(key, binding), \
                    f"{_name(screen)} shows {key} ({binding.action}): say what it should do"
            assert self.app.screen is screen, f"{key} left {_name(self.app.screen)} on top"
            walked.append(key)
        return walked

    async def dialog_keys(self, open_dialog, closes: dict[str, object],
                          last: str | None = None, acts: dict | None = None) -> list[str]:
        """Walk a dialog's footer. `open_dialog()` opens a fresh one and returns the list its
        answer will be appended to; `closes`: action -> the answer that key gives (the dialog
        is then gone; the next key gets a fresh one); `acts`: action -> what shows it acted,
        for a key that keeps the dialog open. The keys that keep it open go first, the `last`
        action last. Escape must close it. Returns the keys walked."""
        acts = acts or {}
        answers = await open_dialog()
        dialog = self.app.screen
        keys = self.shown()
        assert "escape" in dict(keys), f"{_name(dialog)}: Escape does not close it"
        keys.sort(key=lambda kb: (_action(kb[1]) in closes, _action(kb[1]) == last))
        walked = []
        for key, binding in keys:
            action = _action(binding)
            if dialog is None:
                answers = await open_dialog()
                dialog = self.app.screen
            if action in closes:
                under = self.app.screen_stack[-2]
                await self.pilot.press(key)
                await self.wait(lambda: self.app.screen is not dialog,
                                f"{key} to close {_name(dialog)}")
                assert answers and answers[-1] == closes[action], (key, answers)
                await self.wait(lambda: under in self.app.screen_stack, f"after {key}")
                dialog = None
            elif action in acts:
                await self.pilot.press(key)
                await self.wait(acts[action], f"{key} on {_name(dialog)}")
                assert self.app.screen is dialog
            elif action == "quit":
                await self.quit_key(key)
                assert self.app.screen is dialog
            elif action == "help":
                await self.help_key(key)
            else:
                raise AssertionError(f"{_name(dialog)} shows {key} ({binding.action}): "
                                     f"say what it should do")
            walked.append(key)
        return walked


def _app(scenario: str = "healthy", **kw):
    spec = {k: kw.pop(k) for k in ("speed", "read_only") if k in kw}
    return make_app(BackendSpec(scenario=scenario, **spec), refresh_interval=3600, **kw)


def _answers_of(dialog) -> list:
    """What a dialog that someone else pushed (a runbook's) answers, as it answers it."""
    answers: list = []
    original = dialog.dismiss
    dialog.dismiss = lambda result=None: (answers.append(result), original(result))[1]
    return answers


def _pushed(keys: Keys, cls, *args):
    """open_dialog for dialog_keys: push a fresh `cls(*args)`; its answers are collected."""

    async def push():
        answers: list = []
        keys.app.push_screen(cls(*args), answers.append)
        await keys.top(cls)
        return answers

    return push


def _palette_list(palette) -> list[str]:
    commands = palette.query_one(CommandList)
    return [str(commands.get_option_at_index(i).prompt).split("\n")[0]
            for i in range(commands.option_count)]


async def _open(keys: Keys, key: str, mode: str):
    app = keys.app
    await keys.pilot.press(key)
    await keys.wait(lambda: app.current_mode == mode and app.screen.is_mounted, mode)
    await keys.pilot.pause()
    return app.screen


async def test_every_key_of_the_console_screens_acts():
    """Status, backup, encryption, defrag and the restore wizard (g included: its run's
    first question is answered no), help over each; the backup's BAK-4 confirmation and the
    question q asks while it waits, reached as an operator reaches them."""
    app = _app(speed=60)
    async with app.run_test(size=(160, 50)) as pilot:
        keys = Keys(app, pilot)
        async with keys.exits_recorded():
            await keys.wait(lambda: populated(app), "first snapshot")
            status = app.screen
            walked = await keys.screen_keys()
            # the status view's own key is not offered there: it would do nothing
            assert "s" not in walked and {"q", "question_mark", "r", "b", "e", "d", "R"} \
                <= set(walked), walked
            for key, mode in (("b", "backup"), ("e", "encryption"), ("d", "defrag"),
                              ("R", "restore")):
                screen = await _open(keys, key, mode)
                if mode == "restore":  # its keys act on the preflight's outcome
                    await keys.wait(lambda: screen.report is not None and not screen.checking,
                                    "the preflight", timeout=30)
                walked = await keys.screen_keys()
                assert key not in walked and {"s", "q", "question_mark"} <= set(walked), walked
                assert mode == "restore" or "g" in walked, walked
                if mode == "encryption":
                    assert "o" in walked
                if mode == "restore":
                    assert {"1", "2", "3", "c"} <= set(walked), walked
                await app.switch_mode("status")
                await keys.back_to(status)

            # help's own keys: Escape and ? close it, q quits over it
            walked = await keys.dialog_keys(_pushed(keys, HelpScreen), {"dismiss": None})
            assert {"escape", "question_mark", "q"} <= set(walked)

            # g on the backup screen: BAK-4 asks; every key of that question
            backup = await _open(keys, "b", "backup")

            async def bak4():
                await keys.wait(lambda: not backup.running and app.screen is backup,
                                "the last run to end", timeout=60)
                await pilot.press("g")
                dialog = await keys.top(ConfirmStepScreen, "the BAK-4 confirmation")
                assert dialog.request.step.id == "BAK-4" and app.running_runbooks()
                return _answers_of(dialog)

            walked = await keys.dialog_keys(bak4, {"cancel": False, "go_ahead": True},
                                            last="go_ahead")
            assert {"y", "n", "escape", "q", "question_mark"} <= set(walked), walked
            # y went ahead (the last key walked): the backup runs to its end
            assert walked[-1] == "y"
            await keys.wait(lambda: backup.finished is not None, "the backup", timeout=60)
            assert backup.finished == "done", backup.finished
            host = app.backend.lab.cluster.host(backup.params()["host"])
            assert any(p.startswith("/home/core/assets/backup/snapshot_") for p in host.files)

            # q while the run waits on BAK-4: the question, and each of its keys
            await pilot.press("g")
            bak4_again = await keys.top(ConfirmStepScreen, "BAK-4 again")

            async def quit_question():
                await keys.wait(lambda: app.screen is bak4_again, "the confirmation on top")
                await pilot.press("q")
                question = await keys.top(QuitScreen, "the quit question")
                assert "the backup runbook is running" in question.question.lower()
                assert "cannot be resumed" in question.question  # a drill: no resume
                return _answers_of(question)

            exits = len(keys.exits)
            walked = await keys.dialog_keys(quit_question, {"quit": True, "stay": False})
            assert {"q", "y", "n", "escape", "question_mark"} <= set(walked), walked
            assert len(keys.exits) == exits + 2  # q and y quit; n and Escape stay
            await pilot.press("escape")  # Escape on the confirmation: the run stops
            await keys.wait(lambda: not app.running_runbooks(), "the run to stop")
        assert keys.exits  # q was pressed on every screen: the app was asked each time


async def test_drill_session_keys_briefing_debrief_hint():
    """The briefing (h and D start the clock, then act; ? and q work over it), the debrief
    (E ends the drill; Escape, ? and q), and h and D on the console."""
    app = make_app(BackendSpec(scenario="healthy-4.20", speed=60), refresh_interval=3600,
                   drill_session=True)
    session = app.session
    async with app.run_test(size=(120, 40)) as pilot:
        keys = Keys(app, pilot)
        async with keys.exits_recorded():
            first = True

            async def briefing():
                nonlocal first
                if not first:
                    app.push_screen(BriefingScreen(session), app._begin_session)
                first = False
                return _answers_of(await keys.top(BriefingScreen, "the briefing"))

            walked = await keys.dialog_keys(
                briefing, {"begin": None, "begin('hint')": "hint",
                           "begin('debrief')": "debrief"}, last="begin('debrief')")
            assert {"escape", "h", "D", "question_mark", "q"} <= set(walked), walked
            # the clock started with the first key that closed it; h's hint counts from there
            assert session.started is not None
            assert len(session.hints) == 1 and session.hints[0].at >= session.started
            assert any(n.title.startswith("Hint 1") for n in app._notifications)
            # D, the last key walked: the debrief is open over the console
            debrief = await keys.top(DebriefScreen, "D's debrief")
            await pilot.press("escape")
            await keys.wait(lambda: populated(app) and app.screen is not debrief, "the status")
            # the console's drill keys (the others: test_every_key_of_the_console_screens_acts)
            walked = await keys.screen_keys(only=("hint", "debrief"))
            assert set(walked) == {"h", "D"}
            assert len(session.hints) == 2  # the last one: h is no longer offered
            assert "h" not in dict(keys.shown())

            async def the_debrief():
                await pilot.press("D")
                return _answers_of(await keys.top(DebriefScreen, "the debrief"))

            walked = await keys.dialog_keys(
                the_debrief, {"close": None},
                acts={"end": lambda: session.ended is not None})
            assert {"E", "escape", "question_mark", "q"} <= set(walked), walked
            ended = await the_debrief()
            assert "E" not in dict(keys.shown()) and "escape" in dict(keys.shown())
            await pilot.press("escape")  # ended: nothing more to end, Escape still closes
            await keys.wait(lambda: ended == [None], "the debrief to close")
        assert len(keys.exits) == 2  # q on the briefing and on the debrief


async def test_dialog_keys_and_letters_typed_into_fields():
    """Every dialog's keys (confirmations, failure, unknown outcome, trust key, resume);
    in a field every letter is typed, never taken as a key; the backup screen's Tab order."""
    from tui.journal import JournalState
    from tui.runbooks.attempts import UnknownDecision, UnknownState
    from tui.runbooks.context import ConfirmRequest, Decision
    from tui.runbooks.model import Confirm, Step

    step = Step(id="RST-17", title="Turn the quorum guard off", explain="patch etcd/cluster")

    def request(kind):
        return ConfirmRequest(step=step, hosts=[], commands=["API: oc patch etcd/cluster"],
                              kind=kind, expected="drill-healthy", text="RST-17 on the API")

    question = UnknownState(step_id="RSTN-04", host="master-0", command="cluster-restore.sh",
                            detail="it started and left no exit status", seen=(), inspect=())
    app = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        keys = Keys(app, pilot)
        async with keys.exits_recorded():
            await keys.wait(lambda: populated(app), "first snapshot")
            walked = await keys.dialog_keys(
                _pushed(keys, ConfirmStepScreen, request(Confirm.YES_NO)),
                {"cancel": False, "go_ahead": True})
            assert {"y", "n", "escape", "question_mark", "q"} <= set(walked), walked
            walked = await keys.dialog_keys(
                _pushed(keys, FailureScreen, "BAK-4", "Take the backup", "exit status 1"),
                {"abort": Decision("abort")})
            assert {"escape", "question_mark", "q"} <= set(walked), walked
            walked = await keys.dialog_keys(
                _pushed(keys, ResumeScreen, "/tmp/j.jsonl",
                        JournalState(runbook="backup", params={}, in_flight="BAK-4")),
                {"later": False})
            assert {"escape", "question_mark", "q"} <= set(walked), walked
            walked = await keys.dialog_keys(_pushed(keys, QuitScreen, "A run runs."),
                                            {"quit": True, "stay": False})
            assert {"q", "y", "n", "escape", "question_mark"} <= set(walked), walked

            # a dialog whose field has the focus: the footer offers Escape alone, and every
            # letter (q, ?, y and n included) goes into the field
            for cls, args, escape_does, answer in (
                    (ConfirmStepScreen, (request(Confirm.TYPE_CLUSTER),), "cancel", False),
                    (UnknownStateScreen, (question,), "stop", (UnknownDecision.ABORT, "")),
                    (TrustKeyScreen, ("master-0", "127.0.3.1", "SHA256:x", "known_hosts"),
                     "cancel", False)):
                walked = await keys.dialog_keys(_pushed(keys, cls, *args),
                                                {escape_does: answer})
                assert walked == ["escape"], (cls.__name__, walked)
                answers = await _pushed(keys, cls, *args)()
                dialog = app.screen
                field = dialog.query_one(Input)
                assert app.focused is field
                await pilot.press(*"q?yn", "R", "g")
                assert field.value == "q?ynRg" and app.screen is dialog and not answers
                await pilot.press("escape")
                await keys.wait(lambda: app.screen is not dialog, "escape")
                assert answers == [answer]

            # the command palette's first list, before anything is typed: the screens (the
            # restore wizard first), refresh, help and the hosts; Escape closes it
            await pilot.press("ctrl+p")
            palette = await keys.top(CommandPalette, "the command palette")
            await keys.wait(lambda: any(t.startswith("Show host") for t in
                                        _palette_list(palette)), "the first list")
            await pilot.pause(0.2)  # Textual's own commands come in too, in either order
            listed = _palette_list(palette)
            wizard = "Restore wizard: restore to a previous cluster state"
            assert wizard in listed[:10], listed  # in sight without scrolling
            assert listed.index(wizard) < listed.index("Backup screen"), listed
            assert {"Backup screen", "Encryption screen", "Defrag screen",
                    "Refresh status now"} <= set(listed), listed
            assert "Status view" not in listed  # the palette is open on it
            assert any(t.startswith("Show host master-0") for t in listed), listed
            await pilot.press("escape")
            await keys.wait(lambda: not isinstance(app.screen, CommandPalette), "escape")

            # the backup screen: Tab from the host goes straight to its two fields, where
            # every letter the console binds is typed, not acted on
            exits = len(keys.exits)
            backup = await _open(keys, "b", "backup")
            assert app.focused is backup.query_one("#backup-host", Select)
            letters = sorted({k for k, _ in keys.shown() if len(k) == 1} | {"?"})
            assert {"q", "s", "e", "d", "R", "g", "r"} <= set(letters), letters
            for field_id in ("#backup-dir", "#backup-fetch"):
                await pilot.press("tab")
                field = backup.query_one(field_id, Input)
                assert app.focused is field, (field_id, app.focused)
                field.value = ""
                await pilot.press(*letters)
                assert field.value == "".join(letters)
                assert app.current_mode == "backup" and app.screen is backup
                assert not backup.running
            field.value = ""
            # the same in the other screens' fields
            for key, mode in (("e", "encryption"), ("d", "defrag"), ("R", "restore")):
                await pilot.press("escape")  # from a field: back to the status view
                await keys.wait(lambda: app.current_mode == "status", "status")
                screen = await _open(keys, key, mode)
                fields = [w for w in screen.focus_chain if isinstance(w, Input)]
                assert fields or mode == "encryption", mode
                for field in fields:
                    before = field.value
                    field.focus()
                    await pilot.pause()
                    await pilot.press(*letters)
                    # (a field selects its text when it takes the focus: typing replaces it)
                    assert field.value.endswith("".join(letters)), (mode, field.id, field.value)
                    assert app.current_mode == mode and app.screen is screen, (mode, field.id)
                    field.value = before
        assert len(keys.exits) == exits  # q was only ever typed there
