"""The terminal view shows each ``[[launch]]`` the cache names, one line each as the tray says
it, above the table; from files a real warm cycle wrote (emulator, real clients). A cache
without launches shows the view as it was."""

from __future__ import annotations

from launch_docs import COMPUTE, COMPUTE_LINES, PLAIN, VERTEX, VERTEX_LINES, warm
from tui_pilot import cells, drive, until

from trayapp.tui.app import QuotaApp


def launches_box(app: QuotaApp):
    return app.query_one("#launches")


def test_the_launches_are_above_the_table(tmp_path, make_emulator):
    _, path = warm(tmp_path / "home", make_emulator(), COMPUTE)
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        box = launches_box(app)
        await until(pilot, lambda: box.has_class("-shown"))
        first, advice, *rest = str(box.render()).splitlines()
        assert [first, *rest] == COMPUTE_LINES
        assert advice.startswith("  capacity: us-central1 likely (")  # under the launch it is of
        # above the table: drawn higher on the screen
        assert box.region.y < app.active_table.region.y
        assert box.region.height == len(COMPUTE_LINES) + 1
        assert len(cells(app)) == 5  # the checks as ever

    drive(app, scenario)


def test_a_launch_that_fits_only_on_a_limit_says_so(tmp_path, make_emulator):
    _, path = warm(tmp_path / "home", make_emulator(), VERTEX)
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads and launches_box(app).has_class("-shown"))
        assert str(launches_box(app).render()) == "\n".join(VERTEX_LINES)

    drive(app, scenario)


def test_without_a_launch_nothing_is_shown(tmp_path, make_emulator):
    _, path = warm(tmp_path / "home", make_emulator(), PLAIN)
    app = QuotaApp(path)

    async def scenario(pilot):
        await until(pilot, lambda: app.loads)
        box = launches_box(app)
        assert not box.has_class("-shown") and box.region.height == 0
        assert str(box.render()) == ""

    drive(app, scenario)
