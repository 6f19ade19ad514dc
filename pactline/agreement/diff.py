"""Amendments, diffed and classified: what changed between two agreement versions, and for whom.

A DPO reads a diff for one question: does the recipient get more, or does a protection get
weaker? Each change is classified `widening` (more for the recipient, weaker protection),
`narrowing` (stricter) or `neutral` (wording only). Anything without a rule here is widening:
a change nobody classified must not slip through as harmless.

Both agreements are compared on their canonical dump (the form the fingerprint hashes), so
comments, key order and defaults written out or left implicit are no change. List items are
keyed by what identifies them (ids, grant principal/zone, rule dataset/column/rule), so
reordering a list is no change either.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pactline.agreement.model import Agreement

Kind = Literal["added", "removed", "changed"]
Effect = Literal["widening", "narrowing", "neutral"]
Rule = Callable[[Kind, Any, Any], tuple[Effect, str]]

UNCLASSIFIED = "unclassified change; treated as widening"


@dataclass(frozen=True)
class Change:
    path: str  # e.g. datasets[orders].columns.phone.transformation.kind
    kind: Kind
    old: Any  # JSON-able; large sub-trees summarised
    new: Any
    effect: Effect
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- walking the two dumps ----------------------------------------------------------------------

def _quality_key(r: dict[str, Any]) -> str:
    return "/".join(str(p) for p in (r.get("dataset"), r.get("column"), r.get("rule")) if p is not None)


# Lists whose items are keyed by what identifies them (pattern of the list -> key of an item).
_KEYED: dict[str, Callable[[dict[str, Any]], str]] = {
    "parties": lambda x: x["id"],
    "purposes": lambda x: x["id"],
    "datasets": lambda x: x["id"],
    "outputs": lambda x: x["id"],
    "restrictions": lambda x: x["id"],
    "access": lambda g: f"{g['principal']}/{g['zone']}",
    "quality_rules": _quality_key,
    "bias_checks": lambda b: b["dataset"],
    "transfers": lambda t: f"{t['from']}->{t['to']}",
    "model_evaluation": lambda m: m["purpose"],
    "model_evaluation[].fairness": lambda f: f["protected_attribute"],
}
# Lists of plain values whose order means nothing: each value added or removed is one change.
_SETS = {
    "purposes[].permitted_model_types", "access[].permissions", "restrictions[].forbidden_transformations",
    "restrictions[].categories", "privacy.k_anonymity.quasi_identifiers", "bias_checks[].protected_attributes",
    "quality_rules[].values",
}
# Mappings keyed by names the author chose (their keys are data, not fields).
_MAPS = {"datasets[].columns", "datasets[].schema_mapping"}
_TRANSFORMATION = "datasets[].columns.*.transformation"


@dataclass(frozen=True)
class _Raw:
    path: str
    pattern: str  # the path with list keys as [] and names as *: what the rules are keyed on
    kind: Kind
    old: Any
    new: Any


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(old: Any, new: Any) -> Kind:
    return "added" if old is None else "removed" if new is None else "changed"


def _pairs(old: list[dict[str, Any]], new: list[dict[str, Any]],
           key: Callable[[dict[str, Any]], str]) -> list[tuple[str, Any, Any]]:
    """(key, old item, new item) for every item of either list. Items sharing a key (two regex
    rules on one column) are matched as equal ones first; the rest are key#2, key#3, ..."""
    groups: dict[str, tuple[list[Any], list[Any]]] = {}
    for side, items in ((0, old), (1, new)):
        for item in items:
            groups.setdefault(key(item), ([], []))[side].append(item)
    out = []
    for k, (a, b) in groups.items():
        if len(a) <= 1 and len(b) <= 1:
            out.append((k, a[0] if a else None, b[0] if b else None))
            continue
        a, b, same = list(a), list(b), 0
        for x in list(a):
            if x in b:
                a.remove(x)
                b.remove(x)
                same += 1
        for i in range(max(len(a), len(b))):
            out.append((f"{k}#{same + i + 1}", a[i] if i < len(a) else None, b[i] if i < len(b) else None))
    return out


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _walk(old: Any, new: Any, path: str, pattern: str, out: list[_Raw]) -> None:
    if old == new:
        return
    if pattern == _TRANSFORMATION:
        _walk_transformation(old, new, path, out)
    elif isinstance(old, dict) and isinstance(new, dict):
        name_map = pattern in _MAPS
        for key in sorted(set(old) | set(new)):
            sub_path, sub_pattern = _join(path, key), _join(pattern, "*" if name_map else key)
            if key not in old:
                out.append(_Raw(sub_path, sub_pattern, "added", None, new[key]))
            elif key not in new:
                out.append(_Raw(sub_path, sub_pattern, "removed", old[key], None))
            else:
                _walk(old[key], new[key], sub_path, sub_pattern, out)
    elif isinstance(old, list) and isinstance(new, list) and pattern in _KEYED:
        for key, x, y in _pairs(old, new, _KEYED[pattern]):
            _walk(x, y, f"{path}[{key}]", f"{pattern}[]", out)
    elif isinstance(old, list) and isinstance(new, list) and pattern in _SETS:
        a, b = {_label(v): v for v in old}, {_label(v): v for v in new}
        for key in sorted(set(a) ^ set(b)):
            out.append(_Raw(f"{path}[{key}]", f"{pattern}[]", _kind(a.get(key), b.get(key)), a.get(key), b.get(key)))
    else:
        out.append(_Raw(path, pattern, _kind(old, new), old, new))


