"""The transformations an agreement can allow for a column, with their parameters.

A column has exactly one allowed transformation. The `kind` field selects it; the
other fields are that transformation's parameters. The engine that carries them out
lives in pactline.protect; this module only says what may be asked for.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from pactline.agreement.base import Strict

Normaliser = Literal["strip", "lower", "upper", "collapse_whitespace", "digits_only", "alnum_only"]


class Example(Strict):
    """A concrete input -> output pair the agreement promises (checked by `pactline validate`)."""

    input: str | int | float | None
    output: str | int | float | None


class _Base(Strict):
    examples: list[Example] = Field(
        default_factory=list, description="Concrete examples of what this transformation does."
    )


class Keep(_Base):
    """Release the value unchanged (non-personal columns, labels, modelled attributes)."""

    kind: Literal["keep"] = "keep"


class Drop(_Base):
    """Remove the column entirely."""

    kind: Literal["drop"] = "drop"


class Redact(_Base):
    """Replace every non-null value with a typed placeholder such as <EMAIL_ADDRESS>."""

    kind: Literal["redact"] = "redact"
    placeholder: str | None = Field(
        default=None, description="Placeholder text; default '<ENTITY>' from the column's pii_entity."
    )


class Mask(_Base):
    """Format-keeping masking: the released value has the original's length."""

    kind: Literal["mask"] = "mask"
    mode: Literal["keep_last", "keep_first", "email_domain"] = "keep_last"
    n: int = Field(default=4, ge=0, le=64, description="Characters kept (keep_last / keep_first).")
    char: str = Field(default="*", min_length=1, max_length=1)
    keep_separators: bool = Field(
        default=True, description="Leave spaces, dashes, dots, @ and + in place so the format stays readable."
    )


class Pseudonymise(_Base):
    """Keyed pseudonymisation: HMAC-SHA256 of the normalised value under the agreement's key.

    The same key, normalisation and value give the same token for every party that
    holds the key, so parties can join on it. Without the key it cannot be reversed.
    """

    kind: Literal["pseudonymise"] = "pseudonymise"
    key: str = Field(default="pseudonymisation", description="Name of the secret in the agreement's keys.")
    normalise: list[Normaliser] = Field(
        default_factory=list, description="Applied in order before hashing, e.g. [strip, lower] for emails."
    )
    prefix: str = Field(default="", max_length=16, description="Text put before the token, e.g. 'pt_'.")
    length: int = Field(default=32, ge=16, le=64, description="Hex characters of the HMAC kept.")


class GeneraliseDate(_Base):
    kind: Literal["generalise"] = "generalise"
    method: Literal["date"] = "date"
    granularity: Literal["decade", "year", "quarter", "month"] = "year"


class GeneraliseNumber(_Base):
    kind: Literal["generalise"] = "generalise"
    method: Literal["bands"] = "bands"
    width: float | None = Field(default=None, gt=0, description="Equal-width bands, e.g. 10 for ages.")
    edges: list[float] | None = Field(default=None, description="Explicit band edges, ascending.")

    @model_validator(mode="after")
    def _one_of(self) -> GeneraliseNumber:
        if (self.width is None) == (self.edges is None):
            raise ValueError("give exactly one of 'width' or 'edges'")
        if self.edges is not None and (
            len(self.edges) < 2 or any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False))
        ):
            raise ValueError("'edges' needs at least two strictly ascending numbers")
        return self


class GeneralisePostcode(_Base):
    kind: Literal["generalise"] = "generalise"
    method: Literal["truncate"] = "truncate"
    keep: int = Field(default=3, ge=1, le=10, description="Leading characters kept.")


class GeneraliseCategory(_Base):
    kind: Literal["generalise"] = "generalise"
    method: Literal["rare_to_other"] = "rare_to_other"
    min_count: int = Field(default=10, ge=2, description="Categories seen fewer times become 'other'.")
    other: str = "other"


Generalise = Annotated[
    GeneraliseDate | GeneraliseNumber | GeneralisePostcode | GeneraliseCategory,
    Field(discriminator="method"),
]


class DateShift(_Base):
    """Shift dates by a per-subject offset, the same for every date of the same subject (keyed)."""

    kind: Literal["date_shift"] = "date_shift"
    subject_column: str = Field(description="Canonical column that identifies the subject.")
    max_days: int = Field(default=30, ge=1, le=3650, description="Offsets lie in [-max_days, +max_days].")
    key: str = "pseudonymisation"


class RedactText(_Base):
    """Free text: every PII span Presidio finds is replaced by a typed placeholder; the rest is kept."""

    kind: Literal["redact_text"] = "redact_text"
    entities: list[str] | None = Field(default=None, description="Entities to redact; default all known.")
    placeholder: str = Field(default="<{entity}>", description="Format with {entity}.")


class Encrypt(_Base):
    """Reversible deterministic encryption (AES-SIV). Only where the agreement allows re-identification."""

    kind: Literal["encrypt"] = "encrypt"
    key: str = Field(default="encryption", description="Name of the secret in the agreement's keys.")


Transformation = Annotated[
    Keep | Drop | Redact | Mask | Pseudonymise | Generalise | DateShift | RedactText | Encrypt,
    Field(discriminator="kind"),
]

TRANSFORMATION_KINDS = (
    "keep", "drop", "redact", "mask", "pseudonymise", "generalise", "date_shift", "redact_text", "encrypt",
)
# what a restriction may name: exactly these kinds (a misspelt one would never be enforced)
TransformationKind = Literal[TRANSFORMATION_KINDS]  # type: ignore[valid-type]
