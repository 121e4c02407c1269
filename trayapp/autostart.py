"""Start quota-tray at login: an XDG autostart entry, a macOS LaunchAgent or a Windows Run key.

What each platform gets is built by a pure function, so every platform's entry can be checked
on any machine; only the small entry classes touch files or the registry. Installing twice
writes the same thing once; removing what is not there is not an error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trayapp.cache import private_mkdir

APP = "quota-tray"
LAUNCH_AGENT_LABEL = "io.github.quota-tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
ACTIONS = ("install", "remove", "status")
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")  # characters that make an Exec argument need quotes


def launch_command(
    *,
    platform: str = sys.platform,
    executable: str = sys.executable,
    frozen: bool = bool(getattr(sys, "frozen", False)),
    which: Callable[[str], str | None] | None = None,
) -> list[str]:
    """How this installation starts the tray: the bundled app, the script, or ``-m trayapp``."""
    import shutil

    if frozen:  # a PyInstaller bundle: the executable is quota-tray itself
        return [executable, "run"]
    bindir = Path(executable).absolute().parent
    if platform == "win32":  # pythonw: no console window at every login
        pythonw = bindir / "pythonw.exe"
        return [str(pythonw if pythonw.is_file() else executable), "-m", "trayapp", "run"]
    script = bindir / APP
    if script.is_file():
        return [str(script), "run"]
    found = (which or shutil.which)(APP)
    if found:
        return [str(Path(found).absolute()), "run"]
    return [str(Path(executable).absolute()), "-m", "trayapp", "run"]


def desktop_exec(argv: Sequence[str]) -> str:
    """An ``Exec=`` value: quoted per the Desktop Entry spec, then string-escaped."""
    words = []
    for raw in argv:
        word = raw.replace("%", "%%")
        if any(c in _RESERVED for c in word):
            word = '"' + "".join("\\" + c if c in '"`$\\' else c for c in word) + '"'
        words.append(word)
    return " ".join(words).replace("\\", "\\\\")


def desktop_entry(argv: Sequence[str], icon: str) -> str:
    """The XDG autostart entry (also valid as a menu launcher)."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={APP}\n"
        "Comment=Keeps Google Cloud GPU and C3 quota answers warm\n"
        f"Exec={desktop_exec(argv)}\n"
        f"Icon={icon}\n"
        "Terminal=false\n"
        "Categories=Utility;\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-GNOME-Autostart-Delay=5\n"  # let the panel come up first, so the tray is found
        "X-KDE-autostart-after=panel\n"
    )


