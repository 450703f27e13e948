"""Decoding a transfer encoding chunk by chunk gives the whole-part result."""

from __future__ import annotations

import base64
import binascii
import os
import quopri
import random

import pytest

from webmail.mime.stream import decoder_for


def _decode_in_pieces(encoding: str, data: bytes, sizes: list[int]) -> bytes:
    decoder = decoder_for(encoding)
    out = []
    position = 0
    for size in sizes:
        out.append(decoder.feed(data[position : position + size]))
        position += size
    out.append(decoder.feed(data[position:]))
    out.append(decoder.flush())
    return b"".join(out)


def _random_sizes(seed: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.choice([1, 2, 3, 5, 7, 76, 77, 1000]) for _ in range(400)]


@pytest.mark.parametrize("seed", range(5))
def test_base64_split_anywhere(seed):
    payload = os.urandom(20_000)
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    assert _decode_in_pieces("base64", encoded, _random_sizes(seed)) == payload


def test_base64_without_padding_or_with_junk():
    payload = b"hello, world!"
    encoded = base64.b64encode(payload).rstrip(b"=")
    assert _decode_in_pieces("BASE64", b" " + encoded + b"\r\n*", [3, 4]) == payload


@pytest.mark.parametrize("seed", range(5))
def test_quoted_printable_split_anywhere(seed):
    text = ("Grüße aus Köln, 東京 = tokyo\t \r\n" * 300).encode()
    encoded = quopri.encodestring(text.replace(b"\r\n", b"\n")).replace(b"\n", b"\r\n")
    expected = binascii.a2b_qp(encoded)
    assert _decode_in_pieces("quoted-printable", encoded, _random_sizes(seed)) == (
        expected
    )
    assert "Grüße aus Köln".encode() in expected


def test_quoted_printable_very_long_line_is_not_held_whole():
    line = b"=41" * 100_000  # "A" * 100000 without a line break
    decoder = decoder_for("quoted-printable")
    first = decoder.feed(line[:70_001])  # cuts "=41" after its "="
    assert first and len(first) < 70_001
    rest = decoder.feed(line[70_001:]) + decoder.flush()
    assert first + rest == b"A" * 100_000


@pytest.mark.parametrize("encoding", ["7bit", "8bit", "binary", None, "x-unknown"])
def test_other_encodings_pass_through(encoding):
    data = os.urandom(1000)
    assert _decode_in_pieces(encoding, data, [10, 500]) == data
