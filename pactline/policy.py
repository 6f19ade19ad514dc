"""The policy engine: what the agreement allows, default deny.

Operators call these checks again at run time, so a task refuses to act on an agreement
that has expired or changed since the DAG was parsed. Each refusal raises PolicyViolation
naming the clause of the agreement that refuses it.
"""

from __future__ import annotations

import datetime as dt

from pactline.agreement import LoadedAgreement
from pactline.agreement.model import AccessGrant, Output
from pactline.errors import PolicyViolation


class Policy:
    def __init__(self, loaded: LoadedAgreement):
        self.loaded = loaded
        self.agreement = loaded.agreement

    # -- columns ---------------------------------------------------------------------------
    def may(self, dataset_id: str, column: str, transformation: str) -> bool:
        """True only if the agreement declares this column with exactly this transformation."""
        try:
            ds = self.agreement.dataset(dataset_id)
        except StopIteration:
            return False
        col = ds.columns.get(column)
        return col is not None and col.transformation.kind == transformation

    def require_transformation(self, dataset_id: str, column: str, transformation: str) -> None:
        if not self.may(dataset_id, column, transformation):
            ds = next((d for d in self.agreement.datasets if d.id == dataset_id), None)
            col = ds.columns.get(column) if ds else None
            allowed = col.transformation.kind if col else "nothing (column not declared)"
            raise PolicyViolation(
                f"datasets[{dataset_id}].columns.{column}.transformation",
                f"transformation {transformation!r} on {dataset_id}.{column} is not allowed; the agreement allows {allowed}",
            )

    # -- time ------------------------------------------------------------------------------
    def require_in_force(self, as_of: dt.date) -> None:
        meta = self.agreement.metadata
        if as_of < meta.effective:
            raise PolicyViolation(
                "metadata.effective", f"the agreement is not in force before {meta.effective} (run date {as_of})"
            )
        if as_of > meta.expires:
            raise PolicyViolation(
                "metadata.expires", f"the agreement expired on {meta.expires} (run date {as_of}); no data may be processed"
            )

    # -- purpose and transfer --------------------------------------------------------------
    def require_purpose(self, purpose: str, model_type: str | None = None) -> None:
        match = next((p for p in self.agreement.purposes if p.id == purpose), None)
        if match is None:
            listed = [p.id for p in self.agreement.purposes]
            raise PolicyViolation("purposes", f"purpose {purpose!r} is not one the agreement lists ({listed})")
        if model_type is not None and model_type not in match.permitted_model_types:
            raise PolicyViolation(
                f"purposes[{purpose}].permitted_model_types",
                f"model type {model_type!r} is not permitted for purpose {purpose!r} ({match.permitted_model_types})",
            )

    def require_transfer(self, output: Output) -> None:
        """A flow between jurisdictions needs a declared transfer mechanism for that direction."""
        dataset = self.agreement.dataset(output.dataset)
        src = self.agreement.party(dataset.provider).jurisdiction
        dst = self.agreement.party(output.recipient).jurisdiction
        if src == dst:
            return
        if not any(t.from_ == src and t.to == dst for t in self.agreement.transfers):
            raise PolicyViolation(
                "transfers",
                f"output {output.id!r} moves data from {src} to {dst} but the agreement declares no transfer "
                f"mechanism for {src} -> {dst}",
            )

    def require_release(self, output_id: str, as_of: dt.date, purpose: str | None = None) -> Output:
        """Everything a release must satisfy: in force, declared output, agreed purpose, lawful transfer."""
        self.require_in_force(as_of)
        output = next((o for o in self.agreement.outputs if o.id == output_id), None)
        if output is None:
            raise PolicyViolation("outputs", f"output {output_id!r} is not declared; nothing else may be released")
        if purpose is not None and purpose != output.purpose:
            raise PolicyViolation(
                f"outputs[{output_id}].purpose",
                f"output {output_id!r} serves purpose {output.purpose!r}, not {purpose!r}",
            )
        self.require_purpose(output.purpose)
        self.require_transfer(output)
        return output

    # -- access ----------------------------------------------------------------------------
    def access_grant(self, principal: str, zone: str, permission: str, as_of: dt.date) -> tuple[int, AccessGrant] | None:
        """The first grant (its index in `access:`, and the grant) giving `principal` `permission` in `zone`
        on `as_of`, if any. A grant holds up to and including its valid_until day."""
        for i, g in enumerate(self.agreement.access):
            if g.principal == principal and g.zone == zone and permission in g.permissions and as_of <= g.valid_until:
                return i, g
        return None

    def may_access(self, principal: str, zone: str, permission: str, as_of: dt.date) -> bool:
        return self.access_grant(principal, zone, permission, as_of) is not None

    def require_access(self, principal: str, zone: str, permission: str, as_of: dt.date) -> tuple[int, AccessGrant]:
        """The grant that allows it, or AccessRefused (clause `access`) saying what is missing: no grant for
        the principal at all, grants for other zones only, a grant without this permission, or one that ended."""
        found = self.access_grant(principal, zone, permission, as_of)
        if found is not None:
            return found
        mine = [g for g in self.agreement.access if g.principal == principal]
        here = [g for g in mine if g.zone == zone]
        what = f"{principal!r} may not {permission} in zone {zone!r}"
        if not mine:
            raise AccessRefused("no_grant", f"{what}: the agreement grants {principal!r} nothing")
        if not here:
            zones = sorted({g.zone for g in mine})
            raise AccessRefused("other_zone", f"{what}: its grants are for zone(s) {', '.join(zones)} only")
        with_permission = [g for g in here if permission in g.permissions]
        if not with_permission:
            held = sorted({p for g in here for p in g.permissions})
            raise AccessRefused("no_permission", f"{what}: its grant there allows {', '.join(held)} only")
        ended = max(g.valid_until for g in with_permission)
        raise AccessRefused("expired", f"{what}: its grant ended on {ended} (date of the request {as_of})")


class AccessRefused(PolicyViolation):
    """A refusal by the `access:` clause; `reason` is a short code for the ledger."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__("access", message)
