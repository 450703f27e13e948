"""fetchparse gives exactly what imapclient's FETCH parser gives, faster.

The corpus is what a real Dovecot answers for varied and generated mail;
the hand-written cases cover what Dovecot happens not to send.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response, parse_response

from tests.imap import message, open_session
from webmail.imap import fetchparse, parse
from webmail.imap.content import _plain_literals
from webmail.imap.messages import SUMMARY_ITEMS
from webmail.imap.wire import Raw
from webmail.mailgen import generate_maildir, index_mailbox


def _imapclient(number: int, items: list) -> dict[bytes, Any]:
    """What parse.parse_fetch returned before fetchparse."""
    head = items[0]
    prefix = b"%d " % number
    first = prefix + head if isinstance(head, bytes) else (prefix + head[0], head[1])
    parsed = parse_fetch_response(
        [first, *items[1:]], normalise_times=False, uid_is_key=False
    )
    return dict(parsed.get(number, {}))


def _strict(value: Any) -> Any:
    """A form of value whose == also compares types, key order and offsets."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(_strict(getattr(value, f.name)) for f in dataclasses.fields(value)),
        )
    if isinstance(value, datetime):
        return (
            "datetime",
            value.isoformat(),
            value.utcoffset(),
            type(value.tzinfo).__name__,
        )
    if isinstance(value, dict):
        return ("dict", tuple((k, _strict(v)) for k, v in value.items()))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_strict(v) for v in value))
    return (type(value).__name__, value)


def _outcome(call: Any) -> Any:
    try:
        return ("ok", _strict(call()))
    except Exception as exc:
        return ("error", type(exc))


def _assert_same(untagged: list) -> int:
    """Check every FETCH response in untagged; return how many there were."""
    count = 0
    for response in untagged:
        kind, number, rest = parse.classify(response)
        if kind != "FETCH":
            continue
        expected = _strict(_imapclient(number, rest))
        # Called directly, so a fallback to imapclient cannot hide a mistake.
        assert _strict(fetchparse.parse_fetch(number, rest)) == expected, response
        assert _strict(parse.parse_fetch(number, rest)) == expected
        count += 1
    return count


def _fetch_raw(session, items: bytes, modifiers: bytes = b"") -> list:
    args = [Raw(b"UID FETCH 1:*"), Raw(b"(" + items + b")")]
    if modifiers:
        args.append(Raw(modifiers))
    response = session._run(*args)
    assert response.status == "OK", response.text
    return response.untagged


# A real Dovecot's answers ---------------------------------------------


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def _japanese() -> bytes:
    body = "日本語の本文です。\n".encode("iso2022_jp")
    return (
        _crlf(
            "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\n"
            "To: =?UTF-8?Q?=E9=88=B4=E6=9C=A8?= <suzuki@example.jp>\n"
            "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= =?UTF-8?B?44OG44K544OI?=\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0900\n"
            "Message-ID: <jp-1@example.jp>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=ISO-2022-JP\n"
            "Content-Transfer-Encoding: 7bit\n\n"
        )
        + body
    )


def _attachments() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "bob@example.org, Carol <carol@example.org>"
    msg["Cc"] = "dave@example.org"
    msg["Subject"] = "Report with attachments"
    msg["Date"] = "Mon, 2 Mar 2026 08:15:00 -0500"
    msg.set_content("Plain text.\n")
    msg.add_alternative("<p>HTML <b>text</b></p>\n", subtype="html")
    msg.add_attachment(b"%PDF-1.4 " * 40, maintype="application", subtype="pdf")
    msg.add_attachment(
        "名前付き".encode(),
        maintype="application",
        subtype="octet-stream",
        filename="報告書 (最終).txt",
    )
    msg.add_attachment(b"GIF89a", maintype="image", subtype="gif", cid="<img1@x>")
    return msg.as_bytes()


