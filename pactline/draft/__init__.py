"""A draft dataset block from a partner's file (`pactline draft`): the PII scan's verdicts, a profile of the data,
quality rules, and a comment on every column saying why."""

from pactline.draft.block import draft_dataset
from pactline.draft.merge import check_fragment, merge_into
from pactline.draft.read import read_data
from pactline.draft.render import render_fragment

__all__ = ["check_fragment", "draft_dataset", "merge_into", "read_data", "render_fragment"]
