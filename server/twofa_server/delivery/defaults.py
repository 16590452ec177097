"""The built-in templates of every language, used where no override file exists.

Each language module (defaults_en.py, defaults_de.py) gives the code messages as
written-out (subject, text, html) triples and the security notices as a few
sentences each, which frame.py builds into text and HTML of one shape.

Placeholders are string.Template ones; see templates.py for what each means.
Subjects never hold a code: mail previews and lock screens show subjects to anyone
nearby. Notices hold no code at all.
"""

from __future__ import annotations

from types import ModuleType

from . import defaults_de, defaults_en
from .frame import Triple, Words, notice
from .mail import MailKind


def _languages(
    *modules: ModuleType,
) -> tuple[dict[str, dict[MailKind, Triple]], dict[str, Words]]:
    templates: dict[str, dict[MailKind, Triple]] = {}
    words: dict[str, Words] = {}
    for module in modules:
        language: str = module.LANGUAGE
        words[language] = module.WORDS
        templates[language] = dict(module.CODE_MAILS)
        for kind, text in module.NOTICES.items():
            templates[language][kind] = notice(language, module.WORDS, kind, text)
    return templates, words


# Per language: each kind's (subject, text, html); and the words around them.
DEFAULTS, WORDS = _languages(defaults_en, defaults_de)
