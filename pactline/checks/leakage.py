"""Feature-leakage measurements (privacy.feature_leakage): which released columns give away the label or a
person's identifier, as scores and counts only. Whether a score passes is pactline.checks.verdicts' business.

    leakage_columns(agreement, dataset, present) -> LeakageColumns   what each rule looks at in one dataset
    label_scores(features, label) -> {"rows", "single_feature_auc", "normalised_mutual_information"}
    unique_rows(frame, columns) -> {"rows", "unique_rows"}
    identifier_mapping(column, identifier, *, carried) -> {"rows", "pairs", "distinct_column",
                                                           "distinct_identifier"[, "carried", "checked"]}

Label leakage. A column's power to predict the label on its own, two ways:
- single-feature AUC (binary labels): the column's categories (numeric and date columns in up to BINS quantile
  bins, nulls a category of their own) are the only feature of a cross-validated model: in each of FOLDS
  stratified folds, scikit-learn's TargetEncoder learns each category's (smoothed) positive rate on the other
  folds, the fold's rows are scored with it and ranked against the label (roc_auc_score); the mean over folds.
  Out of fold matters: scored in-sample, a row-unique column (an id, a timestamp) would predict its own row's
  label perfectly; out of fold its categories are unseen and it predicts nothing (AUC 0.5), while a label in
  disguise scores 1 and a proxy that agrees with the label on 99% of rows about 0.99. AUC does not depend on
  which label value is called positive.
- normalised mutual information between the column's categories and the label (scikit-learn's
  normalized_mutual_info_score, arithmetic normalisation), for any label. High-cardinality columns are
  penalised by the normalisation, so it flags near-copies of the label rather than ids.
Not covered: a label spelled out inside free text ("readmitted: yes" in a note); each note is its own category.

Identity leakage.
- unique rows: the share of released rows whose combination of the identity columns (by default the released
  quasi-identifiers and protected attributes: what an attacker can know about a person from elsewhere) occurs
  once. It covers every such column, not only k-anonymity's list; nulls match nulls.
- identifier mapping: for a released column and a raw identifier of the same rows (a dropped or pseudonymised
  column, as mapped before protection), on the rows where both are present:
    one-to-one  distinct (column, identifier) pairs == distinct column values == distinct identifiers, over at
                least two identifiers of which some has several rows (a column unique row by row is one-to-one
                with every identifier that is too: a row key, not a person's), identifiers compared case- and punctuation-blind as a pseudonym's
                normalisation would (a partner's "K-123 456" and "k123456" are one person): the column's value
                names the person (a "non-personal" reference number
                that is the case id in another form). Not asked of free text (each note is unique anyway; what
                matters there is whether the identifier is in it).
    carried     rows whose text holds the row's own identifier: the whole value (at least MIN_LEN characters,
                not inside a longer word or number), or its longest run of digits (at least MIN_DIGITS, not
                inside a longer number), case-insensitively. "case 2024001 seen by ..." carries "FN-2024001".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pactline.agreement.model import Agreement, Dataset

BINS = 20  # quantile bins for a numeric or date column with more distinct values than this
FOLDS = 5  # cross-fitting folds of the target encoding
SEED = 0  # the folds are shuffled reproducibly: the same data gives the same score
MIN_LEN = 4  # as pactline.pipeline.known_identifiers: shorter values ("Li", "42") match ordinary words
MIN_DIGITS = 5  # a shorter digit run (a year, a house number) says nothing about whose row it is
RAW_PREFIX = "__pactline_raw__."  # the raw identifiers' columns in a frame beside the released ones
# released as per-subject tokens or placeholders: their uniqueness is agreed (the key guards a pseudonym)
TOKEN_KINDS = frozenset({"pseudonymise", "encrypt", "redact"})
_DIGITS = re.compile(r"\d+")
# what a check says when the identifier mapping could not be measured
NOT_GIVEN = "identifier mapping: the raw identifiers of dataset {dataset} were not given to the check"
UNALIGNED = ("identifier mapping: the released rows of dataset {dataset} could not be aligned with their raw "
             "identifiers")


def raw_column(identifier: str) -> str:
    """The name a raw identifier's column takes in a frame beside the released columns."""
    return RAW_PREFIX + identifier