def _walk_transformation(old: Any, new: Any, path: str, out: list[_Raw]) -> None:
    """A kind (or generalise method) change is one change; within a kind, parameter by parameter."""
    pattern = _TRANSFORMATION
    if old is None or new is None:
        out.append(_Raw(path, pattern, _kind(old, new), old, new))
        return
    for field in ("kind", "method"):
        if old.get(field) != new.get(field):
            out.append(_Raw(f"{path}.{field}", f"{pattern}.{field}", "changed", old.get(field), new.get(field)))
            return
    old, new = dict(old), dict(new)
    if old.get("method") == "bands":  # width and edges are two spellings of one thing: the band size
        bands = [{k: t.pop(k, None) for k in ("width", "edges")} for t in (old, new)]
        if bands[0] != bands[1]:
            same = [k for k in ("width", "edges") if bands[0][k] is not None and bands[1][k] is not None]
            field = same[0] if same else "bands"
            pick = (lambda b: b[field]) if same else (lambda b: b)
            out.append(_Raw(f"{path}.{field}", f"{pattern}.bands", "changed", pick(bands[0]), pick(bands[1])))
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out.append(_Raw(f"{path}.{key}", f"{pattern}.{key}", _kind(old.get(key), new.get(key)),
                            old.get(key), new.get(key)))


# -- rules --------------------------------------------------------------------------------------

def _fixed(effect: Effect, why: str) -> Rule:
    return lambda kind, old, new: (effect, why)


def _item(on_add: Effect, what: str) -> Rule:
    """A whole item (output, grant, rule, a value of a set): adding it has `on_add`, removing it the reverse."""
    flip: dict[Effect, Effect] = {"widening": "narrowing", "narrowing": "widening", "neutral": "neutral"}

    def rule(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
        value = new if kind == "added" else old
        named = f"{what} {_label(value)}" if isinstance(value, (str, int, float, bool)) else what
        if kind == "added":
            return on_add, f"new {named}"
        if kind == "removed":
            return flip[on_add], f"{named} removed"
        return "widening", UNCLASSIFIED
    return rule


def _numeric(label: str, higher: Effect, words: tuple[str, str] = ("looser threshold", "stricter threshold")) -> Rule:
    """A number where going up has effect `higher`; `words` say (widening, narrowing). A bound that
    appears is narrowing, one that goes is widening."""
    lower: Effect = "narrowing" if higher == "widening" else "widening"

    def rule(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
        if kind == "added":
            return "narrowing", f"new bound: {label} {new}"
        if kind == "removed":
            return "widening", f"bound removed: {label} {old}"
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new)):
            return "widening", UNCLASSIFIED
        effect = higher if new > old else lower
        return effect, f"{words[0] if effect == 'widening' else words[1]}: {label} {old} -> {new}"
    return rule


