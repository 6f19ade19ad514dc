"""Partitioned input: a folder or glob of files, or a Parquet file split at row groups.

    list_partitions(source, base_dir) -> [Partition]       discover.py: what the mapped tasks expand over
    partition_bytes(partition) -> readable of its bytes       discover.py: what ingest lands per partition
    sum_counts / ClassCounts / SensitiveValues / GroupCounts aggregate.py: per-partition aggregates, combined

Everything a whole-dataset check needs (category counts for rare_to_other, k-anonymity class
sizes, l-diversity's distinct sensitive values per class, bias group counts) is computed per
partition as a small aggregate and summed by a reduce step, so no task ever holds more than one
partition's record batch.
"""

from pactline.partition.aggregate import ClassCounts, GroupCounts, SensitiveValues, sum_counts
from pactline.partition.discover import Partition, list_partitions, open_partition

__all__ = ["ClassCounts", "GroupCounts", "Partition", "SensitiveValues", "list_partitions", "open_partition",
           "sum_counts"]