@dataclass(frozen=True)
class LeakageColumns:
    """What privacy.feature_leakage looks at in one dataset's released columns (see leakage_columns)."""

    label: str | None = None
    features: list[str] = field(default_factory=list)  # scored against the label
    identity_columns: list[str] = field(default_factory=list)  # unique-row share
    identifiers: list[str] = field(default_factory=list)  # raw identifiers (mapped column names)
    candidates: list[str] = field(default_factory=list)  # released columns tested against the identifiers
    free_text: list[str] = field(default_factory=list)  # candidates tested for carried identifiers only
    skipped: list[str] = field(default_factory=list)


def leakage_label(agreement: Agreement, ds: Dataset) -> str | None:
    """The label of one dataset: feature_leakage.label when the dataset declares it, else its bias check's
    label, else its column declared `label` (the privacy block applies to every dataset, each has its own)."""
    fl = agreement.privacy.feature_leakage
    if fl is not None and fl.label in ds.columns:
        return fl.label
    for b in agreement.bias_checks:
        if b.dataset == ds.id:
            return b.label
    return next((n for n, c in ds.columns.items() if c.category == "label"), None)


def leakage_columns(agreement: Agreement, ds: Dataset, present: Iterable[str]) -> LeakageColumns:
    """The label, features, identity columns, identifiers and candidate columns of `ds` for its released
    columns `present`; what does not apply is said in `skipped`. Empty when the agreement asks no leakage gate."""
    fl = agreement.privacy.feature_leakage
    if fl is None:
        return LeakageColumns()
    present = list(present)
    skipped: list[str] = []
    label = leakage_label(agreement, ds)
    if label is None or label not in present:
        skipped.append(f"label leakage: dataset {ds.id} releases no label column")
        label = None
    elif fl.max_single_feature_auc is None and fl.max_normalised_mutual_information is None:
        label = None
    features = [c for c in present if c != label] if label else []

    if fl.identity_columns == "auto":
        identity = [c for c in present if c in ds.columns
                    and ds.columns[c].category in ("quasi_identifier", "protected_attribute")
                    and ds.columns[c].transformation.kind not in TOKEN_KINDS and ds.columns[c].type != "text"]
    else:
        identity = [c for c in fl.identity_columns if c in present]
    if fl.max_unique_row_share is not None and not identity:
        skipped.append(f"unique rows: no identity column is released in dataset {ds.id}")

    if fl.identifiers == "auto":
        identifiers = [n for n, c in ds.columns.items()
                       if c.category == "direct_identifier" or c.transformation.kind == "pseudonymise"]
    else:
        identifiers = [c for c in fl.identifiers if c in ds.columns]
    # an identifier's own released form is what the agreement decided for it; tokens are agreed keys
    candidates = [c for c in present if c not in identifiers and c != label
                  and not (c in ds.columns and ds.columns[c].transformation.kind in TOKEN_KINDS)]
    if identifiers and not candidates:
        skipped.append(f"identifier mapping: dataset {ds.id} releases no column to test against its identifiers")
    if not identifiers:
        skipped.append(f"identifier mapping: dataset {ds.id} has no dropped or pseudonymised identifier")
    free_text = [c for c in candidates if c in ds.columns and ds.columns[c].type == "text"]
    return LeakageColumns(label=label, features=features, identity_columns=identity if fl.max_unique_row_share
                          is not None else [], identifiers=identifiers if candidates else [],
                          candidates=candidates if identifiers else [], free_text=free_text, skipped=skipped)


# -- label leakage ---------------------------------------------------------------------------------


def categories(values: pd.Series, bins: int = BINS) -> np.ndarray:
    """Integer codes of a column's values: numbers and dates with more than `bins` distinct values in quantile
    bins, anything else by value; null is a category of its own."""
    s = values.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(s):
        s = pd.Series(s.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")).where(s.notna())
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        numbers = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan))
        if numbers.nunique() > bins:
            s = pd.qcut(numbers, q=bins, duplicates="drop")
    codes, _ = pd.factorize(s, use_na_sentinel=False)
    return np.asarray(codes)


