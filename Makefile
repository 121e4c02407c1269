# make demo: virtualenv, install, run against the built-in Compute API emulator.
# make test: install what the tests need (Debian packages too, when root), then run them all.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DESKTOP_PACKAGES := $(shell cat tests/desktop-packages.txt 2>/dev/null)

.PHONY: demo test lint bench install desktop-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Installed once, and again only when pyproject.toml changes (the install is editable: code
# changes need none).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[tui]'
	@touch $@

install: $(VENV)/.installed

demo: install
	@echo "quota-tray is installed in $(VENV): run $(BIN)/quota-tray (show, status, ...)," \
	    "or install it on your PATH with: pipx install ."
	$(BIN)/quota-tray demo

# Debian packages for the desktop tests (Xvfb, tray host, D-Bus, notification daemon, and the
# headers PyGObject builds against). Installed only when missing, and only as root.
desktop-deps:
	@missing=$$(for p in $(DESKTOP_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
	    echo "desktop tests need: sudo apt-get install $$missing"; \
	fi

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,tui]'
	@touch $@

# PyGObject (the GTK tray) builds against the headers desktop-deps installs, so it comes after
# them. Its stamp is written only when it installed: a failed build is tried again next time
# (with CI=true it stops the run; otherwise the GTK tray tests say what is missing).
$(VENV)/.installed-gtk: pyproject.toml | $(BIN)/python desktop-deps
	@if $(BIN)/python -m pip install -q -e '.[gtk]'; then touch $@; \
	elif [ "$$CI" = true ]; then echo "PyGObject did not install (CI=true): see above" >&2; exit 1; \
	else echo "PyGObject did not install: the GTK tray tests will say what is missing"; fi

test: $(VENV)/.installed-test desktop-deps $(VENV)/.installed-gtk
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(BIN)/python
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
