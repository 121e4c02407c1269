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


def test_a_cap_never_cuts_inside_a_quoted_command():
    fix = 'API disabled for project p: run "gcloud services enable x.googleapis.com --project p"'
    line = clean_line(fix + " to see the quota", 60)
    assert line == "API disabled for project p: run…"  # before the command, not inside it
    assert clean_line(fix + " to see it", len(fix) + 1) == fix + "…"  # whole, then cut
    assert clean_line("say `quota-tray --project ID` first", 20) == "say…"
