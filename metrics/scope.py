"""Data scope: which institutions a user may see in detail. Computed on the server from the logged-in user."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scope:
    """Institutions a user may see below township level.

    ``all_institutions`` — leaders see every institution in detail.
    ``inst_codes``       — a manager's assigned institutions.
    ``aggregates``       — whether county / township / peer aggregates are visible (False: nothing at all).
    Deny by default: ``Scope()`` sees nothing.
    """
    all_institutions: bool = False
    inst_codes: frozenset[str] = field(default_factory=frozenset)
    aggregates: bool = False

    def may_see_institution(self, inst_code: str) -> bool:
        return self.all_institutions or inst_code in self.inst_codes

    @property
    def sees_anything(self) -> bool:
        return self.aggregates or self.all_institutions or bool(self.inst_codes)


FULL_SCOPE = Scope(all_institutions=True, aggregates=True)
NO_SCOPE = Scope()


def manager_scope(inst_codes: list[str] | set[str] | frozenset[str]) -> Scope:
    """A manager: county and peer aggregates plus detail of the assigned institutions."""
    return Scope(all_institutions=False, inst_codes=frozenset(inst_codes), aggregates=bool(inst_codes))