def _ranked(label: str, strictest_first: list[Any], words: tuple[str, str] = ("weaker", "stronger")) -> Rule:
    """A value from a scale: a step towards its end is widening. Equal ranks are unclassified."""
    rank = {v: i for i, v in enumerate(strictest_first)}

    def rule(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
        if old not in rank or new not in rank or rank[old] == rank[new]:
            return "widening", f"{label} changed: {old} -> {new}; {UNCLASSIFIED}"
        wider = rank[new] > rank[old]
        return ("widening" if wider else "narrowing"), f"{words[0] if wider else words[1]} {label}: {old} -> {new}"
    return rule


def _flag(label: str, widening_value: Any) -> Rule:
    def rule(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
        return ("widening" if new == widening_value else "narrowing"), f"{label}: {_label(old)} -> {_label(new)}"
    return rule


def _date(label: str, later: Effect) -> Rule:
    earlier: Effect = "narrowing" if later == "widening" else "widening"

    def rule(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
        effect = later if str(new) > str(old) else earlier
        return effect, f"{'later' if str(new) > str(old) else 'earlier'} {label}: {old} -> {new}"
    return rule


def _subset(label: str, more: Effect) -> Rule:
    """A list read as a set (None = everything): more members has effect `more`."""
    fewer: Effect = "narrowing" if more == "widening" else "widening"

    def rule(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
        a, b = (None if v is None else set(map(_label, v)) for v in (old, new))
        if a is None or b is None:
            grew = a is not None
        elif a <= b or b <= a:
            grew = a <= b
        else:
            return "widening", f"{label} changed: {UNCLASSIFIED}"
        return (more if grew else fewer), f"{'more' if grew else 'fewer'} {label}"
    return rule


def _bands(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        wider = new < old
        return ("widening" if wider else "narrowing"), f"{'narrower' if wider else 'wider'} bands: width {old} -> {new}"
    if isinstance(old, list) and isinstance(new, list) and (set(old) <= set(new) or set(new) <= set(old)):
        wider = set(old) < set(new)  # more edges, finer bands, more told about each value
        why = f"{'finer' if wider else 'coarser'} bands: {len(old) - 1} -> {len(new) - 1}"
        return ("widening" if wider else "narrowing"), why
    return "widening", f"bands changed: {UNCLASSIFIED}"


_TRANSFORMATION_STRENGTH = ["drop", "redact", "pseudonymise", "encrypt", "generalise", "keep"]
# Same rank: none of these is clearly weaker than another (each keeps part of the value).
_SAME_RANK = {"date_shift": "generalise", "mask": "generalise", "redact_text": "generalise"}


def _transformation_kind(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
    rank = {k: i for i, k in enumerate(_TRANSFORMATION_STRENGTH)}
    a, b = (rank.get(_SAME_RANK.get(v, v)) for v in (old, new))
    if a is None or b is None or a == b:
        return "widening", f"transformation {old} -> {new}: {UNCLASSIFIED}"
    return ("widening", f"weaker transformation: {old} -> {new}") if b > a else \
        ("narrowing", f"stronger transformation: {old} -> {new}")


_PERSONAL = ["direct_identifier", "quasi_identifier", ("sensitive", "protected_attribute"), "label", "non_personal"]


def _category(kind: Kind, old: Any, new: Any) -> tuple[Effect, str]:
    scale = {v: i for i, group in enumerate(_PERSONAL) for v in (group if isinstance(group, tuple) else (group,))}
    if old in scale and new in scale and scale[old] != scale[new]:
        wider = scale[new] > scale[old]
        why = f"{'less' if wider else 'more'} protected category: {old} -> {new}"
        return ("widening" if wider else "narrowing"), why
    return "widening", f"category {old} -> {new}: {UNCLASSIFIED}"


_T = _TRANSFORMATION
_NEUTRAL = "wording only"
_RULES: dict[str, Rule] = {
    "metadata.title": _fixed("neutral", _NEUTRAL),
    "metadata.description": _fixed("neutral", _NEUTRAL),
    "metadata.version": _fixed("neutral", "version number"),
    "metadata.expires": _date("expiry", later="widening"),
    "metadata.effective": _date("effective date", later="narrowing"),
    "parties[]": _item("widening", "party"),
    "parties[].name": _fixed("neutral", _NEUTRAL),
    "parties[].contacts": _fixed("neutral", "contacts changed"),
    "parties[].public_key": _fixed("neutral", "party key changed: every party must sign again"),
    "purposes[]": _item("widening", "purpose"),
    "purposes[].description": _fixed("neutral", _NEUTRAL),
    "purposes[].permitted_model_types[]": _item("widening", "permitted model type"),
    "transfers[]": _item("widening", "transfer"),
    "transfers[].reference": _fixed("neutral", _NEUTRAL),
    "datasets[]": _item("widening", "dataset"),
    "datasets[].description": _fixed("neutral", _NEUTRAL),
    "datasets[].source.format": _fixed("neutral", "file format only"),
    "datasets[].source.delimiter": _fixed("neutral", "file format only"),
    "datasets[].source.partition_rows": _fixed("neutral", "processing in partitions only"),
    "datasets[].source.uri": _fixed("widening", "different source data"),
    "datasets[].schema_mapping.*": _fixed("widening", "schema mapping changed: another partner column feeds a column"),
    "datasets[].columns.*": _item("widening", "column"),
    "datasets[].columns.*.description": _fixed("neutral", _NEUTRAL),
    "datasets[].columns.*.category": _category,
    "datasets[].columns.*.nullable": _flag("nullable", True),
    # a hierarchy lets suppression release rows at coarser levels where it would otherwise stop or remove them:
    # the recipient may get rows it would not have, so any change is read as widening
    "datasets[].columns.*.hierarchy": _fixed("widening", "generalisation hierarchy changed: suppression may "
                                                         "release rows at other levels"),
    f"{_T}.kind": _transformation_kind,
    f"{_T}.examples": _fixed("neutral", "examples only"),
    f"{_T}.placeholder": _fixed("neutral", "placeholder text only"),
    f"{_T}.char": _fixed("neutral", "mask character only"),
    f"{_T}.prefix": _fixed("neutral", "pseudonym prefix only"),
    f"{_T}.other": _fixed("neutral", "label of rare categories only"),
    f"{_T}.n": _numeric("n", "widening", ("mask keeps more", "mask keeps fewer")),
    f"{_T}.keep_separators": _flag("mask keeps separators", True),
    f"{_T}.length": _numeric("pseudonym length", "widening", ("longer pseudonym", "shorter pseudonym")),
    f"{_T}.granularity": _ranked("date granularity", ["decade", "year", "quarter", "month"], ("finer", "coarser")),
    f"{_T}.bands": _bands,
    f"{_T}.keep": _numeric("keep", "widening", ("truncation keeps more", "truncation keeps less")),
    f"{_T}.min_count": _numeric("min_count", "narrowing", ("fewer rare categories merged",
                                                           "more rare categories merged")),
    f"{_T}.max_days": _numeric("max_days", "narrowing", ("smaller date shift", "larger date shift")),
    f"{_T}.entities": _subset("entities redacted in free text", "narrowing"),
    "restrictions[]": _item("narrowing", "restriction"),
    "restrictions[].description": _fixed("neutral", _NEUTRAL),
    "restrictions[].examples": _fixed("neutral", "examples only"),
    "restrictions[].categories[]": _item("narrowing", "restricted category"),
    "restrictions[].forbidden_transformations[]": _item("narrowing", "forbidden transformation"),
    "quality_rules[]": _item("narrowing", "quality rule"),
    "quality_rules[].min": _numeric("min", "narrowing"),
    "quality_rules[].max": _numeric("max", "widening"),
    "quality_rules[].mostly": _numeric("mostly", "narrowing"),
    "quality_rules[].values[]": _item("widening", "allowed value"),
    "privacy.k_anonymity": _item("narrowing", "k-anonymity check"),
    "privacy.k_anonymity.k": _numeric("k", "narrowing"),
    "privacy.k_anonymity.quasi_identifiers[]": _item("narrowing", "quasi-identifier in k-anonymity"),
    "privacy.l_diversity": _item("narrowing", "l-diversity check"),
    "privacy.reidentification": _item("narrowing", "re-identification risk check"),
    # a higher threshold counts fewer records as at risk
    "privacy.reidentification.risk_threshold": _numeric("risk_threshold", "widening"),
    "privacy.l_diversity.l": _numeric("l", "narrowing"),
    "privacy.on_undeclared_pii": _ranked("on_undeclared_pii", ["fail", "drop", "redact"]),
    "bias_checks[]": _item("narrowing", "bias check"),
    "bias_checks[].protected_attributes[]": _item("narrowing", "protected attribute checked"),
    # Groups below min_group_size are left out of the parity numbers: a lower size checks more groups.
    "bias_checks[].min_group_size": _numeric("min_group_size", "widening"),
    "outputs[]": _item("widening", "output"),
    "outputs[].recipient": lambda kind, old, new: ("widening", f"new recipient: {old} -> {new}"),
    "outputs[].purpose": lambda kind, old, new: ("widening", f"released for another purpose: {old} -> {new}"),
    "outputs[].dataset": lambda kind, old, new: ("widening", f"releases another dataset: {old} -> {new}"),
    "outputs[].kind": _ranked("output", ["synthetic", "protected"], ("real rows in the", "synthetic rows in the")),
    "outputs[].zone": _ranked("output zone", ["sandbox", "production"], ("wider", "narrower")),
    "outputs[].approval_required": _flag("approval_required", False),
    "outputs[].synthesizer": _fixed("neutral", "synthesizer settings; the output kind says what is released"),
    "outputs[].synthesizer.train_on": _ranked("synthesizer input", ["protected", "raw"],
                                              ("less protected", "more protected")),
    # a differentially private run's privacy loss: more is weaker; adding one (a DP model) is a new bound
    "outputs[].synthesizer.epsilon": _numeric("epsilon", "widening", ("more privacy loss", "less privacy loss")),
    "outputs[].synthesizer.delta": _numeric("delta", "widening", ("more privacy loss", "less privacy loss")),
    # a budget lets DP outputs spend privacy; a larger one lets them spend more
    "privacy.dp_budget": _item("widening", "differential-privacy budget"),
    "privacy.dp_budget.epsilon": _numeric("dp_budget epsilon", "widening", ("larger budget", "smaller budget")),
    "privacy.dp_budget.delta": _numeric("dp_budget delta", "widening", ("larger budget", "smaller budget")),
    # gates relative to the holdout replace the absolute quality, DCR-baseline and copy gates: never stricter
    "privacy.synthetic.relative_to_holdout": _item("widening", "synthetic gates relative to the holdout"),
    "access[]": _item("widening", "access grant"),
    "access[].permissions[]": _item("widening", "permission"),
    "access[].valid_until": _date("grant end", later="widening"),
    "incident_response.contacts": _fixed("neutral", "contacts changed"),
    "incident_response.notification_deadline_hours": _numeric("notification_deadline_hours", "widening",
                                                              ("later incident notice", "earlier incident notice")),
    "keys.pseudonymisation": _fixed("widening", "secret changed: pseudonyms may link with other uses of that key"),
    "keys.encryption": _fixed("widening", "secret changed: whoever holds the new key can decrypt"),
}
# issue 15: the holdout split and the post-training audit. A new audit or target is narrowing (a model must pass more
# before production); a looser target, more iterations or smaller gated groups widen. The split: a higher fraction or
# another seed or subject column puts subjects an earlier training release held into the holdout.
_RULES |= {
    "outputs[].holdout": _fixed("widening", "holdout split changed: subjects of earlier training releases may join "
                                            "the holdout"),
    "outputs[].holdout.fraction": _numeric("holdout fraction", "widening", (
        "larger holdout: subjects of earlier training releases join it", "smaller holdout, a subset of the old")),
    "outputs[].holdout.seed": _fixed("widening", "another seed: subjects of earlier training releases join the holdout"),
    "outputs[].holdout.subject_column": _fixed("widening", "split by another subject column"),
    "model_evaluation[]": _item("narrowing", "model evaluation"),
    "model_evaluation[].output": _fixed("widening", "models scored on another holdout"),
    "model_evaluation[].label": _fixed("widening", "models scored against another label"),
    "model_evaluation[].positive": _fixed("widening", "models scored against another positive label"),
    "model_evaluation[].decision_threshold": _fixed("widening", "decision threshold changed: selection rates, TPR "
                                                                "and FPR are measured at another point"),
    "model_evaluation[].max_iterations": _numeric("max_iterations", "widening", (
        "more model versions may be tried on the holdout", "fewer model versions may be tried on the holdout")),
    "model_evaluation[].performance.precision_at_recall": _item("narrowing", "precision-at-recall target"),
    "model_evaluation[].performance.precision_at_recall.recall": _numeric("recall", "narrowing"),
    "model_evaluation[].performance.precision_at_recall.min_precision": _numeric("min_precision", "narrowing"),
    "model_evaluation[].fairness[]": _item("narrowing", "fairness target"),
    # groups below min_group_size are reported, not gated: a higher size gates fewer groups
    "model_evaluation[].fairness[].min_group_size": _numeric("min_group_size", "widening"),
}
for _target in ("performance.min_roc_auc", "performance.max_brier_score", "performance.max_calibration_error",
                "fairness[].min_selection_rate_ratio", "fairness[].max_equalized_odds_difference",
                "fairness[].max_tpr_gap", "fairness[].max_fpr_gap"):
    _name = _target.rsplit(".", 1)[-1]
    _RULES[f"model_evaluation[].{_target}"] = _numeric(_name, "narrowing" if _name.startswith("min_") else "widening")
for _tuning in ("model", "epochs", "batch_size", "seed", "rows", "locale", "fallback", "time_budget_seconds"):
    # The synthetic gates judge whatever the synthesizer makes, so its tuning widens nothing.
    _RULES[f"outputs[].synthesizer.{_tuning}"] = _fixed("neutral", "synthesizer tuning; synthetic gates still apply")


def _by_name(pattern: str) -> Rule | None:
    """Thresholds named by convention: min_* lower, max_* higher, *_days higher are widening."""
    if not pattern.startswith(("privacy.", "bias_checks[].", "retention.")):
        return None
    name = pattern.rsplit(".", 1)[-1]
    if name.startswith("min_"):
        return _numeric(name, "narrowing")
    if pattern.startswith("retention."):
        return _numeric(name, "widening", ("longer retention", "shorter retention"))
    if name.startswith("max_"):
        return _numeric(name, "widening")
    return None


def _classify(raw: _Raw, columns: set[tuple[str, str]]) -> tuple[Effect, str]:
    if raw.pattern == "datasets[].schema_mapping.*" and raw.kind != "changed":
        # mapping a column that is itself added or removed: the column change says it all
        dataset = raw.path.split(".schema_mapping.", 1)[0]
        if (raw.kind, f"{dataset}.columns.{raw.new if raw.kind == 'added' else raw.old}") in columns:
            return "neutral", f"schema mapping of a column {raw.kind} here"
    rule = _RULES.get(raw.pattern) or _by_name(raw.pattern)
    return rule(raw.kind, raw.old, raw.new) if rule else ("widening", UNCLASSIFIED)


# -- public -------------------------------------------------------------------------------------

def _summary(value: Any, limit: int = 240) -> Any:
    """Small values as they are; a big sub-tree as its top level, with nested parts counted."""
    if len(json.dumps(value, default=str)) <= limit or not isinstance(value, dict):
        return value
    return {k: f"{{{len(v)} keys}}" if isinstance(v, dict) else f"[{len(v)} items]" if isinstance(v, list) else v
            for k, v in value.items()}


def diff_agreements(old: Agreement, new: Agreement) -> list[Change]:
    """Every change from `old` to `new`, classified, ordered by path."""
    raws: list[_Raw] = []
    _walk(old.model_dump(mode="json", by_alias=True), new.model_dump(mode="json", by_alias=True), "", "", raws)
    columns = {(r.kind, r.path) for r in raws if r.pattern == "datasets[].columns.*"}
    changes = [Change(r.path, r.kind, _summary(r.old), _summary(r.new), *_classify(r, columns)) for r in raws]
    return sorted(changes, key=lambda c: c.path)


def counts(changes: list[Change]) -> dict[str, int]:
    return {e: sum(c.effect == e for c in changes) for e in ("widening", "narrowing", "neutral")}


_MARK = {"widening": "WIDENING ", "narrowing": "narrowing", "neutral": "neutral  "}


def _show(value: Any) -> str:
    return "-" if value is None else _label(value)


def render_text(changes: list[Change]) -> str:
    """One line per change, widening ones in capitals, then a line with the counts."""
    lines = []
    for c in changes:
        lines.append(f"{_MARK[c.effect]}  {c.path}  ({c.kind}: {_show(c.old)} -> {_show(c.new)})")
        lines.append(f"           {c.why}")
    n = counts(changes)
    lines.append(f"{len(changes)} change(s): {n['widening']} widening, {n['narrowing']} narrowing, "
                 f"{n['neutral']} neutral" if changes else "no change")
    return "\n".join(lines)
