"""Paper check: every quantitative claim of the seed paper that its tables allow, recomputed."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ids
from ..cohorts import Cohort
from ..data import Dataset
from ..formatting import Blocks, Para, claims_table
from ..reproduce import Claim, reproduce, seed_paper_reason
from .base import Slot, View

INTRO = ("Every quantitative claim of the paper that its tables allow, recomputed from the dataset files. "
         "'simulated data' marks claims that rest on the simulated ALSFRS values: those are not reproductions.")


@dataclass(frozen=True)
class PaperResult:
    claims: tuple[Claim, ...]

    @property
    def table(self) -> Blocks:
        return (Para(INTRO), claims_table(self.claims, id=f"{ids.PAPER_TABLE}-table"))


def compute(ds: Dataset, cohort: Cohort | None = None, highlight=None) -> PaperResult:
    return PaperResult(tuple(reproduce(ds)))


VIEW = View(
    key="paper", label="Paper check", prefix="paper", order=70, compute=compute,
    measures=lambda ds: list(ds.measures), whole_dataset=True, uses_cohort=False, uses_highlight=False,
    available=seed_paper_reason,
    slots=(Slot("table", "blocks", attr="table"),),
)
