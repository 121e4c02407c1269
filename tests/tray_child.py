"""A TrayApp in a process of its own, driven over stdin/stdout by the desktop tests.

pystray picks its backend once, at import, so each backend needs a fresh process. The test
sends JSON commands, one per line; every command gets one JSON reply line. Controller calls are
appended to the file named by ``--calls``, one name per line.

    python tests/tray_child.py --calls FILE --total 38
    {"cmd": "event", "kind": "BATCH_WARM", "done": 15, "elapsed_ms": 812, "level": "fire"}
    {"cmd": "state"}
    {"cmd": "advance", "seconds": 240}   # the tray's wall clock moves on
    {"cmd": "troubles", "shown": [LINE], "new": [LINE]}   # something keeps failing
    {"cmd": "menu"}      # GTK: the open menu's items with their places on the screen
    {"cmd": "chart", "history": FILE, "out": FILE.png}   # draw the stats chart here
    {"cmd": "stop"}
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trayapp.ui.tray import TrayApp
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level


class RecordingController:
    """Writes every call to a file so the test process can see it."""

    def __init__(self, calls: Path) -> None:
        self._calls = calls
        self._paused = False
        self._lock = threading.Lock()

    def _record(self, name: str) -> None:
        with self._lock, self._calls.open("a") as out:
            out.write(name + "\n")
            out.flush()

    @property
    def paused(self) -> bool:
        return self._paused

    def force_rewarm(self) -> None:
        self._record("force_rewarm")

    def pause(self) -> None:
        self._paused = True
        self._record("pause")

    def resume(self) -> None:
        self._paused = False
        self._record("resume")


class FakeNotifier:
    def __init__(self) -> None:
        self.enabled = True
        self.posted: list[list[str]] = []  # (title, message) of each notice posted

    def post(self, *notices: Any) -> None:
        self.posted.extend([n.title, n.message] for n in notices)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled


def mesa_kb() -> int:
    """Resident kB of Mesa's GL (libLLVM, a DRI driver, libGL) mapped into this process."""
    total, counting = 0, False
    with Path("/proc/self/smaps").open() as smaps:
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and not head[0].endswith(":"):
                path = head[5] if len(head) > 5 else ""
                counting = any(part in path for part in ("libLLVM", "/dri/", "libGLX_mesa"))
            elif counting and head and head[0] == "Rss:":
                total += int(head[1])
    return total


def make_event(spec: dict[str, Any], total: int) -> Event:
    done = int(spec.get("done", 0))
    gpu_total = total // 2
    gpu_done = min(done, gpu_total)
    progress = Progress(gpu_done, gpu_total, done - gpu_done, total - gpu_total)
    level = spec.get("level")
    return Event(
        kind=WarmEvent[spec["kind"]],
        cycle=int(spec.get("cycle", 1)),
        progress=progress,
        elapsed_ms=spec.get("elapsed_ms"),
        level=Level(level) if level else None,
        message=spec.get("message", ""),
        error_kind=spec.get("error_kind"),
        data=spec.get("data", {}),
        snapshot=spec.get("snapshot"),
    )


def _items_of(menu: Any) -> list[dict[str, Any]]:
    """A GTK menu's items in root-window coordinates, with any open submenu's items."""
    toplevel = menu.get_toplevel()
    _, ox, oy = toplevel.get_window().get_origin()
    items = []
    for child in menu.get_children():
        x, y = child.translate_coordinates(toplevel, 0, 0)
        alloc = child.get_allocation()
        label = child.get_label() if hasattr(child, "get_label") else None
        entry = {
            "label": label,
            "x": ox + x,
            "y": oy + y,
            "width": alloc.width,
            "height": alloc.height,
            "sensitive": child.get_sensitive(),
        }
        submenu = child.get_submenu() if hasattr(child, "get_submenu") else None
        if submenu is not None and submenu.get_visible():
            entry["submenu"] = _items_of(submenu)
        items.append(entry)
    return items


def menu_items(tray: TrayApp, timeout: float = 5.0) -> dict[str, Any]:
    """The open GTK menu's items in root-window coordinates, read on the GTK thread."""
    from gi.repository import GLib

    result: dict[str, Any] = {}
    done = threading.Event()

    def collect() -> bool:
        try:
            handle = getattr(tray.icon, "_menu_handle", None)
            if handle is None or not handle.get_visible():
                result["visible"] = False
                return False
            result.update(visible=True, items=_items_of(handle))
        finally:
            done.set()
        return False

    GLib.idle_add(collect)
    if not done.wait(timeout):
        return {"error": "the GTK main loop did not answer"}
    return result


def main() -> int:
    faulthandler.register(signal.SIGUSR1)  # stacks to stderr, for a test that finds it hung
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=Path, required=True)
    parser.add_argument("--total", type=int, default=38)
    args = parser.parse_args()

    out_lock = threading.Lock()

    def reply(message: dict[str, Any]) -> None:
        with out_lock:
            sys.stdout.write(json.dumps(message) + "\n")
            sys.stdout.flush()

    controller = RecordingController(args.calls)
    skew = [0.0]  # {"cmd": "advance", "seconds": S} moves the tray's wall clock on
    notifier = FakeNotifier()
    tray = TrayApp(
        controller,
        total=args.total,
        notifier=notifier,  # type: ignore[arg-type]
        on_quit=lambda: controller._record("quit"),
        log_path=args.calls,
        cache_dir=args.calls.parent,
        opener=lambda path: controller._record(f"open {getattr(path, 'name', path)}"),
        show_stats=lambda: controller._record("show stats"),
        clock=lambda: time.time() + skew[0],
        age_every_s=0.2,
    )

    def state() -> dict[str, Any]:
        display = tray.display
        return {
            "backend": tray.backend,
            "shown": tray.shown,
            "key": display.key,
            "text": display.text,
            "title": tray.icon.title,
            "push_counts": dict(tray.push_counts),
            "notifications": notifier.enabled,
            "paused": controller.paused,
            "copied": list(tray.copied),
            "posted": list(notifier.posted),
            "gdk_gl": os.environ.get("GDK_GL"),  # what a program the tray opens would inherit
            "mesa_kb": mesa_kb(),
        }

    def serve() -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                command = json.loads(line)
                name = command.get("cmd")
                if name == "event":
                    tray.on_event(make_event(command, args.total))
                    reply({"ok": True, **state()})
                elif name == "troubles":  # what keeps failing began or ended
                    tray.show_troubles(command["shown"], command["new"])
                    reply({"ok": True, **state()})
                elif name == "advance":
                    skew[0] += float(command["seconds"])
                    reply({"ok": True})
                elif name == "state":
                    reply({"ok": True, **state()})
                elif name == "menu":
                    reply({"ok": True, **menu_items(tray)})
                elif name == "chart":  # as "Show stats" draws it, in this GTK process
                    from trayapp import history
                    from trayapp.ui import plot

                    series = history.series(command["history"], None)
                    plot.draw_chart(series, command["out"])
                    reply({"ok": True})
                elif name == "stop":
                    reply({"ok": True})
                    tray.stop()
                    return
                else:
                    reply({"ok": False, "error": f"unknown command {name!r}"})
            except Exception as exc:
                reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        tray.stop()  # the test went away: do not linger

    threading.Thread(target=serve, name="commands", daemon=True).start()
    tray.run()
    reply({"exited": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
