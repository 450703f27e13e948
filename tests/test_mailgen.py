"""The demo/test mailbox generator writes varied, valid, reproducible mail."""

from __future__ import annotations

import email
import email.policy
import io
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from imapclient import imap_utf7

from webmail.mailgen import (
    FOLDERS,
    KINDS,
    MailboxStats,
    Person,
    corpus,
    folder_dir,
    generate_maildir,
    index_mailbox,
    payloads,
)
from webmail.mailgen.mime import encode_mutf7

FILENAME = re.compile(r"^\d+\.M\d+P\d+Q-?\d+\.mailgen,S=(\d+),W=(\d+):2,([A-Z]*)$")


def message_files(root: Path) -> dict[str, list[Path]]:
    """Return each folder's message files, by "/"-separated folder name."""
    return {
        folder: sorted((folder_dir(root, folder) / "cur").iterdir())
        for folder in FOLDERS
    }


def parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MailboxStats]:
    root = tmp_path_factory.mktemp("mailgen") / "Maildir"
    return root, generate_maildir(root, count=500, seed=11)


@pytest.fixture(scope="module")
def parsed(
    mailbox: tuple[Path, MailboxStats],
) -> list[tuple[str, Path, EmailMessage]]:
    root, _ = mailbox
    return [
        (folder, path, parse(path))
        for folder, paths in message_files(root).items()
        for path in paths
    ]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Return every file's bytes and, for messages, the mtime (INTERNALDATE)."""
    return {
        str(path.relative_to(root)): (
            path.read_bytes(),
            path.stat().st_mtime_ns if path.parent.name == "cur" else 0,
        )
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# Determinism ------------------------------------------------------------


def test_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    generate_maildir(tmp_path / "one", count=200, seed=5)
    generate_maildir(tmp_path / "two", count=200, seed=5)
    first, second = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert len(first) > 200
    assert first == second


def test_the_mailbox_does_not_depend_on_hash_randomisation(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; "
        "from webmail.mailgen import generate_maildir; "
        "generate_maildir(Path(sys.argv[1]), count=150, seed=9)"
    )
    for hash_seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=Path(__file__).resolve().parent.parent,
            check=True,
        )
    assert snapshot(tmp_path / "1") == snapshot(tmp_path / "2")


def test_another_seed_writes_another_mailbox(tmp_path: Path) -> None:
    generate_maildir(tmp_path / "one", count=200, seed=5)
    generate_maildir(tmp_path / "two", count=200, seed=6)
    first, second = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    first_bodies = {content for content, _ in first.values()}
    second_bodies = {content for content, _ in second.values()}
    assert len(first_bodies & second_bodies) < 5


def test_inbox_share_decides_how_much_lands_in_inbox(tmp_path: Path) -> None:
    most = generate_maildir(tmp_path / "most", count=400, seed=2, inbox_share=0.9)
    few = generate_maildir(tmp_path / "few", count=400, seed=2, inbox_share=0.3)
    assert most.folders["INBOX"].messages > 330
    assert few.folders["INBOX"].messages < 160


# Layout, flags, dates ---------------------------------------------------


def test_folders_use_maildirplusplus_names_in_modified_utf7(
    mailbox: tuple[Path, MailboxStats],
) -> None:
    root, stats = mailbox
    on_disk = sorted(p.name for p in root.iterdir() if p.name.startswith("."))
    expected = sorted(
        "." + ".".join(imap_utf7.encode(part).decode() for part in folder.split("/"))
        for folder in FOLDERS
        if folder != "INBOX"
    )
    assert on_disk == expected
    assert ".&ZcWITA-" in on_disk  # 旅行
    assert ".Projects.Alpha" in on_disk
    for folder in FOLDERS:
        assert stats.folders[folder].messages > 0, folder
    assert encode_mutf7("Tom & Jerry") == "Tom &- Jerry"


