"""Keep SDV local and quiet.

SDV sends nothing over the network unless its demo datasets are asked for (sdv.datasets, S3),
which Pactline never calls. Its only usage telemetry is a CSV log of synthesizer events under
the user's data directory, off by default (log_registry: null) but switchable by a config
file; the loggers are disabled here so no configuration can turn it on for Pactline's runs.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

SDV_USAGE_LOGGERS = ("SingleTableSynthesizer", "MultiTableSynthesizer", "Metadata", "SingleTableMetadata")

# Warnings SDV/sdmetrics emit on every normal run; none of them asks for action here.
_NOISE = (
    r".*does not cover the full range.*",
    r".*num_rows_subsample.*",
    r".*real_validation_data contains.*",
    r".*saving a synthesizer that has not yet been fitted.*",
    r".*Replacing the default transformer.*",
    r".*The .SingleTableMetadata. is deprecated.*",
    r".*strongly recommend saving the metadata.*",
)


def disable_sdv_usage_logs() -> None:
    for name in SDV_USAGE_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.disabled = True


@contextlib.contextmanager
def sdv_quiet() -> Iterator[None]:
    disable_sdv_usage_logs()
    with warnings.catch_warnings():
        for pattern in _NOISE:
            warnings.filterwarnings("ignore", message=pattern)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield
