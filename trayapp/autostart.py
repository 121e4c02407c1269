"""Start quota-tray at login: an XDG autostart entry, a macOS LaunchAgent or a Windows Run key.

Each platform's entry is built by a pure function, checked on any machine; only the entry
classes touch files or the registry. Installing twice, or removing nothing, is no error.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trayapp.paths import APP
from trayapp.safety.files import private_dir, write_atomic

LAUNCH_AGENT_LABEL = "io.github.quota-tray"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
ACTIONS = ("install", "remove", "status")
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")  # characters that make an Exec argument need quotes
# a project ID (also domain-scoped, example.com:p) is never quoted in an entry: it reads back
_PROJECT_ARG = re.compile(r"--project(?:</string>\s*<string>|\s+)([A-Za-z0-9][\w:.-]{0,99})")


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
        private_dir(self.path.parent, shared=True)  # the desktop's folder: made only if missing
        write_atomic(self.path, self.content)

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


def status(
    entry: FileEntry | RunKeyEntry,
    rebuild: Callable[[Sequence[str]], FileEntry | RunKeyEntry] | None = None,
) -> tuple[bool, str]:
    """(installed, what a person reads): where it is, and whether it runs this installation.
    ``rebuild`` makes the entry for the projects an installed entry names (``--project``)."""
    current = entry.read()
    if current is None:
        return False, f"autostart is not installed (it would be {entry.where})"
    text = current.decode("utf-8", "replace") if isinstance(current, bytes) else current
    named = _PROJECT_ARG.findall(text)
    if named and rebuild is not None:
        entry = rebuild(named)
    runs = " ".join(entry.command)
    if current == entry.content:
        return True, f"autostart installed: {entry.where}\n  runs: {runs}"
    return True, (
        f"autostart installed: {entry.where}\n"
        f"  but it differs from this installation (which runs: {runs});\n"
        "  `quota-tray autostart install` updates it"
    )


def add_autostart_arguments(parser: argparse.ArgumentParser) -> None:
    """``quota-tray autostart install|remove|status [--project ID]...``."""
    parser.add_argument("action", choices=ACTIONS, help="install, remove, or show the entry")
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ID",
        help="install: the project the login start warms (repeatable; default: projects in "
        "config.toml, else the project of your gcloud login)",
    )


def launch_with(projects: Sequence[str]) -> list[str]:
    """This installation's launch command, warming ``projects`` (none: what the config says)."""
    return launch_command() + [arg for p in projects for arg in ("--project", p)]


def login_project_problem(projects: Sequence[str]) -> str | None:
    """Why a start at login would have no project to warm (it would exit 2 where nobody
    sees it), or None. A login start does not see the shell's variables, so only the config
    file and the project of Application Default Credentials count; a bad config is a problem
    too."""
    from trayapp import paths
    from trayapp.config import ConfigError, load
    from trayapp.settings import names

    for project in projects:
        try:
            names.project(project)
        except names.BadName as exc:
            return f"--project: {exc}"
    config = paths.config_file()
    try:
        settings = load(config)
    except ConfigError as exc:
        return f"the login start would stop at the config: {exc}"
    if projects or settings.projects:
        return None
    from trayapp.sources.fetcher.source import detect_project

    if detect_project():
        return None
    return (
        f"no project to warm at login: pass --project ID, or set projects in {config}"
        " (a login start does not see GOOGLE_CLOUD_PROJECT from your shell)"
    )


def autostart_command(action: str, projects: Sequence[str] = ()) -> int:
    """0 done (status: installed), 3 status when not installed, 1 when it cannot be written,
    2 when install would start something that cannot warm (no project, a bad config)."""
    if action not in ACTIONS:
        raise ValueError(f"autostart: expected one of {', '.join(ACTIONS)}, not {action!r}")
    if projects and action != "install":
        raise ValueError(f"autostart {action} takes no --project")
    if action == "install":
        problem = login_project_problem(projects)
        if problem is not None:
            print(f"quota-tray: autostart not installed: {problem}", file=sys.stderr)
            return 2
    try:
        entry = entry_for(command=launch_with(projects))
        if action == "status":
            installed, text = status(entry, lambda named: entry_for(command=launch_with(named)))
            print(text)
            return 0 if installed else 3
        print(install(entry) if action == "install" else remove(entry))
    except OSError as exc:
        print(f"quota-tray: autostart {action} failed: {exc}", file=sys.stderr)
        return 1
    return 0
