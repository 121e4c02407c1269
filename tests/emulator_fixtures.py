"""Pytest fixtures around the Compute API emulator and the real Compute source.

Import them into a conftest or a test module with ``from emulator_fixtures import *``. Nothing
here sends a byte anywhere but 127.0.0.1, and google-auth never probes the metadata server.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trayapp.emulator.server import Emulator
from trayapp.sources.compute import ComputeSource

os.environ["NO_GCE_CHECK"] = "true"

__all__ = ["emulator", "make_compute_source", "make_emulator", "no_adc", "refused_url"]

_PROJECT_VARS = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT")


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Factory: ``make_emulator(latency=..., faults=[...])`` -> a started Emulator; all are
    stopped at teardown, hung requests included."""
    started: list[Emulator] = []

    def make(**kwargs: object) -> Emulator:
        emulator = Emulator(**kwargs)  # type: ignore[arg-type]
        emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., Emulator]) -> Emulator:
    """A started emulator on a free loopback port, no latency, no faults."""
    return make_emulator()


@pytest.fixture
def make_compute_source() -> Iterator[Callable[..., ComputeSource]]:
    """Factory for ComputeSource (``endpoint``, ``timeout_s``), closed at teardown."""
    made: list[ComputeSource] = []

    def make(endpoint: str | None = None, timeout_s: float = 5.0) -> ComputeSource:
        source = ComputeSource(endpoint, timeout_s=timeout_s)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


@pytest.fixture
def no_adc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An environment without Application Default Credentials: empty HOME and gcloud config,
    no GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_CLOUD_QUOTA_PROJECT, no project variables, no
    metadata-server probe."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(home / ".config" / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_QUOTA_PROJECT", raising=False)
    for name in _PROJECT_VARS:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def refused_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` where the port is bound but not listening: connections are
    refused, and no other process can take the port meanwhile."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