def single_feature_auc(codes: np.ndarray, target: np.ndarray, *, folds: int = FOLDS, seed: int = SEED) -> float | None:
    """Cross-validated ROC AUC of the column's categories as the only feature: in each of `folds` stratified
    folds, the categories are target-encoded on the other folds and the fold's rows ranked by their category's
    encoding; the mean over the folds. None when either label value has fewer than two rows (nothing to rank).

    Scored per fold, every row of a category in a fold gets the same score, so the ranking inside a category is a
    tie (0.5), as it should be; pooled across folds, each fold's own rows would pull its encoding against them."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    fewest = int(min(target.sum(), len(target) - target.sum()))
    if fewest < 2:
        return None
    x = codes.reshape(-1, 1)
    scores = []
    for train, test in StratifiedKFold(n_splits=min(folds, fewest), shuffle=True, random_state=seed).split(x, target):
        encoder = TargetEncoder(target_type="binary", random_state=seed).fit(x[train], target[train])
        scores.append(roc_auc_score(target[test], encoder.transform(x[test]).ravel()))
    return float(np.mean(scores))


def label_scores(feature: pd.Series, label: pd.Series) -> dict[str, Any]:
    """How well `feature` alone predicts `label`, on the rows with a label: single-feature AUC (None unless the
    label takes exactly two values) and normalised mutual information (None without a labelled row)."""
    from sklearn.metrics import normalized_mutual_info_score

    labelled = label.reset_index(drop=True).notna().to_numpy()
    y = categories(label, bins=BINS)[labelled]
    x = categories(feature)[labelled]
    out: dict[str, Any] = {"rows": int(labelled.sum()), "single_feature_auc": None,
                           "normalised_mutual_information": None}
    if not len(y):
        return out
    out["normalised_mutual_information"] = float(normalized_mutual_info_score(y, x))
    values = np.unique(y)
    if len(values) == 2:
        out["single_feature_auc"] = single_feature_auc(x, (y == values[1]).astype(int))
    return out


# -- identity leakage ------------------------------------------------------------------------------


def unique_rows(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, int]:
    """Rows, and rows whose combination of `columns` no other row shares (nulls equal to nulls)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(missing)} are not in the data")
    if not len(frame):
        return {"rows": 0, "unique_rows": 0}
    keys = frame[list(columns)].astype(object)
    return {"rows": len(frame), "unique_rows": int((~keys.duplicated(keep=False)).sum())}


def _bounded(text: str, part: str, inside: Any) -> bool:
    """`part` occurs in `text` with no character `inside` accepts right before or after it."""
    i = text.find(part)
    while i >= 0:
        end = i + len(part)
        if (i == 0 or not inside(text[i - 1])) and (end == len(text) or not inside(text[end])):
            return True
        i = text.find(part, i + 1)
    return False


def carries(text: str, identifier: str) -> bool:
    """Whether `text` holds `identifier` (see the module docstring: whole value, or its longest digit run)."""
    t, value = text.casefold(), identifier.strip().casefold()
    if len(value) >= MIN_LEN and _bounded(t, value, str.isalnum):
        return True
    digits = max(_DIGITS.findall(value), key=len, default="")
    return len(digits) >= MIN_DIGITS and _bounded(t, digits, str.isdigit)


def textual(values: pd.Series) -> bool:
    """Whether a column's values are text (an identifier can be written into them), not numbers, dates or flags."""
    return not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values))


def identifier_mapping(column: pd.Series, identifier: pd.Series, *, carried: bool = True) -> dict[str, int]:
    """Counts of how `column` relates to `identifier`, row by row (both in the same row order), on the rows
    where both are present: the distinct pairs, column values and identifiers (one-to-one when all three are
    equal), and with `carried`, how many of the rows' values hold their own identifier."""
    column, identifier = column.reset_index(drop=True), identifier.reset_index(drop=True)
    both = (column.notna() & identifier.notna()).to_numpy()
    c, i = column[both].astype(object), identifier[both].astype(object)
    c_codes, _ = pd.factorize(c)
    # one person, however the partner wrote their identifier ("K-123 456", "k123456"): the normalisations a
    # pseudonym is taken after (strip, upper/lower, alnum_only) all agree on this canonical form
    i_codes, _ = pd.factorize(i.map(str).str.casefold().str.replace(r"[\W_]+", "", regex=True))
    pair_codes = c_codes.astype(np.int64) * (len(i_codes) + 1) + i_codes  # one number per (value, identifier)
    out = {"rows": int(both.sum()), "distinct_column": len(np.unique(c_codes)),
           "distinct_identifier": len(np.unique(i_codes)), "pairs": len(np.unique(pair_codes))}
    if carried:
        out["carried"] = sum(carries(str(t), str(v)) for t, v in zip(c.tolist(), i.tolist(), strict=True))
        out["checked"] = out["rows"]
    return out


__all__ = ["BINS", "FOLDS", "MIN_DIGITS", "MIN_LEN", "NOT_GIVEN", "RAW_PREFIX", "TOKEN_KINDS", "UNALIGNED",
           "LeakageColumns", "carries",
           "categories", "identifier_mapping", "label_scores", "leakage_columns", "leakage_label", "raw_column",
           "single_feature_auc", "textual", "unique_rows"]
