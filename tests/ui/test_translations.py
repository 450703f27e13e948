"""Every string of the mailbox templates has a Japanese translation."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

TEMPLATES = Path(settings.BASE_DIR) / "templates" / "webmail"
PO_FILE = Path(settings.BASE_DIR) / "locale" / "ja" / "LC_MESSAGES" / "django.po"
# {% translate "..." %}, {% translate '...' %} and _("...") in templates.
LITERAL = re.compile(r"""{%\s*translate\s+(["'])(.+?)\1|_\((["'])(.+?)\3\)""")


def template_strings() -> set[str]:
    found = set()
    for path in TEMPLATES.glob("*.html"):
        for match in LITERAL.finditer(path.read_text()):
            found.add(match.group(2) or match.group(4))
    return found


def test_every_template_string_is_translated_to_japanese():
    strings = template_strings()
    assert len(strings) > 40
    with translation.override("ja"):
        missing = sorted(s for s in strings if translation.gettext(s) == s)
    # Abbreviations that read the same in Japanese.
    assert missing == ["Bcc", "Cc"]


def test_the_catalogue_has_no_untranslated_mailbox_entries():
    entries = PO_FILE.read_text().split("\n\n")
    untranslated = [
        entry
        for entry in entries
        if ("templates/webmail/" in entry or "webmail/views/" in entry)
        and ('\nmsgstr ""' in entry and not re.search(r'msgstr ""\n"', entry))
    ]
    assert untranslated == []
