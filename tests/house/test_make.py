"""`make test` on a fresh machine: the Debian packages (the headers PyGObject builds against)
come before the GTK install, whose stamp is written only when it worked, and CI=true stops on
a failed build. Run with a stand-in virtualenv whose python only records what it is asked."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

FAKE = """#!/bin/sh
echo "$0 $*" >> "$(dirname "$0")/../asked"
case "$*" in
  *gtk*) [ "$FAIL_GTK" = 1 ] && { echo "PyGObject: Python.h missing" >&2; exit 1; } ;;
esac
exit 0
"""


# run from `make test` itself: the outer make's flags and variables are not passed down
OUTER = ("CI", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
CLEAN = {k: v for k, v in os.environ.items() if k not in OUTER}


def make(venv: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``make ARGS`` with every Debian package taken as present (nothing is installed)."""
    return subprocess.run(
        ["make", "-s", f"VENV={venv}", "DESKTOP_PACKAGES=", *args],
        cwd=ROOT,
        env={**CLEAN, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "ruff"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(stat.S_IRWXU)
    return tmp_path / "venv"


def test_the_debian_packages_come_before_the_gtk_install(tmp_path: Path) -> None:
    planned = subprocess.run(
        ["make", "-n", "test", f"VENV={tmp_path / 'fresh'}"],
        cwd=ROOT,
        env=CLEAN,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    packages = next(i for i, line in enumerate(planned) if "apt-get install" in line)
    gtk = next(i for i, line in enumerate(planned) if ".[gtk]" in line)
    tests = next(i for i, line in enumerate(planned) if "-m pytest" in line)
    assert packages < gtk < tests


def test_a_failed_gtk_build_writes_no_stamp_and_is_tried_again(venv: Path) -> None:
    first = make(venv, "test", FAIL_GTK="1")
    assert first.returncode == 0, first.stderr  # the other tests still run
    assert "PyGObject did not install" in first.stdout
    assert not (venv / ".installed-gtk").exists()
    second = make(venv, "test")
    assert second.returncode == 0, second.stderr
    assert (venv / ".installed-gtk").exists()
    asked = (venv / "asked").read_text()
    assert asked.count(".[gtk]") == 2  # tried again, now that it can build
    make(venv, "test")
    assert (venv / "asked").read_text().count(".[gtk]") == 2  # and not a third time


def test_ci_stops_on_a_failed_gtk_build(venv: Path) -> None:
    run = make(venv, "test", FAIL_GTK="1", CI="true")
    assert run.returncode != 0
    assert "PyGObject did not install (CI=true)" in run.stderr
    assert "-m pytest" not in (venv / "asked").read_text()
    assert not (venv / ".installed-gtk").exists()
