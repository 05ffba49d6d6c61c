"""The console's stylesheet parses each CSS source once per set of variables
(tui/widgets/stylesheet.py) and gives exactly the rules Textual's own stylesheet gives."""

from __future__ import annotations

import pytest
import textual.css.stylesheet as textual_stylesheet
from textual.css.stylesheet import Stylesheet, StylesheetParseError

from tui.app import make_app
from tui.backend import BackendSpec
from tui.widgets import stylesheet as ours
from tui.widgets.stylesheet import ParsedOnceStylesheet

SOURCES = {
    ("app.tcss", ""): ("Screen { background: $primary; }\n#hosts > .bad { color: $error; }",
                       False, 0, ""),
    ("widgets.py", "Pane.DEFAULT_CSS"): ("Pane { height: 1fr; border: round $accent; }",
                                         True, -1, "Pane"),
}
VARIABLES = {"primary": "#112233", "error": "#ff0000", "accent": "#00ff00"}


def _sheet(cls, variables=VARIABLES):
    sheet = cls(variables=dict(variables))
    for (path, var), (css, is_default, tie_breaker, scope) in SOURCES.items():
        sheet.add_source(css, read_from=(path, var), is_default_css=is_default,
                         tie_breaker=tie_breaker, scope=scope)
    sheet.parse()
    return sheet


def _css(sheet) -> list[str]:
    return [rule.css for rule in sheet.rules]


@pytest.fixture
def counted(monkeypatch):
    """How many times Textual's CSS parser ran."""
    ours._PARSED.clear()
    calls = []
    real = textual_stylesheet.parse

    def parse(*args, **kw):
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(textual_stylesheet, "parse", parse)
    yield calls
    ours._PARSED.clear()


def test_the_rules_are_textuals_and_each_source_is_parsed_once(counted):
    plain = _sheet(Stylesheet)
    assert len(counted) == 2
    counted.clear()
    mine = _sheet(ParsedOnceStylesheet)
    assert _css(mine) == _css(plain) and "#112233" in _css(mine)[0]
    assert len(counted) == 2  # not kept from the plain stylesheet: only its own
    counted.clear()
    mine.reparse()  # what App.refresh_css does on every first visit to a mode
    again = _sheet(ParsedOnceStylesheet)  # the next app in the same process
    assert counted == []
    assert _css(mine) == _css(again) == _css(plain)


def test_other_variables_are_parsed_with_their_own_values(counted):
    mine = _sheet(ParsedOnceStylesheet)
    mine.set_variables({**VARIABLES, "primary": "#445566"})  # a theme change
    mine.reparse()
    assert len(counted) == 4
    assert "#445566" in _css(mine)[0] and "#112233" not in _css(mine)[0]
    assert _css(mine) == _css(_sheet(Stylesheet, {**VARIABLES, "primary": "#445566"}))


def test_a_source_with_errors_raises_every_time_and_is_never_kept(counted):
    mine = _sheet(ParsedOnceStylesheet)
    mine.add_source("Screen { colour: red; }", read_from=("bad.tcss", ""))
    for _ in range(2):
        with pytest.raises(StylesheetParseError):
            mine.reparse()
    assert counted.count("Screen { colour: red; }") == 2
    assert not any("colour" in key[1] for key in ours._PARSED)


def test_the_console_uses_it():
    app = make_app(BackendSpec(scenario="healthy"))
    assert isinstance(app.stylesheet, ParsedOnceStylesheet)