def _nested() -> bytes:
    inner = EmailMessage()
    inner["From"] = '"Inner, Sender" <inner@example.org>'
    inner["Subject"] = "=?UTF-8?Q?Inner_=E2=9C=93?="
    inner.set_content("inner body\n")
    inner.add_attachment(b"data", maintype="application", subtype="zip")
    outer = EmailMessage()
    outer["From"] = "Forwarder <fw@example.org>"
    outer["Subject"] = "Fwd: Inner"
    outer.set_content("See the attached message.\n")
    outer.add_attachment(inner)
    deeper = EmailMessage()
    deeper["Subject"] = "Fwd: Fwd: Inner"
    deeper.set_content("Twice forwarded.\n")
    deeper.add_attachment(outer)
    return deeper.as_bytes()


def _addresses() -> bytes:
    return _crlf(
        'From: "Doe, \\"JD\\" John" <jd@example.org>\n'
        'To: "back\\\\slash" <bs@example.org>, plain@example.org,\n'
        " (a comment) odd@example.org\n"
        "Cc: Team: a@example.org, \"B 'quoted'\" <b@example.org>;, "
        "undisclosed-recipients:;\n"
        "Bcc: Empty group:;\n"
        "Reply-To: <@route.example:routed@example.org>\n"
        "Sender: =?UTF-8?B?5bGx55Sw?= <sender@example.org>\n"
        'Subject: He said "hi" \\ and left\n'
        "In-Reply-To: <parent@example.org>\n"
        "Message-ID:    <spaced@example.org>   \n\n"
        "Body.\n"
    )


def _bare() -> bytes:
    return _crlf("Subject: \n\nNo date, no addresses, an empty subject.\n")


def _headerless() -> bytes:
    return _crlf("\nNot a single header.\n")


def _huge_and_8bit() -> bytes:
    long_subject = " ".join(f"word{i}" for i in range(1500))
    references = " ".join(f"<ref{i}@example.org>" for i in range(200))
    return (
        _crlf(
            f"From: Long <long@example.org>\nSubject: {long_subject}\n"
            f"References: {references}\n"
            "Date: 1 Jan 99 00:00 GMT\n"
        )
        + "To: 生の名前 <raw@example.org>\r\n".encode()
        + "X-Raw: 8-bit ヘッダー\r\n".encode()
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "本文\r\n".encode()
    )


def _odd_mime() -> bytes:
    return _crlf(
        "From: mime@example.org\n"
        "Subject: Odd MIME\n"
        "Date: not a date at all\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b1"\n\n'
        "--b1\n"
        'Content-Type: text/plain; charset="us-ascii"; format=flowed\n'
        "Content-Language: en, ja\n"
        "Content-Location: http://example.org/a\n"
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
        'Content-Description: A "described" part\n\n'
        "text\n"
        "--b1\n"
        "Content-Type: application/octet-stream;\n"
        ' name="a \\"q\\".bin"\n'
        "Content-Disposition: attachment;\n"
        " filename*0*=utf-8''%E6%97%A5%E6%9C%AC;\n"
        " filename*1*=%E8%AA%9E.bin\n"
        "Content-Transfer-Encoding: base64\n\n"
        "AAEC\n"
        "--b1\n"
        "Content-Type: message/rfc822\n\n"
        "Subject: minimal inner\n\n"
        "inner\n"
        "--b1--\n"
    )


VARIED = [
    (_japanese(), ()),
    (message("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= report"), ("\\Seen",)),
    (_attachments(), ("$Forwarded", "\\Answered", "Junk")),
    (_nested(), ("\\Flagged", "$label1", "\\Draft")),
    (_addresses(), ("$MDNSent",)),
    (_bare(), ()),
    (_headerless(), ("\\Deleted",)),
    (_huge_and_8bit(), ("NonJunk",)),
    (_odd_mime(), ()),
]


@pytest.fixture(params=["full", "reduced"])
def user(request):
    return request.getfixturevalue(
        "imap_user" if request.param == "full" else "imap_user_reduced"
    )


