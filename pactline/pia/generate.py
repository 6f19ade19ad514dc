"""Writing a run's privacy impact assessment, and finding the one a run wrote.

`write_pia` builds the assessment of one dataset's run, writes it as Markdown under the run's reports folder
(through the data root: encrypted with the reports' key like every report) and records `pia.generated` with its
path and the sha256 of its text (never the text). The approval step calls it before the steward is asked, so the
form links what the decision rests on; every publish calls it too, so a release without approval has one. An
assessment whose text has not changed since the last write is not written again (no new entry either): the
sha256 in the ledger stays the one of the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pactline.pia.build import build_assessment
from pactline.pia.evidence import load_evidence
from pactline.pia.markdown import to_markdown
from pactline.store.layout import PIA, reports_folder, safe_run_id

if TYPE_CHECKING:  # the steward pages find stored assessments without loading the pipeline
    from pactline.pipeline.context import RunContext

GENERATED = "pia.generated"


def pia_path(agreement_id: str, dataset: str, run: str) -> str:
    """Where a run's assessment of a dataset lives (`run`: the run id or its folder name)."""
    return f"{reports_folder(agreement_id, dataset, safe_run_id(run))}/{PIA}"


def sha256_text(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def write_pia(ctx: RunContext, dataset_id: str, ledger: Any, *, trigger: str) -> dict[str, Any]:
    """Build, write and record the assessment of this run's `dataset_id`; `trigger` says which step asked
    (e.g. approve_<output>, publish_<output>). Returns its path and sha256, and whether it was written now."""
    ev = load_evidence(ctx.root, ctx.loaded.id, dataset_id, ctx.run_id, ledger.entries(agreement_id=ctx.loaded.id),
                       run_id=ctx.run_id)
    body = to_markdown(build_assessment(ctx.loaded, dataset_id, ev)).encode("utf-8")
    rel = pia_path(ctx.loaded.id, dataset_id, ctx.run_id)
    sha = sha256_text(body)
    if ctx.root.exists(rel) and sha256_text(ctx.root.read_bytes(rel)) == sha:
        return {"dataset": dataset_id, "path": rel, "sha256": sha, "written": False}
    ctx.root.write_bytes(rel, body)
    ctx.record(GENERATED, dataset=dataset_id, path=rel, sha256=sha, bytes=len(body), trigger=trigger)
    return {"dataset": dataset_id, "path": rel, "sha256": sha, "written": True}


@dataclass(frozen=True)
class StoredPia:
    """The assessment file a run wrote, and the pia.generated entries that name it."""

    path: str
    sha256: str | None  # of the stored text; None when there is none (or it cannot be read)
    entries: tuple[Any, ...]  # pia.generated of this run and dataset, oldest first

    @property
    def recorded(self) -> Any | None:
        """The ledger entry whose sha256 is the stored file's (the latest such), if any."""
        return next((x for x in reversed(self.entries) if (x.payload or {}).get("sha256") == self.sha256), None)


def stored_pia(root: Any, agreement_id: str, dataset: str, run: str, entries: Iterable[Any]) -> StoredPia:
    rel = pia_path(agreement_id, dataset, run)
    try:
        sha = sha256_text(root.read_bytes(rel)) if root.exists(rel) else None
    except Exception:  # unreadable (e.g. its key was shredded): shown as missing
        sha = None
    mine = tuple(x for x in entries if x.event == GENERATED and (x.payload or {}).get("path") == rel)
    return StoredPia(rel, sha, mine)


__all__ = ["GENERATED", "StoredPia", "pia_path", "stored_pia", "write_pia"]
