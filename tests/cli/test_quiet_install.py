"""A quiet install: `make demo` installs only when pyproject.toml changed, and an editable
install is a plain path entry (no import hook, so setuptools prints no warning box)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make(*args: str, venv: Path) -> str:
    out = subprocess.run(
        ["make", "-n", f"VENV={venv}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_installs_only_when_pyproject_changed(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    assert "pip install" in make("install", venv=venv)  # never installed
    stamp = venv / ".installed"
    stamp.touch()
    newer = (ROOT / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (newer, newer))
    assert "pip install" not in make("install", venv=venv)
    assert "pip install" in make("install", "-W", "pyproject.toml", venv=venv)


def test_the_icons_are_package_data_in_place():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"": "."}  # no package mapped elsewhere
    assert not (ROOT / "icons").exists()
    assert (ROOT / "trayapp" / "icons" / "fire@2x.png").is_file()
    from trayapp.ui import icons

    assert icons._icon_root() == ROOT / "trayapp" / "icons"


@pytest.mark.slow
def test_an_editable_install_prints_no_warning_box(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-v", "--no-deps", "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    said = out.stdout + out.stderr
    assert out.returncode == 0, said[-2000:]
    assert "Editable install will be performed using .pth file" in said
    assert "****" not in said
    for left in ("build", "quota_tray.egg-info"):
        shutil.rmtree(ROOT / left, ignore_errors=True)