def test_it_reads_varied_real_responses_as_imapclient_does(user) -> None:
    session = open_session(user)
    try:
        for raw, flags in VARIED:
            session.append("INBOX", raw, flags=flags)
        session.select("INBOX")
        summary = SUMMARY_ITEMS + (b" MODSEQ" if session.condstore else b"")
        item_sets = [
            summary,
            b"UID FLAGS",
            b"UID BODY RFC822.SIZE",
            b"UID BODY.PEEK[] INTERNALDATE",
            b"UID BODY.PEEK[1]<0.10> BODY.PEEK[HEADER] BODY.PEEK[1.MIME]",
            b"UID RFC822.HEADER BODY.PEEK[TEXT]<5>",
            b"UID BODY.PEEK[HEADER.FIELDS (SUBJECT FROM X-RAW REFERENCES)]",
        ]
        if session.capabilities.has("BINARY"):
            item_sets.append(b"UID BINARY.PEEK[1] BINARY.SIZE[1]")
        checked = 0
        for items in item_sets:
            untagged = _fetch_raw(session, items)
            assert _assert_same(untagged) == len(VARIED)
            if b"BINARY" in items:
                plain = [_plain_literals(response) for response in untagged]
                assert _assert_same(plain) == len(VARIED)
            checked += len(VARIED)
            if items == summary:
                # Literals other than the fetched References header block.
                literals_in_structures = sum(
                    isinstance(item, tuple)
                    and not item[0].endswith(b"] {%d}" % len(item[1]))
                    for response in untagged
                    for item in response
                )
        if session.condstore:
            session._run(Raw(b"UID STORE 1:3 +FLAGS.SILENT ($Seen2)"))
            untagged = _fetch_raw(session, b"UID FLAGS", b"(CHANGEDSINCE 1)")
            assert _assert_same(untagged) == len(VARIED)
        # Flag changes the server reports on its own, as another device's.
        stored = session._run(Raw(b"UID STORE 1:* +FLAGS (\\Flagged $Todo)"))
        assert _assert_same(stored.untagged) == len(VARIED)
        assert checked == len(VARIED) * len(item_sets)
        # Long and 8-bit header values come back as literals inside ENVELOPE.
        assert literals_in_structures > 0
    finally:
        session.logout()


def test_summaries_come_out_as_before(imap_user, monkeypatch) -> None:
    session = open_session(imap_user)
    try:
        for raw, flags in VARIED:
            session.append("INBOX", raw, flags=flags)
        session.select("INBOX")
        summaries = session.fetch_summaries("1:*")
        with monkeypatch.context() as patched:
            patched.setattr(parse, "parse_fetch", _imapclient)
            before = session.fetch_summaries("1:*")
    finally:
        session.logout()
    assert summaries == before
    assert [s.envelope.subject for s in summaries][:2] == [
        "日本語テスト",
        "日本語 report",
    ]
    assert summaries[4].envelope.from_ == (('Doe, "JD" John', "jd@example.org"),)


@pytest.mark.slow
def test_it_reads_a_generated_mailbox_as_imapclient_does(imap_user) -> None:
    server = imap_user.server
    maildir = server.maildir(imap_user.username)
    stats = generate_maildir(maildir, count=3000, seed=7, inbox_share=1.0)
    server.chown_mail(maildir.parent)
    index_mailbox(server.doveadm, imap_user.username)
    session = open_session(imap_user, timeout=120.0)
    try:
        session.select("INBOX")
        summary = SUMMARY_ITEMS + b" MODSEQ"
        untagged = _fetch_raw(session, summary)
        flags_only = _fetch_raw(session, b"UID FLAGS", b"(CHANGEDSINCE 1)")
    finally:
        session.logout()
    inbox = stats.folders["INBOX"].messages
    assert inbox > 2000
    assert _assert_same(untagged) == inbox
    assert _assert_same(flags_only) == inbox


# Hand-written responses -----------------------------------------------

ENVELOPE_NILS = b"ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"

