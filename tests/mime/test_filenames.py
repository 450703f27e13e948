"""Attachment names cannot fake their extension with invisible characters."""

from __future__ import annotations

import pytest

from webmail.mime.filenames import MAX_LENGTH, safe_filename, unique_names

# Every character the reading pane and the download name must not keep.
BIDI_AND_MARKS = [
    "\u202a",  # LRE
    "\u202b",  # RLE
    "\u202c",  # PDF
    "\u202d",  # LRO
    "\u202e",  # RLO
    "\u2066",  # LRI
    "\u2067",  # RLI
    "\u2068",  # FSI
    "\u2069",  # PDI
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u061c",  # ALM
]


@pytest.mark.parametrize("mark", BIDI_AND_MARKS)
def test_bidi_controls_are_removed(mark):
    # "invoice<mark>fdp.exe" would show as "invoiceexe.pdf" with an override.
    assert safe_filename(f"invoice{mark}fdp.exe") == "invoicefdp.exe"


@pytest.mark.parametrize("mark", BIDI_AND_MARKS)
def test_the_real_extension_stays_last(mark):
    name = safe_filename(f"report{mark}.pdf{mark}.exe")
    assert name == "report.pdf.exe"
    assert name.endswith(".exe")


@pytest.mark.parametrize(
    "char", ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b"]
)
def test_control_characters_are_removed(char):
    assert safe_filename(f"photo{char}.jpg") == "photo.jpg"


def test_an_isolate_around_the_extension_cannot_hide_it():
    assert safe_filename("photo\u2066gpj.\u2069exe") == "photogpj.exe"


def test_japanese_names_are_kept():
    assert safe_filename("請求書\u202e「原本」.pdf") == "請求書「原本」.pdf"


def test_a_name_of_only_invisible_characters_gets_the_default():
    assert safe_filename("\u202e\u200f\u2066") == "attachment"


def test_unique_names_numbers_repeats_before_the_extension():
    names = ["a.pdf", "a.pdf", "A.PDF", "notes", "notes", ".pdf"]
    assert unique_names(names) == [
        "a.pdf",
        "a (2).pdf",
        "A (3).PDF",
        "notes",
        "notes (2)",
        ".pdf",
    ]


PADDING = [
    " ",  # space
    "\u00a0",  # no-break space
    "\u2003",  # em space
    "\u3000",  # ideographic space
    "\u3164",  # Hangul filler: a letter drawn blank
    "\u2800",  # blank Braille pattern
]


@pytest.mark.parametrize("pad", PADDING)
def test_padding_before_the_extension_shrinks_to_one_space(pad):
    assert safe_filename("invoice.pdf" + pad * 60 + ".exe") == "invoice.pdf .exe"


def test_mixed_padding_shrinks_to_one_space():
    padding = "\u00a0 \u3000\u3164\u2800" * 30
    assert safe_filename("請求書.pdf" + padding + ".exe") == "請求書.pdf .exe"


def test_a_name_longer_than_the_limit_keeps_its_extension():
    name = safe_filename("invoice.pdf" + "_" * 300 + ".exe")
    assert len(name) == MAX_LENGTH
    assert name.startswith("invoice.pdf_")
    assert name.endswith("_.exe")
