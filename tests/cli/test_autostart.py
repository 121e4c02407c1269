"""Start at login: the XDG entry for real, the LaunchAgent and the Run key as content."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from desktop import require, require_gtk
from userdirs import headless_env, run_cli

from trayapp import autostart

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG desktop")


def validate(path: Path) -> None:
    if shutil.which("desktop-file-validate") is None:
        require(["desktop-file-utils"], "desktop-file-validate")
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    """The XDG config folder, with a config that names the project a login start warms."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = tmp_path / "config" / "quota-tray" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('projects = ["my-project"]\n')
    return tmp_path / "config" / "autostart" / "quota-tray.desktop"


@linux_only
def test_install_twice_status_remove(xdg, capsys):
    assert autostart.autostart_command("status") == 3
    assert "not installed" in capsys.readouterr().out
    assert autostart.autostart_command("install") == 0
    assert capsys.readouterr().out == f"autostart installed: {xdg}\n"
    first = xdg.read_bytes()
    mtime = xdg.stat().st_mtime_ns
    assert autostart.autostart_command("install") == 0
    assert capsys.readouterr().out == f"autostart already installed: {xdg}\n"
    assert xdg.read_bytes() == first and xdg.stat().st_mtime_ns == mtime
    assert stat.S_IMODE(xdg.stat().st_mode) == 0o600
    assert list(xdg.parent.iterdir()) == [xdg]  # no temp file left behind
    validate(xdg)
    assert autostart.autostart_command("status") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"autostart installed: {xdg}\n  runs: ") and " run" in out
    assert autostart.autostart_command("remove") == 0
    assert capsys.readouterr().out == f"autostart removed: {xdg}\n"
    assert not xdg.exists()
    assert autostart.autostart_command("remove") == 0
    assert "not installed" in capsys.readouterr().out
    assert autostart.autostart_command("status") == 3


@linux_only
def test_the_written_entry_runs_this_installation(xdg):
    autostart.autostart_command("install")
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(xdg)
    section = entry["Desktop Entry"]
    argv = autostart.launch_command()
    assert section["Exec"] == autostart.desktop_exec(argv)
    assert Path(argv[0]).is_absolute() and argv[-1] == "run"
    assert section["X-GNOME-Autostart-enabled"] == "true" and section["Type"] == "Application"
    assert Path(section["Icon"]).is_file() and section["Icon"].endswith(".png")


@linux_only
def test_an_entry_from_elsewhere_is_reported_and_updated(xdg, capsys):
    xdg.parent.mkdir(parents=True)
    xdg.write_text("[Desktop Entry]\nType=Application\nName=old\nExec=/old/quota-tray\n")
    assert autostart.autostart_command("status") == 0
    assert "differs from this installation" in capsys.readouterr().out
    assert autostart.autostart_command("install") == 0
    assert capsys.readouterr().out == f"autostart updated: {xdg}\n"
    validate(xdg)


def test_a_relative_xdg_config_home_is_ignored(tmp_path):
    path = autostart.xdg_autostart_path({"XDG_CONFIG_HOME": "relative/dir"}, home=tmp_path)
    assert path == tmp_path / ".config" / "autostart" / "quota-tray.desktop"
    assert autostart.xdg_autostart_path({}, home=tmp_path) == path
    absolute = autostart.xdg_autostart_path({"XDG_CONFIG_HOME": str(tmp_path / "c")})
    assert absolute == tmp_path / "c" / "autostart" / "quota-tray.desktop"