WELL_FORMED = [
    [
        b'(UID 7 ENVELOPE ("Mon, 2 Mar 2026 08:15:00 -0500" "say \\"hi\\" \\\\ '
        b'there \\x" (("A \\"B\\"" NIL "a" "example.org")) NIL NIL NIL NIL NIL NIL '
        b"NIL))"
    ],
    [b"(" + ENVELOPE_NILS + b" FLAGS () BODYSTRUCTURE (NIL NIL NIL NIL NIL NIL 0))"],
    [
        (b"(ENVELOPE (NIL {10}", b"two\r\nlines"),
        (b' NIL NIL NIL NIL NIL NIL "<i>" {3}', b"<m>"),
        b") UID 1)",
    ],
    [
        (b"(ENVELOPE (NIL NIL (({4}", b'"\\x"'),
        (b" NIL {0}", b""),
        b' "h")) NIL NIL NIL NIL NIL NIL NIL))',
    ],
    [(b"(UID 3 BODY[] {12}", b"Subject: x\r\n"), b" FLAGS (\\Seen \\*))"],
    [(b"(UID 3 BODY[1.2]<0> {5}", b"hello"), b")"],
    [(b"(UID 3 BINARY[1] {4}", b"\x00\x01\r\n"), b" BINARY.SIZE[1] 4)"],
    [(b"(UID 3 BINARY[1] ~{4}", b"\x00\x01\r\n"), b")"],
    [(b"(BODY[HEADER.FIELDS (REFERENCES IN-REPLY-TO)] {0}", b""), b" UID 9)"],
    [b"(UID 1 FLAGS (\\Seen $Forwarded Junk \\Flagged) MODSEQ (9223372036854775807))"],
    [b'(UID 1 X-GM-LABELS ("\\\\Inbox" "\xe6\x97\xa5\xe6\x9c\xac") X 0123 Y 0)'],
    [b'(uid 5 Flags () internaldate "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 0)'],
    [b'(INTERNALDATE " 7-Jan-2026 09:05:00 +0130" INTERNALDATE NIL)'],
    [b'(INTERNALDATE "not a date" UID 2)'],
    [
        b'(BODY (("text" "plain" NIL NIL NIL "7bit" 0 0)("text" "html" NIL '
        b'NIL NIL "7bit" 0 0) "alternative"))'
    ],
    [
        b'(BODYSTRUCTURE ("message" "rfc822" NIL NIL NIL "7bit" 30 '
        + ENVELOPE_NILS[9:]
        + b' ("text" "plain" NIL NIL NIL "7bit" 1 1) 2 NIL NIL NIL NIL))'
    ],
    [b'(UID 4 X ([brackets (with) "stuff"]) Y [a]b[c] Z NILS)'],
    [b'(UID 4\tFLAGS\r\n()  ""  "")'],
    [b"()"],
    [b"(UID 4 X " + b"(" * 50 + b"deep" + b")" * 50 + b")"],
]

# What imapclient refuses, or reads oddly, goes to it, so its errors stay.
REFUSED = [
    [b""],
    [b"(UID 4 FLAGS (% \\Seen))"],
    [b'(UID 4 BODY[HEADER.FIELDS ("X-A]")] "v")'],
    [b"(UID 4 X \x01)"],
    [b'(UID 4 X abc"def")'],
    [b"(UID 4 X (a b)"],
    [b"(UID 4 X a b))"],
    [b"(UID 4 X [open)"],
    [b'(UID 4 X "open)'],
    [b"(UID 4 X {5})"],
    [(b"(UID 4 X {5}", b"1234"), b")"],
    [(b"(UID 4 X {+4}", b"1234"), b")"],
    [(b"(UID 4 X {4} Y", b"1234"), b")"],
    [b"(UID 4 X)"],
    [b"(UID NIL)"],
    [b"(UID abc)"],
    [b"(4 X)"],
    [b"(NIL X)"],
    [b"(UID 4) 5 (UID 5)"],
    [b"(ENVELOPE (NIL))"],
    [b"(BODY ())"],
    # Deeper than imapclient's recursion goes.
    [b"(UID 4 X " + b"(" * 5000 + b")" * 5000 + b")"],
]


@pytest.mark.parametrize("items", WELL_FORMED)
def test_it_reads_hand_written_edge_cases_itself(items) -> None:
    expected = _strict(_imapclient(5, items))
    assert _strict(fetchparse.parse_fetch(5, items)) == expected
    assert _strict(parse.parse_fetch(5, items)) == expected


@pytest.mark.parametrize("items", REFUSED)
def test_it_leaves_what_imapclient_refuses_to_imapclient(items) -> None:
    expected = _outcome(lambda: _imapclient(5, items))
    assert _outcome(lambda: parse.parse_fetch(5, items)) == expected
    with pytest.raises(Exception):  # noqa: B017 - whatever imapclient would do
        fetchparse.parse_fetch(5, items)