def test_file_names_carry_sizes_and_sorted_flags(
    mailbox: tuple[Path, MailboxStats],
) -> None:
    root, stats = mailbox
    total = 0
    for folder, paths in message_files(root).items():
        counted = {"S": 0, "F": 0, "R": 0, "D": 0}
        for path in paths:
            match = FILENAME.match(path.name)
            assert match, path.name
            data = path.read_bytes()
            assert int(match[1]) == len(data)
            assert b"\r" not in data
            assert int(match[2]) == len(data) + data.count(b"\n")
            flags = match[3]
            assert flags == "".join(sorted(set(flags)))
            for letter in counted:
                counted[letter] += letter in flags
        folder_stats = stats.folders[folder]
        assert len(paths) == folder_stats.messages
        assert counted == {
            "S": folder_stats.seen,
            "F": folder_stats.flagged,
            "R": folder_stats.answered,
            "D": folder_stats.drafts,
        }
        total += len(paths)
    assert total == stats.messages == 500
    inbox = stats.folders["INBOX"]
    assert 0 < inbox.seen < inbox.messages
    assert inbox.flagged > 0 and inbox.answered > 0
    assert stats.folders["Drafts"].drafts == stats.folders["Drafts"].messages


def test_mtime_is_the_date_header_and_dates_span_years(
    parsed: list[tuple[str, Path, EmailMessage]],
) -> None:
    years = set()
    for _, path, message in parsed:
        date = parsedate_to_datetime(str(message["Date"]))
        assert path.stat().st_mtime == date.timestamp()
        years.add(date.year)
    assert len(years) >= 4


# Valid, decodable mail --------------------------------------------------


def test_every_message_parses_and_decodes(
    parsed: list[tuple[str, Path, EmailMessage]],
) -> None:
    for _, path, message in parsed:
        for name in ("From", "To", "Subject", "Date", "Message-ID"):
            value = str(message[name])
            assert value and "=?" not in value, (path.name, name, value)
        for part in message.walk():
            assert not part.defects, (path.name, part.defects)
            if part.get_content_maintype() == "text":
                text = part.get_content()
                assert "\ufffd" not in text, path.name
            elif not part.is_multipart() and part.get_content_type() != (
                "message/rfc822"
            ):
                assert part.get_content(), path.name


def test_japanese_headers_and_bodies_decode_to_the_written_text(
    parsed: list[tuple[str, Path, EmailMessage]],
) -> None:
    charsets: dict[str, int] = {}
    for _, path, message in parsed:
        body = message.get_body(("plain",))
        charset = body.get_content_charset() if body else None
        if charset not in ("iso-2022-jp", "shift_jis", "euc-jp", "utf-8"):
            continue
        text = body.get_content() if body else ""
        if not any(p[:12] in text.replace("\n", "") for p in corpus.JA_PARAGRAPHS):
            continue
        charsets[charset] = charsets.get(charset, 0) + 1
        subject = str(message["Subject"]).removeprefix("Re: ")
        assert subject in corpus.JA_SUBJECTS, (path.name, subject)
        raw_subject = path.read_bytes().split(b"\nSubject: ", 1)[1][:30]
        expected = {"iso-2022-jp": b"=?ISO-2022-JP?B?", "utf-8": b"=?UTF-8?B?"}
        if charset in expected:
            assert raw_subject.startswith(expected[charset]), path.name
        if charset == "iso-2022-jp":
            assert body and body["Content-Transfer-Encoding"] == "7bit"
            assert max(path.read_bytes()) < 0x80
    assert set(charsets) == {"iso-2022-jp", "shift_jis", "euc-jp", "utf-8"}


def test_corpus_japanese_fits_every_japanese_charset() -> None:
    texts = [
        *corpus.JA_SUBJECTS,
        *corpus.JA_PARAGRAPHS,
        *corpus.JA_GREETINGS,
        *corpus.JA_SIGNOFFS,
        *corpus.JA_REPLY_OPENERS,
        *(name for name, _ in corpus.JA_FAMILY_NAMES + corpus.JA_GIVEN_NAMES),
    ]
    for text in texts:
        for codec in ("iso2022_jp", "shift_jis", "euc_jp"):
            assert text.encode(codec).decode(codec) == text


# Variety ----------------------------------------------------------------


