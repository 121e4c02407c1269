"""The house rules of trayapp/, checked on the source itself (docs/architecture.md says why).

Modules stay small, the top level stays short, no two modules import each other (a lazy import
inside a function or under TYPE_CHECKING ties them just the same), the core imports nothing
outside the standard library, and importing the core loads no Google or desktop library.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "trayapp"

MAX_LINES = 300
MAX_TOP_LEVEL = 16
# The core: the engine and the readers' API (with the launch verdict, read from the cache).
# Standard library and trayapp only.
CORE = (
    "trayapp.warming",
    "trayapp.cache",
    "trayapp.cache_validate",
    "trayapp.answers",
    "trayapp.launch",
)
# Also standard library only, because the core imports them.
CORE_HELPERS = (
    "trayapp.safety",
    "trayapp.sources.base",
    "trayapp.sources.compute_family",
    "trayapp.sources.quota_rule",
    "trayapp.sources.quota_names",
    "trayapp.sources.vertex",
    "trayapp.sources.cloudbuild",
    "trayapp.sources.usage",
    "trayapp.sources.capacity",
    "trayapp.sources.preference_states",
)
HEAVY = ("google", "gi", "pystray", "PIL", "plyer", "textual")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@cache
def imported(name: str) -> frozenset[str]:
    """Every module ``name`` imports anywhere in its file: at the top, inside functions and
    under TYPE_CHECKING. A ``from a import b`` names ``a.b`` when that is a module, else ``a``."""
    path = modules()[name]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package this module is in
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules() else base)
    return frozenset(found)


def top(name: str) -> str:
    return name.partition(".")[0]


def third_party(name: str) -> list[str]:
    return sorted(
        m
        for m in imported(name)
        if top(m) not in sys.stdlib_module_names and top(m) not in ("trayapp", "__future__")
    )


def import_graph() -> dict[str, set[str]]:
    names = modules()
    return {n: {m for m in imported(n) if m in names and m != n} for n in names}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = [stack.pop()]
            while group[-1] != v:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_stays_under_the_line_limit():
    over = {}
    for path in modules().values():
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            over[rel] = lines
    assert not over, f"over {MAX_LINES} lines: split by concern: {over}"


def test_the_top_level_stays_short():
    direct = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(direct) <= MAX_TOP_LEVEL, f"{len(direct)} modules in trayapp/: {direct}"


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, f"modules that import each other (lazily or not): {found}"


def test_a_lazy_import_counts_as_an_edge():
    """The graph sees an import inside a function: cache.py imports paths only there."""
    assert "trayapp.paths" in imported("trayapp.cache")


@pytest.mark.parametrize("name", [n for n in modules() if under(n, CORE + CORE_HELPERS)], ids=str)
def test_the_core_imports_only_the_standard_library(name):
    assert third_party(name) == [], f"{name} imports {third_party(name)}"


def package_inits() -> list[Path]:
    return sorted(PACKAGE.rglob("__init__.py"))


@pytest.mark.parametrize("init", package_inits(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_package_opens_with_what_it_holds_and_may_import(init):
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc, f"{init.relative_to(ROOT)} has no opening docstring"
    assert "import" in doc, f"{init.relative_to(ROOT)}: the docstring says what it may import"


LOADED = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted({m.partition(".")[0] for m in sys.modules})))
"""


def loaded_by(name: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", LOADED, name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    import json

    return set(json.loads(out.stdout))


@pytest.mark.parametrize(
    "name", ["trayapp", *(n for n in modules() if under(n, CORE + CORE_HELPERS))], ids=str
)
def test_importing_the_core_loads_no_heavy_library(name):
    heavy = sorted(loaded_by(name) & set(HEAVY))
    assert heavy == [], f"import {name} loads {heavy}"


def test_the_bundle_names_only_modules_that_exist():
    """The spec's hidden imports follow a module when it moves (the package list is checked
    by tests/cli/test_packaging.py); a stale name would only fail the slow build."""
    import re

    spec = (ROOT / "packaging" / "quota-tray.spec").read_text()
    hidden = set(re.findall(r'"(trayapp(?:\.\w+)+)"', spec))
    assert hidden, "the spec names the modules the fetcher imports by name"
    assert hidden <= set(modules()), sorted(hidden - set(modules()))


# Bases a class in the engine may have: the engine is composed of objects, never of mixins.
PLAIN_BASES = {"Protocol", "Exception", "Enum", "StrEnum", "NamedTuple"}


def test_the_engine_is_composed_not_mixed_in():
    """A class in trayapp/warming inherits no behaviour from another of our classes: the
    scheduler holds its collaborators (batch runner, healing, failures) as objects."""
    mixed = {}
    for name, path in modules().items():
        if not under(name, ("trayapp.warming",)):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                if [b for b in bases if b not in PLAIN_BASES]:
                    mixed[f"{name}.{node.name}"] = bases
    assert not mixed, f"compose these instead of inheriting: {mixed}"


def reachable(start: str, graph: dict[str, set[str]]) -> set[str]:
    """Every trayapp module ``start`` imports, directly or through the modules it imports."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for found in graph[todo.pop()] - seen:
            seen.add(found)
            todo.append(found)
    return seen


def test_the_emulator_holds_its_own_data_not_the_warmers():
    """The emulator stands in for Google: a table or default it took from the warmer would
    make the tests compare the warmer with itself. Nothing of trayapp.warming, even through
    another module."""
    graph = import_graph()
    borrowed = {
        name: sorted(m for m in reachable(name, graph) if under(m, ("trayapp.warming",)))
        for name in graph
        if under(name, ("trayapp.emulator",))
    }
    borrowed = {name: found for name, found in borrowed.items() if found}
    assert not borrowed, f"the emulator imports the warmer: {borrowed}"


# What the launch verdict may read: the readers' API and the words, never the warmer or a face.
LAUNCH_MAY_IMPORT = (
    "trayapp.launch",
    "trayapp.answers",
    "trayapp.cache",
    "trayapp.words",
    "trayapp.safety",
    "trayapp.sources.quota_names",
)


def test_the_launch_verdict_reads_only_the_readers_api():
    """``trayapp.launch`` judges what the cache says; a table or rule it took from the warmer,
    the config or a surface would tie the verdict to them (docs/architecture.md)."""
    strays = {
        name: sorted(
            m for m in imported(name) if top(m) == "trayapp" and not under(m, LAUNCH_MAY_IMPORT)
        )
        for name in modules()
        if under(name, ("trayapp.launch",))
    }
    strays = {name: found for name, found in strays.items() if found}
    assert not strays, f"trayapp.launch imports beyond the readers' API: {strays}"
