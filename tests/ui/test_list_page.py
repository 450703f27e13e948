"""The list page as its printers make it: words, dates, escaping.

The page's fixed words are translated in when a template is compiled (one
copy per language), rows and folder lines are printed in Python, and list
dates are formatted with each month's name looked up once per list.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import dateformat, timezone, translation
from django.utils.formats import get_format

from accounts.models import User
from tests.ui.mail import account_of, add_folder, add_message
from webmail.views.dates import ListDates

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def list_page(client: Client, url: str, language: str) -> str:
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_each_request_gets_the_words_of_its_own_language(alice: User, alice_client):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    add_message(inbox, 1, "Hello")
    url = f"/mail/{account.id}/{inbox.id}/"
    for language in ("en", "ja", "en", "ja"):
        html = list_page(alice_client, url, language)
        assert ("並べ替え" in html) == (language == "ja")
        assert ("Sort by" in html) == (language == "en")
        assert ("Keyboard shortcuts" in html) == (language == "en")


def test_a_row_and_a_folder_show_hostile_text_as_text(alice: User, alice_client):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    add_folder(account, "Odd <b>\"&'")
    add_message(
        inbox,
        1,
        '<script>alert("s")</script>',
        from_name="<img src=x onerror=alert(1)>",
        preview="a & b <i>'quoted'</i>",
        seen=False,
    )
    html = list_page(alice_client, f"/mail/{account.id}/{inbox.id}/", "en")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "a &amp; b &lt;i&gt;&#x27;quoted&#x27;&lt;/i&gt;" in html
    assert "Odd &lt;b&gt;&quot;&amp;&#x27;" in html
    assert '<span class="visually-hidden">Unread: </span>' in html


def test_list_dates_in_this_year_show_the_month_and_day(alice: User, alice_client):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    now = timezone.now()
    earlier = now.replace(month=1, day=2, hour=10) if now.month > 1 else None
    if earlier is None or earlier.date() == now.date():
        pytest.skip("Needs a day earlier this year that is not today.")
    add_message(inbox, 1, "Earlier this year", date=earlier)
    url = f"/mail/{account.id}/{inbox.id}/"
    shown = {
        language: re.findall(
            r"<time [^>]*>([^<]*)</time>", list_page(alice_client, url, language)
        )
        for language in ("en", "ja")
    }
    assert shown == {"en": ["January 2"], "ja": ["1月2日"]}


@pytest.mark.parametrize("language", ["en", "ja", "de"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_list_dates_read_as_djangos_date_formats_say(language: str, zone: str):
    """Each list date is what Django's formatting of the language gives."""
    now = timezone.now()
    dates = [now - timedelta(hours=h) for h in range(0, 24 * 800, 13)]
    dates.append(datetime(2024, 2, 29, 23, 59, tzinfo=UTC))
    with translation.override(language), timezone.override(ZoneInfo(zone)):
        shown = ListDates()
        today = timezone.localdate()
        for value in dates:
            local = timezone.localtime(value)
            if local.date() == today:
                name = "TIME_FORMAT"
            elif local.year == today.year:
                name = "MONTH_DAY_FORMAT"
            else:
                name = "SHORT_DATE_FORMAT"
            assert shown(value) == dateformat.format(local, get_format(name))
