"""Where the agreements are, for everything that looks for them (the DAG files, the plugin, retention, the CLI):
$PACTLINE_AGREEMENTS, else include/agreements of this checkout, wherever the process runs from."""

from __future__ import annotations

import os
from pathlib import Path

AGREEMENTS_ENV = "PACTLINE_AGREEMENTS"
DEFAULT_AGREEMENTS = Path(__file__).resolve().parents[2] / "include" / "agreements"


def agreements_folder() -> Path:
    return Path(os.environ.get(AGREEMENTS_ENV) or DEFAULT_AGREEMENTS)