def _features(folder: str, path: Path, message: EmailMessage) -> set[str]:
    found = {f"folder:{folder}"}
    for part in message.walk():
        content_type = part.get_content_type()
        found.add(content_type)
        if part.get_content_charset():
            found.add(f"charset:{part.get_content_charset()}")
        if part.get_filename():
            found.add(f"filename:{Path(part.get_filename() or '').suffix}")
        if content_type == "text/html":
            html = part.get_content()
            if "cid:" in html:
                found.add("html:cid")
            if "<style>" in html and 'src="https://' in html:
                found.add("html:newsletter")
        if content_type == "text/calendar" and "METHOD:REQUEST" in part.get_content():
            found.add("calendar:request")
    if message["In-Reply-To"]:
        found.add(f"reply:{folder}")
    if path.stat().st_size > 1_500_000:
        found.add("large")
    return found


def test_a_500_message_mailbox_holds_every_kind(
    mailbox: tuple[Path, MailboxStats],
    parsed: list[tuple[str, Path, EmailMessage]],
) -> None:
    _, stats = mailbox
    assert set(stats.kinds) == set(KINDS)
    found: set[str] = set()
    for folder, path, message in parsed:
        found |= _features(folder, path, message)
    expected = {
        "multipart/alternative", "multipart/related", "multipart/mixed",
        "text/plain", "text/html", "html:cid", "html:newsletter",
        "application/pdf", "image/png", "image/jpeg", "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/calendar", "calendar:request", "message/rfc822", "filename:.eml",
        "charset:iso-2022-jp", "charset:shift_jis", "charset:euc-jp",
        "charset:utf-8", "charset:us-ascii", "large",
        "reply:INBOX", "reply:Sent", "reply:Archive",
    }  # fmt: skip
    assert expected <= found, expected - found
    assert {f"folder:{folder}" for folder in FOLDERS} <= found


def test_large_messages_are_rare_and_the_mailbox_stays_small(
    mailbox: tuple[Path, MailboxStats],
) -> None:
    root, stats = mailbox
    sizes = [p.stat().st_size for paths in message_files(root).values() for p in paths]
    large = [size for size in sizes if size > 1_500_000]
    assert 1 <= len(large) <= 3
    assert max(large) < 8_000_000
    # 100,000 messages at this average stay well under 2 GB.
    assert (stats.bytes - sum(large)) / (len(sizes) - len(large)) < 12_000


def test_threads_reference_only_messages_in_the_mailbox(
    parsed: list[tuple[str, Path, EmailMessage]],
) -> None:
    folder_of = {str(message["Message-ID"]): folder for folder, _, message in parsed}
    assert len(folder_of) == len(parsed)
    spans = set()
    replies = 0
    for folder, _, message in parsed:
        if not message["In-Reply-To"]:
            continue
        replies += 1
        parent = str(message["In-Reply-To"])
        references = str(message["References"]).split()
        assert parent == references[-1]
        for reference in references:
            assert reference in folder_of
        spans.add((folder_of[parent], folder))
    assert replies > 50
    assert {("INBOX", "Sent"), ("Sent", "INBOX")} <= spans
    assert any("Archive" in pair and "Sent" in pair for pair in spans)


# Attachments are real files ---------------------------------------------


