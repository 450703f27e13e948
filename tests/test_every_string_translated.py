"""Every user-visible string of the project has a Japanese translation.

The catalogue is rebuilt with makemessages, as a translator would, in a copy
of the project under tmp_path, so a string marked in code but missing from
locale/ja shows up here and the real locale/ is never written.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
PROJECT_DIRS = ("accounts", "webmail", "templates")
IGNORE = [".venv", "node_modules", "var", "tests", "bench", "devtools"]
# Strings that read the same in Japanese.
SAME_IN_JAPANESE = {"Bcc", "Cc"}


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    fuzzy: bool = False


def _unquote(text: str) -> str:
    return (
        text.strip()[1:-1]
        .encode("latin-1", "backslashreplace")
        .decode("unicode_escape")
    )


def parse_po(text: str) -> list[Entry]:
    """Read the live (not obsolete) entries of a .po file."""
    entries = []
    for block in text.split("\n\n"):
        entry = Entry()
        target: str | None = None
        strs: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith("#:"):
                entry.references.extend(line[2:].split())
            elif line.startswith("#,"):
                entry.fuzzy = entry.fuzzy or "fuzzy" in line
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if target is not None:
                    strs[target] += _unquote(line)
            else:
                keyword, _, value = line.partition(" ")
                target = keyword
                strs[target] = _unquote(value)
        if "msgid" not in strs:
            continue
        entry.msgid = strs["msgid"]
        entry.msgid_plural = strs.get("msgid_plural")
        entry.msgstrs = [v for k, v in sorted(strs.items()) if k.startswith("msgstr")]
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    root = tmp_path_factory.mktemp("project")
    skip = shutil.ignore_patterns("__pycache__", "*.mo")
    for name in (*PROJECT_DIRS, "locale"):
        shutil.copytree(BASE_DIR / name, root / name, ignore=skip)
    # makemessages writes next to the first locale directory that is a parent
    # of the source, so it only ever sees the copy.
    with (
        override_settings(LOCALE_PATHS=[root / "locale"]),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.chdir(root)
        call_command("makemessages", locale=["ja"], ignore_patterns=IGNORE, verbosity=0)
    po = root / "locale" / "ja" / "LC_MESSAGES" / "django.po"
    return parse_po(po.read_text(encoding="utf-8"))


def _ours(entry: Entry) -> bool:
    return any(
        ref.startswith(f"{d}/") for ref in entry.references for d in PROJECT_DIRS
    )


def test_every_marked_string_has_a_japanese_translation(catalogue):
    ours = [entry for entry in catalogue if entry.msgid and _ours(entry)]
    assert len(ours) > 200
    missing = [
        f"{entry.references[0]}: {entry.msgid!r}" + (" (fuzzy)" if entry.fuzzy else "")
        for entry in ours
        if entry.msgid not in SAME_IN_JAPANESE
        and (entry.fuzzy or not all(entry.msgstrs))
    ]
    assert missing == []


def test_plural_strings_fill_every_form(catalogue):
    plurals = [entry for entry in catalogue if entry.msgid_plural and _ours(entry)]
    assert plurals
    assert all(entry.msgstrs and all(entry.msgstrs) for entry in plurals)


# A plain (or f-) string literal where a user will read it: a flash message,
# a form or validation error, a field's label or help text, a response body.
LITERAL = r"""[rRfF]{0,2}["'](?!["'])"""
UNMARKED = re.compile(
    r"messages\.(?:success|error|info|warning|debug)\(\s*\w+\s*,\s*"
    + LITERAL
    + r"|ValidationError\(\s*"
    + LITERAL
    + r"|\.add_error\(\s*[^,()]+,\s*"
    + LITERAL
    + r"|\b(?:label|help_text|verbose_name|verbose_name_plural)\s*=\s*"
    + LITERAL
    + r"|\bmodels\.\w+Field\(\s*"
    + LITERAL
    + r"|\bHttpResponse\w*\(\s*"
    + LITERAL
)


def unmarked_strings(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for match in UNMARKED.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(BASE_DIR)}:{line}: {match.group(0)}")
    return found


def _python_files() -> list[Path]:
    paths = [*BASE_DIR.glob("accounts/**/*.py"), *BASE_DIR.glob("webmail/views/*.py")]
    return sorted(p for p in paths if "migrations" not in p.parts)


def test_the_unmarked_string_check_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'messages.success(request, f"{n} saved.")\n'
        "raise ValidationError('line 3: bad')\n"
        'form.add_error("code", "Wrong code.")\n'
        'name = forms.CharField(label="Name", help_text=_("Fine"))\n'
        'flag = models.BooleanField(\n    "require it", default=False)\n'
        'return HttpResponse("Done")\n'
        'messages.error(request, _("Fine"))\n'
        'return HttpResponse("")\n'
    )
    hits = [m.group(0) for m in UNMARKED.finditer(sample.read_text())]
    assert len(hits) == 6


def test_user_visible_python_strings_are_marked_for_translation():
    paths = _python_files()
    assert any(p.name == "forms.py" for p in paths)
    assert unmarked_strings(paths) == []


# {{ value|default:"never" }} shows an English word that makemessages never
# sees; {% translate "never" as never %} and |default:never is the way.
DEFAULT_WORD = re.compile(r"""\|default:(["'])([^"']*[A-Za-z][^"']*)\1""")
# Not words for people: the icon a folder without a kind gets.
DEFAULT_NOT_TEXT = {"folder"}


def test_templates_fall_back_to_translated_words():
    found = [
        f"{path.relative_to(BASE_DIR)}: {match.group(0)}"
        for path in sorted((BASE_DIR / "templates").rglob("*.html"))
        for match in DEFAULT_WORD.finditer(path.read_text(encoding="utf-8"))
        if match.group(2) not in DEFAULT_NOT_TEXT
    ]
    assert found == []


@pytest.mark.django_db
def test_a_japanese_operator_reads_the_operator_pages_in_japanese():
    from tests.accounts.conftest import make_user, sign_in

    make_user("operator", staff=True)
    alice = make_user("alice")
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    wrong = sign_in(client, "operator", "not the password")
    assert "ユーザー名またはパスワードが正しくありません。" in wrong.content.decode()
    sign_in(client, "operator")

    users = client.get(reverse("manage:users")).content.decode()
    assert ">なし</td>" in users  # alice has never signed in
    assert "never" not in users
    ended = client.post(reverse("manage:user_sessions", args=[alice.pk]), follow=True)
    assert "0 件のセッションを終了しました。" in ended.content.decode()
    audit = client.get(reverse("manage:audit")).content.decode()
    assert "サインインに失敗しました" in audit
    assert "サインインしました" in audit
    assert "種類" in audit  # the filter's labels
