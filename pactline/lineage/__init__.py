"""OpenLineage facets of a release, built from its manifest and the plan (no Airflow here: operators wrap them)."""

from pactline.lineage.facets import ReleaseLineage, column_transformation, release_lineage

__all__ = ["ReleaseLineage", "column_transformation", "release_lineage"]