def test_it_unescapes_quoted_strings_and_hands_over_literals() -> None:
    data = fetchparse.parse_fetch(5, WELL_FORMED[0])
    assert data[b"ENVELOPE"].subject == b'say "hi" \\ there \\x'
    assert data[b"ENVELOPE"].from_[0].name == b'A "B"'
    assert data[b"UID"] == 7
    data = fetchparse.parse_fetch(5, WELL_FORMED[2])
    assert data[b"ENVELOPE"].subject == b"two\r\nlines"
    assert data[b"ENVELOPE"].message_id == b"<m>"
    data = fetchparse.parse_fetch(5, WELL_FORMED[4])
    assert data[b"BODY[]"] == b"Subject: x\r\n"
    assert data[b"FLAGS"] == (b"\\Seen", b"\\*")


PIECES = [
    b" ", b" ", b"(", b")", b"()", b'"', b'""', b"\\", b'\\"', b"[", b"]", b"[a b]",
    b"NIL", b"NI", b"L", b"nil", b"0", b"1", b"42", b"007", b"a", b"UID", b"FLAGS",
    b"{", b"}", b"{3}", b"~{3}", b"{+3}", b"%", b"*", b"\x00", b"\x7f", b"\t",
    b"\r\n", b"\xe6\x97", b"<", b">", b".", b"-", b"$", b"\\Seen",
]  # fmt: skip


def test_it_agrees_with_imapclient_on_random_token_soup() -> None:
    rng = random.Random(20261129)
    agreed = 0
    for _ in range(20_000):
        lines = [
            b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))
            for _ in range(rng.randint(1, 3))
        ]
        items: list = [
            (line + b"{3}", b"x\r\n") if rng.random() < 0.5 else (line, b"yz")
            for line in lines[:-1]
        ] + [lines[-1]]
        assert _outcome(lambda i=items: parse.parse_fetch(5, i)) == _outcome(
            lambda i=items: _imapclient(5, i)
        )
        try:
            mine = fetchparse.parse_items(items)
        except fetchparse.Unsupported:
            continue
        expected = _outcome(lambda i=items: parse_response(list(i)))
        assert expected == ("ok", _strict(tuple(mine))), items
        agreed += 1
    assert agreed > 2_000


ATOMS = [
    b"\\Seen", b"\\*", b"$Forwarded", b"Junk", b"BODY[HEADER.FIELDS (A B)]",
    b"BODY[1.2]<0>", b"BODY[]", b"RFC822.SIZE", b"0", b"007", b"42", b"-1",
    b"nil", b"NILS", b"a]b", b"\xe6\x97\xa5", b"~{3}", b"x{3}",
]  # fmt: skip


class _Writer:
    """Serialises random values the way a server writes them, with literals."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.items: list = []
        self.line = b""

    def value(self, depth: int) -> None:
        roll = self.rng.random()
        if roll < 0.2 and depth < 5:
            self.line += b"("
            for index in range(self.rng.randint(0, 5)):
                if index:
                    self.line += b" "
                self.value(depth + 1)
            self.line += b")"
        elif roll < 0.45:
            data = bytes(self.rng.choice(b'ab "\\\xe6\r\n') for _ in range(6))
            escaped = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
            self.line += b'"' + escaped + b'"'
        elif roll < 0.55:
            data = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 9)))
            self.items.append((self.line + b"{%d}" % len(data), data))
            self.line = b""
        elif roll < 0.7:
            self.line += b"NIL"
        else:
            self.line += self.rng.choice(ATOMS)


def test_it_agrees_with_imapclient_on_random_nested_data() -> None:
    rng = random.Random(4551)
    for _ in range(3_000):
        writer = _Writer(rng)
        writer.line = b"(UID %d" % rng.randrange(1, 10**6)
        for _ in range(rng.randint(0, 6)):
            writer.line += rng.choice([b" FLAGS ", b" X-ITEM ", b" BODY[1]<0> "])
            writer.value(0)
        items = [*writer.items, writer.line + b")"]
        expected = _strict(_imapclient(5, items))
        assert _strict(fetchparse.parse_fetch(5, items)) == expected, items