def test_attachments_are_valid_files() -> None:
    pdf = payloads.make_pdf("Title (draft)", ("one", "two"))
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    entries = pdf[xref_at:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)

    png = payloads.make_png(4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    position = 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind_and_data = png[position + 4 : position + 8 + length]
        (crc,) = struct.unpack(
            ">I", png[position + 8 + length : position + 12 + length]
        )
        assert zlib.crc32(kind_and_data) == crc
        position += 12 + length
    assert position == len(png)

    jpeg = payloads.make_jpeg(2)
    assert jpeg.startswith(b"\xff\xd8\xff\xe0") and jpeg.endswith(b"\xff\xd9")
    height, width = struct.unpack(">HH", jpeg[jpeg.index(b"\xff\xc0") + 5 :][:4])
    assert (width, height) == (160, 120)

    with zipfile.ZipFile(io.BytesIO(payloads.make_docx("T", ("a",)))) as docx:
        assert docx.testzip() is None
        assert b"<w:t>a</w:t>" in docx.read("word/document.xml")
    with zipfile.ZipFile(io.BytesIO(payloads.make_zip(3))) as archive:
        assert archive.testzip() is None
        assert "data/visits.csv" in archive.namelist()


# The management command -------------------------------------------------


def test_the_command_writes_a_mailbox_and_reports_it(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "generate_mailbox",
        "--maildir",
        str(tmp_path / "Maildir"),
        "--count",
        "60",
        "--seed",
        "3",
        "--inbox-share",
        "0.5",
        stdout=out,
    )
    files = [p for p in (tmp_path / "Maildir").rglob("*") if p.parent.name == "cur"]
    assert len(files) == 60
    assert "Wrote 60 messages" in out.getvalue()
    assert "Projects/Alpha" in out.getvalue()


# Through a real Dovecot -------------------------------------------------


@pytest.mark.parametrize("user_fixture", ["imap_user", "imap_user_reduced"])
def test_dovecot_serves_the_generated_mailbox(
    request: pytest.FixtureRequest, user_fixture: str, other_device
) -> None:
    # The reduced server separates levels with "." instead of "/".
    imap_user = request.getfixturevalue(user_fixture)
    server = imap_user.server
    maildir = server.maildir(imap_user.username)
    stats = generate_maildir(
        maildir, count=300, seed=21, owner=Person("Test User", imap_user.address)
    )
    server.chown_mail(maildir)
    index_mailbox(server.doveadm, imap_user.username)

    client = other_device(imap_user)
    client.normalise_times = False
    delimiter = server.delimiter
    names = {name for _, _, name in client.list_folders()}
    expected_names = {folder.replace("/", delimiter) for folder in FOLDERS}
    assert names == expected_names
    assert {name for _, _, name in client.list_sub_folders()} == expected_names

    for folder, folder_stats in stats.folders.items():
        name = folder.replace("/", delimiter)
        status = client.folder_status(name, [b"MESSAGES", b"UNSEEN"])
        assert status[b"MESSAGES"] == folder_stats.messages, folder
        assert status[b"UNSEEN"] == folder_stats.messages - folder_stats.seen, folder
        client.select_folder(name, readonly=True)
        assert len(client.search(["FLAGGED"])) == folder_stats.flagged, folder
        assert len(client.search(["ANSWERED"])) == folder_stats.answered, folder
        assert len(client.search(["DRAFT"])) == folder_stats.drafts, folder

    client.select_folder("INBOX", readonly=True)
    fetched = client.fetch(
        client.search("ALL"),
        ["INTERNALDATE", "RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (DATE)]"],
    )
    files = message_files(maildir)["INBOX"]
    # Sizes as a client sees them: the file with CRLF line ends.
    crlf_sizes = [
        len(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        for path in files
    ]
    sizes = [item[b"RFC822.SIZE"] for item in fetched.values()]
    assert sorted(sizes) == sorted(crlf_sizes)
    for item in fetched.values():
        header = item[b"BODY[HEADER.FIELDS (DATE)]"].decode().split(":", 1)[1]
        internal: datetime = item[b"INTERNALDATE"]
        assert internal == parsedate_to_datetime(header.strip())

    # A Japanese subject Dovecot decodes the same way on search and fetch.
    jis_path = next(
        path for path in files if b"\nSubject: =?ISO-2022-JP?B?" in path.read_bytes()
    )
    subject = str(parse(jis_path)["Subject"])
    assert subject.removeprefix("Re: ") in corpus.JA_SUBJECTS
    uids = client.search(["SUBJECT", subject.removeprefix("Re: ")], charset="UTF-8")
    assert uids
    header = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    decoded = {
        str(
            email.message_from_bytes(
                item[b"BODY[HEADER.FIELDS (SUBJECT)]"], policy=email.policy.default
            )["Subject"]
        )
        for item in header.values()
    }
    assert subject in decoded
    assert os.stat(maildir).st_uid == server.mail_uid
