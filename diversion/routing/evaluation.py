"""Keep-or-divert scored on labelled files: real 110 call notes (text, expected: police, divert or either)
and citizen messages (label, text). What `evaluate_routing --calls --messages` prints and the tests and the
benchmark read. The rules alone: the decision is the rules' (the model never changes it)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from . import NON_POLICE, UNDECIDED, suggest_many

EXPECTED = ("police", "divert", "either")


@dataclass
class KeepOrDivert:
    notes: int = 0
    must_keep: int = 0
    wrongly_diverted: int = 0
    linkage: int = 0
    linkage_diverted: int = 0
    undecided: int = 0
    messages: int = 0
    messages_non_police: int = 0
    # (text, matched words) of each must-keep note suggested non_police
    wrong: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def wrong_divert_rate(self) -> float:
        return self.wrongly_diverted / self.must_keep if self.must_keep else 0.0

    @property
    def linkage_recall(self) -> float:
        return self.linkage_diverted / self.linkage if self.linkage else 0.0

    @property
    def undecided_rate(self) -> float:
        return self.undecided / self.notes if self.notes else 0.0

    @property
    def citizen_non_police_rate(self) -> float:
        return self.messages_non_police / self.messages if self.messages else 0.0

    def lines(self) -> list[str]:
        out = []
        if self.notes:
            out += [f"notes={self.notes}", f"must_keep={self.must_keep}", f"wrongly_diverted={self.wrongly_diverted}",
                    f"wrong_divert_rate={self.wrong_divert_rate:.4f}", f"linkage={self.linkage}",
                    f"linkage_diverted={self.linkage_diverted}", f"linkage_recall={self.linkage_recall:.4f}",
                    f"undecided_rate={self.undecided_rate:.4f}"]
        if self.messages:
            out += [f"messages={self.messages}", f"citizen_non_police_rate={self.citizen_non_police_rate:.4f}"]
        for i, (text, words) in enumerate(self.wrong, start=1):
            out.append(f"wrongly_diverted[{i}]={text} matched={' '.join(words) or '-'}")
        return out


def read_rows(path: str, columns: tuple[str, ...]) -> list[dict]:
    """The rows of a UTF-8 CSV file; ValueError names the missing columns."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = [c for c in columns if not rows or c not in rows[0]]
    if missing:
        raise ValueError(", ".join(missing))
    return rows


def score_calls(rows: list[dict], result: KeepOrDivert | None = None) -> KeepOrDivert:
    """Rows with text and expected. Unknown expected values raise ValueError."""
    result = result or KeepOrDivert()
    bad = sorted({(r.get("expected") or "").strip() for r in rows} - set(EXPECTED))
    if bad:
        raise ValueError(", ".join(bad))
    for row, s in zip(rows, suggest_many([r["text"] or "" for r in rows], use_model=False), strict=True):
        expected = row["expected"].strip()
        result.notes += 1
        result.undecided += s.decision == UNDECIDED
        if expected == "police":
            result.must_keep += 1
            if s.decision == NON_POLICE:
                result.wrongly_diverted += 1
                result.wrong.append((row["text"], sorted({m.word for c in s.candidates for m in c.matches})))
        elif expected == "divert":
            result.linkage += 1
            result.linkage_diverted += s.decision == NON_POLICE
    return result


def score_messages(rows: list[dict], result: KeepOrDivert | None = None) -> KeepOrDivert:
    """Rows with text: every one belongs to a department, so non_police is the right decision."""
    result = result or KeepOrDivert()
    for s in suggest_many([r["text"] or "" for r in rows], use_model=False):
        result.messages += 1
        result.messages_non_police += s.decision == NON_POLICE
    return result
