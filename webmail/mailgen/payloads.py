"""Small but valid attachment files, built in code.

Each builder is a pure function of its arguments, so a payload made twice is
the same bytes and the message builder can cache its base64 form.
"""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from datetime import datetime
from functools import lru_cache

# Zip entries carry a timestamp; a fixed one keeps archives reproducible.
ZIP_TIMESTAMP = (2024, 3, 14, 9, 26, 0)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: tuple[str, ...], padding: int = 0) -> bytes:
    """Return a one-page PDF showing title and lines in Helvetica.

    padding adds an unreferenced stream of that many pseudo-random bytes,
    which makes a large file that viewers still open.
    """
    ops = [f"BT /F1 18 Tf 72 770 Td ({_pdf_escape(title)}) Tj ET"]
    for number, line in enumerate(lines):
        y = 740 - 18 * number
        ops.append(f"BT /F1 11 Tf 72 {y} Td ({_pdf_escape(line)}) Tj ET")
    content = "\n".join(ops).encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if padding:
        blob = random.Random(padding).randbytes(padding)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (padding, blob))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _colour(variant: int, x: float, y: float) -> tuple[int, int, int]:
    # A diagonal blend between two colours picked by the variant.
    hue = (variant * 47) % 256
    t = (x + y) / 2
    return (
        int(hue * (1 - t) + 240 * t) % 256,
        int(90 + 120 * x) % 256,
        int((255 - hue) * (1 - y) + 60 * y) % 256,
    )


@lru_cache(maxsize=64)
def make_png(variant: int, width: int = 96, height: int = 64) -> bytes:
    """Return an RGB PNG of a colour gradient chosen by variant."""
    rows = bytearray()
    for row in range(height):
        rows.append(0)  # filter type "None" for every scanline
        for col in range(width):
            rows.extend(_colour(variant, col / width, row / height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _png_chunk(b"IEND", b"")
    )


# Baseline JPEG: every 8x8 block is one flat colour, so each block needs only
# its DC coefficient and an end-of-block code. The DC table is the luminance
# DC table from ITU-T T.81 Annex K; the AC table holds end-of-block alone.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))


def _dc_codes() -> dict[int, tuple[int, int]]:
    codes: dict[int, tuple[int, int]] = {}
    code = 0
    symbols = iter(_DC_VALUES)
    for length, count in enumerate(_DC_BITS, start=1):
        for _ in range(count):
            codes[next(symbols)] = (code, length)
            code += 1
        code <<= 1
    return codes


class _BitWriter:
    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, bits: int, length: int) -> None:
        self.value = (self.value << length) | (bits & ((1 << length) - 1))
        self.length += length

    def finish(self) -> bytes:
        pad = (-self.length) % 8
        self.put((1 << pad) - 1, pad)
        raw = self.value.to_bytes(self.length // 8, "big")
        # 0xFF in entropy-coded data must be followed by a zero byte.
        return raw.replace(b"\xff", b"\xff\x00")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


@lru_cache(maxsize=16)
def make_jpeg(variant: int, width: int = 160, height: int = 120) -> bytes:
    """Return a colour baseline JPEG of flat 8x8 tiles forming a gradient."""
    width -= width % 8
    height -= height % 8
    dc_codes = _dc_codes()
    writer = _BitWriter()
    previous = [0, 0, 0]
    for by in range(height // 8):
        for bx in range(width // 8):
            r, g, b = _colour(variant, bx * 8 / width, by * 8 / height)
            ycc = (
                0.299 * r + 0.587 * g + 0.114 * b,
                128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
            )
            for component, level in enumerate(ycc):
                dc = max(-1024, min(1016, round(8 * (level - 128))))
                diff = dc - previous[component]
                previous[component] = dc
                size = abs(diff).bit_length()
                code, length = dc_codes[size]
                writer.put(code, length)
                if size:
                    writer.put(diff if diff > 0 else diff - 1, size)
                writer.put(0, 1)  # end of block
    components = b"".join(bytes((cid, 0x11, 0)) for cid in (1, 2, 3))
    huffman = (
        b"\x00"
        + bytes(_DC_BITS)
        + bytes(_DC_VALUES)
        + b"\x10"
        + bytes((1,) + (0,) * 15)
        + b"\x00"
    )
    scan = b"\x03" + b"".join(bytes((cid, 0x00)) for cid in (1, 2, 3)) + b"\x00\x3f\x00"
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, b"\x00" + b"\x01" * 64)
        + _segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components)
        + _segment(0xC4, huffman)
        + _segment(0xDA, scan)
        + writer.finish()
        + b"\xff\xd9"
    )


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


_DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_DOCX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@lru_cache(maxsize=64)
def make_docx(title: str, paragraphs: tuple[str, ...]) -> bytes:
    """Return a minimal WordprocessingML document (a zip Word opens)."""
    body = "".join(
        f"<w:p><w:r><w:t>{_xml_text(text)}</w:t></w:r></w:p>"
        for text in (title, *paragraphs)
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/'
        f'wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>'
    )
    return _zip(
        [
            ("[Content_Types].xml", _DOCX_TYPES.encode()),
            ("_rels/.rels", _DOCX_RELS.encode()),
            ("word/document.xml", document.encode()),
        ]
    )


@lru_cache(maxsize=64)
def make_zip(variant: int) -> bytes:
    """Return a zip of a text note, a CSV table and a small PNG."""
    rng = random.Random(variant)
    rows = "\n".join(
        f"{day},{rng.randint(10, 900)},{rng.randint(1, 40)}" for day in range(1, 29)
    )
    return _zip(
        [
            (
                "README.txt",
                f"Export number {variant}. Columns: day,visits,orders.\n".encode(),
            ),
            ("data/visits.csv", ("day,visits,orders\n" + rows + "\n").encode()),
            ("images/preview.png", make_png(variant, 48, 32)),
        ]
    )


@lru_cache(maxsize=8)
def make_large(variant: int, size: int) -> tuple[str, str, bytes]:
    """Return (filename, content type, bytes) for a file of about size bytes.

    The contents are pseudo-random, so they do not compress, as photos and
    scans do not.
    """
    if variant % 2:
        data = make_pdf("Scanned contract", ("All pages, 600 dpi.",), padding=size)
        return "scanned-contract.pdf", "application/pdf", data
    blob = random.Random(variant).randbytes(size)
    data = _zip([("raw/DSC_0001.NEF", blob)], method=zipfile.ZIP_STORED)
    return "raw-photos.zip", "application/zip", data


def make_invite(
    *,
    uid: str,
    summary: str,
    start: datetime,
    minutes: int,
    organizer: str,
    attendee: str,
    stamp: datetime,
) -> str:
    """Return an iCalendar REQUEST for one event, lines ending in CRLF."""
    end = start.timestamp() + minutes * 60
    fmt = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//Webmail mailgen//EN",
        "VERSION:2.0",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp.strftime(fmt)}",
        f"DTSTART:{start.strftime(fmt)}",
        f"DTEND:{datetime.fromtimestamp(end, start.tzinfo).strftime(fmt)}",
        f"SUMMARY:{summary}",
        f"ORGANIZER:mailto:{organizer}",
        # Folded (CRLF and a space), as RFC 5545 wants lines under 75 octets.
        "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:",
        f" mailto:{attendee}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"
