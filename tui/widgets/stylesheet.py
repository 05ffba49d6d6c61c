"""Textual's stylesheet, each CSS source parsed once per set of CSS variables.

Textual parses the app's CSS again, from scratch, more often than it changes:
- `App.refresh_css()` (the first visit to each mode: status, backup, defrag, restore, and a
  second time in `switch_mode`) re-parses every source in a fresh Stylesheet, which has no
  cache at all;
- a screen or widget class seen for the first time adds its DEFAULT_CSS, and the next style
  update re-parses every source through a cache of 64 entries: the console has more sources
  than that, so the cache evicts each entry before it is asked again and nothing is kept.

A profile of the pilot-driven drills put about 5% of their CPU there (bench/RESULTS.md,
2026-12-05). The parsed rules of a source depend only on its text, where it came from, its
place, and the variables (the theme's colours): they are kept by all of that here, for the
process, and every reparse (in an instance of this class) reuses them. Textual already hands
the same parsed rule sets to every parse of one stylesheet; this hands them to the next
stylesheet too. A source with errors is never kept: it raises as before.
"""

from __future__ import annotations

from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet
from textual.css.types import CSSLocation

# (variables, css, location, is_default_rules, tie_breaker, scope) -> the parsed rule sets
_PARSED: dict[tuple, list[RuleSet]] = {}


class ParsedOnceStylesheet(Stylesheet):
    _variables_key: tuple | None = None

    def set_variables(self, variables: dict[str, str]) -> None:
        super().set_variables(variables)
        self._variables_key = None

    def _key_of_variables(self) -> tuple:
        if self._variables_key is None:
            self._variables_key = tuple(sorted(self._variables.items()))
        return self._variables_key

    def _parse_rules(self, css: str, read_from: CSSLocation, is_default_rules: bool = False,
                     tie_breaker: int = 0, scope: str = "") -> list[RuleSet]:
        key = (self._key_of_variables(), css, read_from, is_default_rules, tie_breaker, scope)
        rules = _PARSED.get(key)
        if rules is None:
            rules = super()._parse_rules(css, read_from, is_default_rules, tie_breaker, scope)
            if not any(rule.errors for rule in rules):  # Textual raises on those, every time
                _PARSED[key] = rules
        return rules

    def reparse(self) -> None:
        """Textual's reparse (a fresh stylesheet, so that an error leaves this one as it
        was), in an instance of this class, so that it finds what was parsed before."""
        fresh = type(self)(variables=self._variables)
        for read_from, (css, is_defaults, tie_breaker, scope) in self.source.items():
            fresh.add_source(css, read_from=read_from, is_default_css=is_defaults,
                             tie_breaker=tie_breaker, scope=scope)
        try:
            fresh.parse()
        except Exception:
            self._invalid_css.update(fresh._invalid_css)
            raise
        self._rules = fresh.rules
        self._rules_map = None
        self.source = fresh.source
        self._require_parse = False