def launch_agent(argv: Sequence[str], label: str = LAUNCH_AGENT_LABEL) -> bytes:
    """The macOS LaunchAgent property list: run once at login, in the GUI session."""
    import plistlib

    doc = {
        "Label": label,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    return plistlib.dumps(doc)


def run_key_value(argv: Sequence[str]) -> str:
    """The Windows ``HKCU\\...\\Run`` value: a command line quoted the way Windows parses it."""
    import subprocess

    return subprocess.list2cmdline(list(argv))


def xdg_autostart_path(env: Mapping[str, str] = os.environ, home: Path | None = None) -> Path:
    """``$XDG_CONFIG_HOME/autostart/quota-tray.desktop`` (a relative value is ignored)."""
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if Path(base).is_absolute() else (home or Path.home()) / ".config"
    return root / "autostart" / f"{APP}.desktop"


class FileEntry:
    """An autostart entry that is a file: the XDG desktop entry or the LaunchAgent."""

    def __init__(self, path: Path, content: bytes, command: Sequence[str]) -> None:
        self.path, self.content, self.command = path, content, list(command)
        self.where = str(path)

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self) -> None:
        import tempfile

        private_mkdir(self.path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp makes it 0600
                f.write(self.content)
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class RunKeyEntry:
    """The Windows Run-key value; ``winreg`` can be handed in, so tests use a fake registry."""

    def __init__(self, command: Sequence[str], winreg: Any = None) -> None:
        if winreg is None:
            import winreg  # type: ignore[no-redef]  # Windows only
        self.reg, self.command = winreg, list(command)
        self.content = run_key_value(command)
        self.where = rf"HKEY_CURRENT_USER\{RUN_KEY}\{APP}"

    def read(self) -> str | None:
        try:
            with self.reg.OpenKey(self.reg.HKEY_CURRENT_USER, RUN_KEY) as key:
                return str(self.reg.QueryValueEx(key, APP)[0])
        except FileNotFoundError:
            return None

    def write(self) -> None:
        with self.reg.CreateKey(self.reg.HKEY_CURRENT_USER, RUN_KEY) as key:
            self.reg.SetValueEx(key, APP, 0, self.reg.REG_SZ, self.content)

    def delete(self) -> None:
        try:
            with self.reg.OpenKey(
                self.reg.HKEY_CURRENT_USER, RUN_KEY, 0, self.reg.KEY_SET_VALUE
            ) as key:
                self.reg.DeleteValue(key, APP)
        except FileNotFoundError:
            pass


def _icon() -> str:
    try:
        from trayapp.ui.icons import icon_path

        return str(icon_path("fire", 2).absolute())
    except (FileNotFoundError, ModuleNotFoundError):
        return APP  # a theme icon name, as packaging/README.md installs it


def entry_for(
    platform: str = sys.platform,
    *,
    env: Mapping[str, str] = os.environ,
    home: Path | None = None,
    command: Sequence[str] | None = None,
    winreg: Any = None,
) -> FileEntry | RunKeyEntry:
    """This platform's autostart entry for this installation."""
    argv = list(command) if command is not None else launch_command(platform=platform)
    if platform == "win32":
        return RunKeyEntry(argv, winreg)
    if platform == "darwin":
        agents = (home or Path.home()) / "Library" / "LaunchAgents"
        return FileEntry(agents / f"{LAUNCH_AGENT_LABEL}.plist", launch_agent(argv), argv)
    content = desktop_entry(argv, _icon()).encode()
    return FileEntry(xdg_autostart_path(env, home), content, argv)


def install(entry: FileEntry | RunKeyEntry) -> str:
    """Write the entry unless it is already exactly there; says which."""
    current = entry.read()
    if current == entry.content:
        return f"autostart already installed: {entry.where}"
    entry.write()
    return f"autostart {'updated' if current is not None else 'installed'}: {entry.where}"


def remove(entry: FileEntry | RunKeyEntry) -> str:
    if entry.read() is None:
        return f"autostart is not installed (nothing at {entry.where})"
    entry.delete()
    return f"autostart removed: {entry.where}"


def status(entry: FileEntry | RunKeyEntry) -> tuple[bool, str]:
    """(installed, what a person reads): where it is, and whether it runs this installation."""
    current = entry.read()
    if current is None:
        return False, f"autostart is not installed (it would be {entry.where})"
    runs = " ".join(entry.command)
    if current == entry.content:
        return True, f"autostart installed: {entry.where}\n  runs: {runs}"
    return True, (
        f"autostart installed: {entry.where}\n"
        f"  but it differs from this installation (which runs: {runs});\n"
        "  `quota-tray autostart install` updates it"
    )


def add_autostart_arguments(parser: argparse.ArgumentParser) -> None:
    """``quota-tray autostart install|remove|status``."""
    parser.add_argument("action", choices=ACTIONS, help="install, remove, or show the entry")


def autostart_command(action: str) -> int:
    """0 done (status: installed), 3 status when not installed, 1 when it cannot be written."""
    if action not in ACTIONS:
        raise ValueError(f"autostart: expected one of {', '.join(ACTIONS)}, not {action!r}")
    try:
        entry = entry_for()
        if action == "status":
            installed, text = status(entry)
            print(text)
            return 0 if installed else 3
        print(install(entry) if action == "install" else remove(entry))
    except OSError as exc:
        print(f"quota-tray: autostart {action} failed: {exc}", file=sys.stderr)
        return 1
    return 0
