"""Shared test set-up: no test ever talks to Google or the metadata server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["NO_GCE_CHECK"] = "true"
sys.path.insert(0, str(Path(__file__).parent))

from emulator_fixtures import make_emulator  # noqa: F401 - shared fixture
