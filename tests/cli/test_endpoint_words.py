"""A wrong endpoint is one clear line: a closed port says "cannot reach URL: connection refused"
once and counts the repeats, on the terminal and in the log."""

from __future__ import annotations

import re
from pathlib import Path

from emulator_fixtures import refused_url  # noqa: F401 - fixture
from userdirs import headless_env, run_cli


def test_a_closed_port_is_said_once_and_counted(tmp_path, refused_url):  # noqa: F811
    env = headless_env(tmp_path / "home")
    out = run_cli(
        env, "run", "--once", "--project", "p", "--endpoint", refused_url, "--interval", "0.02"
    )
    assert out.returncode == 1, out.stderr
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log"
    batches = int(re.search(r"FINAL_STATS: batches=(\d+)", log.read_text()).group(1))
    cause = f"unavailable: cannot reach {refused_url}: connection refused"
    for text in (out.stdout, re.sub(r"^\S+ ", "", log.read_text(), flags=re.MULTILINE)):
        fails = [line for line in text.splitlines() if "BATCH_FAIL" in line]
        assert len(fails) == 2, fails
        assert re.fullmatch(
            rf"❌ BATCH_FAIL: GPU 0/20, C3 0/18 - \d+ms - unavailable: p/us-central1: "
            rf"cannot reach {re.escape(refused_url)}: connection refused",
            fails[0],
        ), fails[0]
        assert (
            fails[1] == f"❌ BATCH_FAIL: {batches - 1} more batches failed the same way ({cause})"
        )
