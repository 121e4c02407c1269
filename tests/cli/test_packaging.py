"""The PyInstaller one-folder build: it builds, it starts, and it warms the demo project."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest
from userdirs import isolated_env

from trayapp import __version__

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "quota-tray.spec"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.fail("PyInstaller is missing: pip install -e '.[test]' installs it")
    work = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
            str(SPEC),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=work,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    folder = work / "dist" / "quota-tray"
    exe = folder / ("quota-tray.exe" if sys.platform == "win32" else "quota-tray")
    assert exe.is_file()
    print(f"\nPyInstaller build: {time.monotonic() - started:.0f} s, {_size_mb(folder):.0f} MB")
    return exe


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


@pytest.mark.slow
def test_the_built_app_prints_its_version(bundle):
    result = subprocess.run(
        [str(bundle), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"quota-tray {__version__}"


@pytest.mark.slow
def test_the_icons_ship_where_the_app_looks_for_them(bundle):
    icons = next(bundle.parent.rglob("trayapp/icons"))
    names = {p.name for p in icons.iterdir()}
    assert {"fire.png", "fire@2x.png", "complete.png", "__init__.py"} <= names


@pytest.mark.slow
def test_the_built_app_warms_the_demo_project(bundle, tmp_path):
    """The real client (google-cloud-compute) in the fetcher process, against the emulator,
    from the bundle alone."""
    env = isolated_env(tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [str(bundle), "demo", "--headless", "--once", "--speed", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "CACHE_WARM_COMPLETE" in result.stdout
    assert list((tmp_path / "cache").rglob("quota-cache.json"))
    # every fetch went through the fetcher process: the bundle started as a spawned child,
    # which works only with freeze_support() first in the entry point
    assert "Traceback" not in result.stderr, result.stderr[-2000:]


@pytest.mark.slow
def test_the_built_app_says_where_the_terminal_view_is(bundle, tmp_path):
    """Textual stays out of the bundle; its `tui` is one line and exit 2, no traceback."""
    env = {k: v for k, v in isolated_env(tmp_path).items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [str(bundle), "tui"], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr == (
        "quota-tray: the terminal view needs Textual: in the quota-tray checkout, "
        "pip install '.[tui]' (or pipx install --force '.[tui]')\n"
    )
    assert not list(bundle.parent.rglob("textual"))


@pytest.mark.slow
def test_the_built_app_knows_the_quota_metric_names(bundle, tmp_path):
    """The Compute quota metric list ships as data: a typo is caught by the bundle too."""
    config = tmp_path / "config.toml"
    config.write_text('projects = ["p"]\n[gpu]\nmetrics = ["NVIDA_T4_GPUS"]\n')
    env = isolated_env(tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [str(bundle), "run", "--headless", "--once", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().endswith("did you mean NVIDIA_T4_GPUS?")


def test_every_sub_package_is_listed_for_setuptools():
    """An unlisted sub-package installs from a checkout but is missing from a wheel."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "trayapp").rglob("__init__.py")
    }
    assert found <= listed, found - listed
