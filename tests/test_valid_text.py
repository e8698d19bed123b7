"""Text UTF-8 can hold: names with undecodable bytes and student-made surrogates, made readable."""

from __future__ import annotations

import json

import pytest

from grader.report.render import write_atomic
from grader.valid_text import spacing_doubts, valid, valid_json


def test_escaped_bytes_are_read_as_windows_1252():
    assert valid("J\udcfcrgen") == "Jürgen"  # b"J\xfcrgen", as os.listdir gives it
    assert valid("\udc80\udc93quoted\udc94") == "€“quoted”"


def test_other_lone_surrogates_become_the_replacement_character():
    assert valid("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    assert valid("\ud83d\udcfc") == "\ufffd\ufffd"  # a pair split by a JSON escape stays unread


def test_valid_text_is_returned_as_it_is():
    for text in ("plain", "zoë martin 😀", "", "€"):
        assert valid(text) is text


def test_the_replacements_never_break_json_csv_or_html():
    """Every escaped byte read as Windows-1252 is a character with no meaning in JSON, CSV or
    HTML, so a written text stays what it was around it."""
    for byte in range(0x80, 0x100):
        text = valid(bytes([byte]).decode("utf-8", "surrogateescape"))
        text.encode("utf-8")
        assert not set(text) & set("\"\\,<>&'\n\r\t")
        assert json.loads(json.dumps({"k": text}, ensure_ascii=False)) == {"k": text}


def test_valid_json_reaches_every_string_keys_included():
    value = {"J\udcfcrgen": ["x\ud800", {"n": 1, "f": 0.5, "b": None}], "t": ("\udcfc",)}
    assert valid_json(value) == {"Jürgen": ["x\ufffd", {"n": 1, "f": 0.5, "b": None}], "t": ["ü"]}


def test_valid_json_makes_every_float_that_is_no_number_null():
    """JSON has no NaN or Infinity; `json.dumps` writes them anyway and strict parsers refuse
    the file (a student's huge gradients once made a training run's held-out loss Infinity)."""
    inf, nan = float("inf"), float("nan")
    value = {"loss": inf, "steps": [nan, -inf, 1.5, 0.0, -0.0], "n": 3, "ok": True}
    made = valid_json(value)
    assert made == {"loss": None, "steps": [None, None, 1.5, 0.0, -0.0], "n": 3, "ok": True}
    json.loads(json.dumps(made), parse_constant=lambda c: pytest.fail(f"{c} written"))


def test_every_file_is_written_whatever_its_text_holds(tmp_path):
    """The last resort: a text that reaches the writer with a lone surrogate is written valid."""
    path = write_atomic(tmp_path / "grades.csv", "name\nJ\udcfcrgen,\ud800\n")
    assert path.read_bytes().decode("utf-8") == "name\nJürgen,\ufffd\n"


def test_spacing_doubts_leave_a_name_of_blanks_to_the_lists_own_words():
    """A field of blanks alone is no name at all, which the lists already say (`–`), not a name
    passing for another; a name with a blank at its end is one."""
    assert spacing_doubts("   ") == []
    assert spacing_doubts("Bob ") == ["blanks at an end"]
