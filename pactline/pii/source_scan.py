"""Quasi-identifier combinations of an agreement's dataset, for `pactline plan --scan`.

Reads the dataset's source (a single local file inside its provider's source root, size-capped,
renamed by the schema mapping and cut to the declared columns), then reports the declared
quasi-identifiers' uniqueness together and the smallest combinations a scan finds. Counts and
column names only. Partitioned and remote sources are not read here: the scan_pii step reports
them per run (the steward page shows them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pactline.agreement import LoadedAgreement
from pactline.errors import DataError
from pactline.pii.classify import classify_table
from pactline.pii.io import read_table
from pactline.pii.quasi import unique_rows
from pactline.sources import locate_source, max_source_bytes


@dataclass
class QuasiScan:
    dataset: str
    declared: list[str]
    rows: int = 0
    declared_unique_rows: int | None = None  # rows the declared quasi-identifiers single out together
    found: list[dict] = field(default_factory=list)  # the scan's combinations (ScanReport.quasi_identifiers)
    skipped: str | None = None  # why the source was not read

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "declared": self.declared, "rows": self.rows,
                "declared_unique_rows": self.declared_unique_rows, "found": self.found, "skipped": self.skipped}

    def render(self) -> str:
        lines = [f"dataset {self.dataset}: quasi-identifiers"]
        declared = ", ".join(self.declared) or "none declared"
        if self.skipped:
            return "\n".join([*lines, f"  declared: {declared}", f"  not scanned: {self.skipped}"])
        if self.declared and self.declared_unique_rows is not None:
            share = self.declared_unique_rows / self.rows if self.rows else 0.0
            declared += f" (together they single out {self.declared_unique_rows} of {self.rows} rows, {share:.0%})"
        lines.append(f"  declared: {declared}")
        if not self.found:
            lines.append("  found: no combination of up to three columns makes most rows unique")
        for q in self.found:
            mark = "" if set(q["columns"]) <= set(self.declared) else "  <- not all declared"
            lines.append(f"  found: {' + '.join(q['columns'])}: {q['unique_rows']} of {q['rows']} rows unique "
                         f"({q['share']:.0%}){mark}")
        return "\n".join(lines)


def scan_quasi_identifiers(loaded: LoadedAgreement, dataset_id: str, sample_size: int = 1000) -> QuasiScan:
    ds = loaded.agreement.dataset(dataset_id)
    declared = [n for n, c in ds.columns.items() if c.category == "quasi_identifier"]
    out = QuasiScan(dataset_id, declared)
    root, located = locate_source(loaded, dataset_id)
    if ds.source.partitioned or root.scheme is not None:
        out.skipped = "partitioned or remote source; see the scan_pii report of a run"
        return out
    root.check_file(located, f"datasets[{dataset_id}].source.uri")
    path = Path(located)
    if not path.is_file():
        out.skipped = "the source file does not exist yet"
        return out
    if path.stat().st_size > max_source_bytes():
        raise DataError(f"dataset {dataset_id}: the source is larger than PACTLINE_MAX_SOURCE_BYTES")
    table = read_table(path, delimiter=ds.source.delimiter if ds.source.format == "csv" else ",")
    names = [ds.schema_mapping.get(n, n) for n in table.column_names]
    table = table.rename_columns(names)
    table = table.select([n for n in dict.fromkeys(names) if n in ds.columns])
    out.rows = table.num_rows
    present = [n for n in declared if n in table.column_names]
    if present:
        out.declared_unique_rows = unique_rows(table, present)
    out.found = classify_table(table, sample_size, quasi_identifiers=present).quasi_identifiers
    return out