def test_an_unwritable_place_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "autostart").write_text("a file where a directory should be")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(autostart.sys, "platform", "linux")
    assert autostart.autostart_command("install", ["my-project"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("quota-tray: autostart install failed: ") and err.count("\n") == 1


@linux_only
def test_install_without_a_project_refuses_in_one_line_and_project_is_kept(tmp_path):
    """With no project in the config and none from a gcloud login, a login start would exit 2
    where nobody sees it: install refuses instead. `--project` goes into the entry, and
    status recognises that entry as this installation's."""
    env = headless_env(tmp_path / "home")
    entry = Path(env["XDG_CONFIG_HOME"]) / "autostart" / "quota-tray.desktop"
    env["GOOGLE_CLOUD_PROJECT"] = "from-my-shell"  # a login start does not see it

    refused = run_cli(env, "autostart", "install")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("quota-tray: autostart not installed: no project to warm")
    assert "--project ID" in refused.stderr and "config.toml" in refused.stderr
    assert not entry.exists()
    bad = run_cli(env, "autostart", "install", "--project", "my project")
    assert bad.returncode == 2 and "is not a project ID" in bad.stderr and not entry.exists()

    done = run_cli(env, "autostart", "install", "--project", "my-project")
    assert done.returncode == 0, done.stderr
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" run --project my-project")
    validate(entry)
    status = run_cli(env, "autostart", "status")
    assert status.returncode == 0 and "differs" not in status.stdout
    assert status.stdout.rstrip().endswith("run --project my-project")

    config = Path(env["XDG_CONFIG_HOME"]) / "quota-tray" / "config.toml"
    config.parent.mkdir()
    config.write_text('interval_s = "soon"\n')  # what the login start would stop at
    broken = run_cli(env, "autostart", "install", "--project", "my-project")
    assert broken.returncode == 2 and "interval_s must be a number" in broken.stderr


def test_an_unknown_action_is_a_value_error():
    with pytest.raises(ValueError, match="install, remove, status"):
        autostart.autostart_command("enable")


# -- Exec quoting ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["/usr/bin/quota-tray", "run"],
        ["/home/me/my apps/quota-tray", "run"],
        ['/opt/we"ird/$HOME/`x`/back\\slash/100%/q', "run"],
        ["/opt/semi;colon&amp/(paren)/q", "run"],
    ],
)
def test_exec_quoting_round_trips(tmp_path, argv):
    """GLib reads Exec the way desktops do: unescape the string, then split like a shell."""
    require_gtk()
    from gi.repository import GLib as glib

    entry = tmp_path / "e.desktop"
    entry.write_text(autostart.desktop_entry(argv, "/icons/fire.png"))
    keyfile = glib.KeyFile()
    keyfile.load_from_file(str(entry), glib.KeyFileFlags.NONE)
    value = keyfile.get_string("Desktop Entry", "Exec")
    ok, parsed = glib.shell_parse_argv(value)
    assert ok and [a.replace("%%", "%") for a in parsed] == argv
    validate(entry)


# -- which command --------------------------------------------------------------------------------
def test_launch_command_prefers_the_bundle_then_the_script_then_the_module(tmp_path):
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    python = bindir / "python"
    python.touch()
    frozen = autostart.launch_command(executable="/opt/qt/quota-tray", frozen=True)
    assert frozen == ["/opt/qt/quota-tray", "run"]
    none = autostart.launch_command(executable=str(python), frozen=False, which=lambda _: None)
    assert none == [str(python), "-m", "trayapp", "run"]
    found = autostart.launch_command(
        executable=str(python), frozen=False, which=lambda _: "/usr/local/bin/quota-tray"
    )
    assert found == ["/usr/local/bin/quota-tray", "run"]
    (bindir / "quota-tray").touch()
    script = autostart.launch_command(executable=str(python), frozen=False, which=lambda _: None)
    assert script == [str(bindir / "quota-tray"), "run"]


def test_on_windows_pythonw_keeps_the_console_away(tmp_path):
    (tmp_path / "pythonw.exe").touch()
    argv = autostart.launch_command(
        platform="win32", executable=str(tmp_path / "python.exe"), frozen=False
    )
    assert argv == [str(tmp_path / "pythonw.exe"), "-m", "trayapp", "run"]


# -- macOS LaunchAgent -----------------------------------------------------------------------------
def test_launch_agent_content():
    argv = ["/Applications/quota-tray.app/Contents/MacOS/quota-tray", "run"]
    doc = plistlib.loads(autostart.launch_agent(argv))
    assert doc == {
        "Label": "io.github.quota-tray",
        "ProgramArguments": argv,
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }


def test_launch_agent_install_is_idempotent(tmp_path):
    argv = ["/usr/local/bin/quota-tray", "run"]
    entry = autostart.entry_for("darwin", home=tmp_path, command=argv)
    plist = tmp_path / "Library" / "LaunchAgents" / "io.github.quota-tray.plist"
    assert autostart.install(entry) == f"autostart installed: {plist}"
    assert autostart.install(entry) == f"autostart already installed: {plist}"
    assert plistlib.loads(plist.read_bytes())["ProgramArguments"] == argv
    assert autostart.status(entry) == (True, f"autostart installed: {plist}\n  runs: {argv[0]} run")
    assert autostart.remove(entry) == f"autostart removed: {plist}" and not plist.exists()


# -- Windows Run key -------------------------------------------------------------------------------
class FakeWinreg:
    """Just enough of winreg: HKCU keys holding string values."""

    HKEY_CURRENT_USER, REG_SZ, KEY_SET_VALUE = "HKCU", 1, 2

    def __init__(self):
        self.keys: dict[str, dict[str, tuple[int, str]]] = {}

    class _Key:
        def __init__(self, values):
            self.values = values

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def OpenKey(self, root, sub, reserved=0, access=0):
        if (root, sub) not in self.keys:
            raise FileNotFoundError(sub)
        return self._Key(self.keys[root, sub])

    def CreateKey(self, root, sub):
        return self._Key(self.keys.setdefault((root, sub), {}))

    def QueryValueEx(self, key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        kind, value = key.values[name]
        return value, kind

    def SetValueEx(self, key, name, reserved, kind, value):
        key.values[name] = (kind, value)

    def DeleteValue(self, key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        del key.values[name]


def test_run_key_value_quotes_like_windows():
    argv = [r"C:\Program Files\quota-tray\quota-tray.exe", "run"]
    assert autostart.run_key_value(argv) == r'"C:\Program Files\quota-tray\quota-tray.exe" run'
    assert autostart.run_key_value([r"C:\Python\pythonw.exe", "-m", "trayapp", "run"]) == (
        r"C:\Python\pythonw.exe -m trayapp run"
    )


def test_run_key_install_status_remove():
    reg = FakeWinreg()
    argv = [r"C:\Users\me\AppData\Local\quota-tray\quota-tray.exe", "run"]
    entry = autostart.entry_for("win32", command=argv, winreg=reg)
    where = r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\quota-tray"
    assert autostart.status(entry)[0] is False
    assert autostart.remove(entry) == f"autostart is not installed (nothing at {where})"
    assert autostart.install(entry) == f"autostart installed: {where}"
    assert autostart.install(entry) == f"autostart already installed: {where}"
    assert reg.keys["HKCU", autostart.RUN_KEY] == {"quota-tray": (1, autostart.run_key_value(argv))}
    assert autostart.status(entry)[0] is True
    assert autostart.remove(entry) == f"autostart removed: {where}"
    assert reg.keys["HKCU", autostart.RUN_KEY] == {}


# -- packaging/ ------------------------------------------------------------------------------------
def test_packaged_launcher_is_valid():
    validate(PACKAGING / "quota-tray.desktop")
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(PACKAGING / "quota-tray.desktop")
    assert entry["Desktop Entry"]["Exec"] == "quota-tray run"
    assert entry["Desktop Entry"]["Icon"] == "quota-tray"
    # what packaging/README.md installs as it
    assert (ROOT / "trayapp" / "icons" / "fire.png").is_file()


def test_systemd_user_unit(tmp_path):
    text = (PACKAGING / "quota-tray.service").read_text()
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str
    unit.read_string(text)
    assert unit["Service"]["ExecStart"] == "%h/.local/bin/quota-tray run --headless"
    assert unit["Service"]["Restart"] == "on-failure"
    assert unit["Service"]["RestartPreventExitStatus"] == "2"
    assert unit["Install"]["WantedBy"] == "default.target"
    assert "quota-tray.service" in (PACKAGING / "README.md").read_text()
    if shutil.which("systemd-analyze") is None:
        require(["systemd"], "systemd-analyze")
    # verify the unit with ExecStart pointing at something that exists here
    copy = tmp_path / "quota-tray.service"
    copy.write_text(text.replace("%h/.local/bin/quota-tray", sys.executable))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
