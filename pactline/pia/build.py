"""A privacy impact assessment of one run of one dataset: the agreement's declarations (pactline.pia.declared) and
what the run measured (pactline.pia.measured), in the order a privacy officer signing the release reads them."""

from __future__ import annotations

from pactline.agreement import LoadedAgreement
from pactline.pia import declared, measured
from pactline.pia.document import Assessment, Code, Section, Verdict, para
from pactline.pia.evidence import RunEvidence
from pactline.plan import build_plan

NO_VALUES = ("No value of the partners' data appears in this assessment: it holds the agreement's own terms, column "
             "names, counts and scores. Group labels, masked examples and per-group rates are in the run's review, "
             "which is encrypted like the data.")


def verdict(ev: RunEvidence) -> Verdict:
    """Every gate result and synthetic report of the run passed (None: nothing measured yet)."""
    passed = [bool(r.get("passed")) for r in ev.results.values()] + [bool(s.get("passed")) for s in ev.synthetic.values()]
    return Verdict(all(passed) if passed else None)


def build_assessment(loaded: LoadedAgreement, dataset_id: str, ev: RunEvidence) -> Assessment:
    """Raises KeyError/StopIteration for a dataset the agreement does not declare (callers check first)."""
    agreement = loaded.agreement
    ds = agreement.dataset(dataset_id)
    plan = build_plan(loaded).dataset(dataset_id)
    facts = (
        ("agreement", Code(loaded.id)),
        ("version", agreement.metadata.version),
        ("fingerprint", Code(loaded.fingerprint)),
        ("dataset", Code(ds.id)),
        ("provider", Code(ds.provider)),
        ("run", Code(ev.run_id or ev.run_folder)),
        ("reports", Code(ev.folder)),
        ("gates", verdict(ev)),
    )
    sections = [
        declared.parties(loaded, ds),
        declared.purposes(loaded, ds),
        declared.categories(loaded, ds, plan),
        declared.transfers(loaded, ds),
        declared.transformations(loaded, ds, plan),
        measured.risks(loaded, ds, ev),
        measured.synthetic(loaded, ds, ev),
        measured.differential_privacy(loaded, ds, ev),
        measured.bias(loaded, ds, ev),
        measured.other_gates(ev),
        declared.retention(loaded, ds),
        measured.incidents(loaded, ds, ev),
    ]
    notes = [para(NO_VALUES)]
    notes += [para("Could not be read: ", Code(problem), ".") for problem in ev.problems]
    sections.append(Section("about", "About this assessment", tuple(notes)))
    return Assessment(loaded.id, ds.id, ev.run_id, ev.run_folder, loaded.fingerprint,
                      f"Privacy impact assessment: {agreement.metadata.title}, dataset {ds.id}", facts,
                      tuple(sections))


__all__ = ["build_assessment"]
