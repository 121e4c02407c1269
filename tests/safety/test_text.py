"""Text from outside enters once, cleaned and capped, whatever surface shows it later."""

from __future__ import annotations

from trayapp.safety.text import MAX_LINE, clean_line
from trayapp.sources.base import SourceError


def test_escapes_bell_and_bidi_overrides_become_plain_spaces():
    hostile = "quota\x1b]0;pwned\x07 \x1b[2Jgone\u202eevil\u200b!\r\nnext"
    assert clean_line(hostile) == "quota ]0;pwned [2Jgone evil ! next"


def test_long_text_is_capped_with_a_mark():
    line = clean_line("x" * 200_000)
    assert len(line) == MAX_LINE and line.endswith("…")
    assert clean_line("short") == "short"


def test_a_source_error_keeps_one_clean_capped_line():
    err = SourceError("unavailable", "HTTP 503 \x1b[31mdown\u202e" + "y" * 10_000 + "\nsecret line")
    assert err.message.startswith("HTTP 503 [31mdown y")
    assert len(err.message) == MAX_LINE
    assert "secret" not in str(err) and "\x1b" not in str(err)
