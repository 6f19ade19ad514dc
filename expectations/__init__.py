"""Great Expectations custom expectations (privacy, feature leakage, bias) and the suite builders that turn an
agreement's quality rules, privacy thresholds and bias checks into GX suites.

Importing this package registers the custom expectations and their metrics with GX.
"""

import os

# GX 1.x sends no usage statistics by itself any more, but the switch is honoured if a version does.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from expectations.bias import (
    ExpectDisparateImpactToBeAtLeast,
    ExpectGroupMetricsToNotDrift,
    ExpectGroupSharesToBeAtLeast,
    ExpectParityDifferenceToBeAtMost,
)
from expectations.leakage import (
    ExpectColumnToNotPredictLabel,
    ExpectColumnToNotRevealIdentifiers,
    ExpectUniqueRowShareToBeAtMost,
)
from expectations.privacy import (
    ExpectColumnValuesToHaveNoResidualPii,
    ExpectQuasiIdentifiersToBeKAnonymous,
    ExpectReidentificationRiskToBeAtMost,
    ExpectSensitiveColumnToBeLDiverse,
)

__all__ = [
    "ExpectColumnToNotPredictLabel",
    "ExpectColumnToNotRevealIdentifiers",
    "ExpectColumnValuesToHaveNoResidualPii",
    "ExpectDisparateImpactToBeAtLeast",
    "ExpectGroupMetricsToNotDrift",
    "ExpectGroupSharesToBeAtLeast",
    "ExpectParityDifferenceToBeAtMost",
    "ExpectQuasiIdentifiersToBeKAnonymous",
    "ExpectReidentificationRiskToBeAtMost",
    "ExpectSensitiveColumnToBeLDiverse",
    "ExpectUniqueRowShareToBeAtMost",
]
