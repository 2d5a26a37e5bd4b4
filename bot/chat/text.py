"""Text a platform shows: a catalog template with the user's values kept apart.

A template (already translated) uses a small markup both platforms can draw: `**bold**`, `_italic_` and
`` `code` ``, with `{name}` placeholders. Values — campaign names, prompts, completions, what a user typed — are
never markup: each adapter escapes them for its platform before they are put in, so a completion's `*x*`,
`@everyone` or `<@123>` stays literal text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

Value = str | int | float

__all__ = ["Text", "Value"]


@dataclass(frozen=True)
class Text:
    template: str
    values: Mapping[str, Value] = field(default_factory=lambda: MappingProxyType({}))

    def render(self, escape: Callable[[str], str], markup: Callable[[str], str] = lambda template: template) -> str:
        """The platform's text: `markup` turns the template's markup into the platform's, `escape` each value."""
        escaped = {name: escape(str(value)) for name, value in self.values.items()}
        return markup(self.template).format_map(escaped)

    def plain(self) -> str:
        """For plain-text places (button labels, notification previews): markup dropped, values as they are."""
        return self.render(str, strip_markup)


def strip_markup(template: str) -> str:
    return template.replace("**", "").replace("`", "")
