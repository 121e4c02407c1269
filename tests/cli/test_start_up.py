"""`show`, `status` and `--help` start at a small multiple of a bare interpreter (figures:
benchmarks/startup.py). Measured as users run them; here the reason is held: they import only
what printing needs, not the command line of every other command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from userdirs import headless_env

ROOT = Path(__file__).resolve().parents[2]
# what the first version of `show` loaded and printing the table does not need
NOT_NEEDED = {"pathlib", "typing", "platformdirs", "shutil", "bz2", "lzma", "trayapp.config"}
# what `status` loaded while finding nothing running, and finding that does not need: the
# channel's frames, its handshake, the instance's side, the status words, a config parser
NOT_NEEDED_BY_STATUS = {
    *("multiprocessing", "multiprocessing.connection", "hashlib", "hmac", "socket", "json"),
    *("typing", "logging", "threading", "tomllib", "trayapp.control.server", "trayapp.words"),
    *("trayapp.sources", "trayapp.config", "platformdirs"),
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG paths without platformdirs")
@pytest.mark.parametrize("args", [["show", "--demo"], ["--help"], ["show", "--help"], ["status"]])
def test_show_status_and_help_import_only_what_they_print_with(tmp_path, args):
    env = headless_env(tmp_path / "home")
    env["PYTHONPATH"] = str(ROOT)
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['quota-tray', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('trayapp', run_name='__main__', alter_sys=True)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    # -S: no site-packages, so nothing an installer put there (an editable finder) loads first
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    loaded = set(done.stderr.splitlines()[-1].split())
    assert "trayapp.cli" in loaded, done.stderr[-2000:]
    if args == ["status"]:  # nothing runs: one look for the key, one line said
        assert "no running instance" in done.stderr
        assert loaded & NOT_NEEDED_BY_STATUS == set()
    else:
        assert loaded & NOT_NEEDED == set()
