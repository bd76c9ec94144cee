"""Keep-or-divert scored on labelled files: real 110 call notes (text, expected: police, divert or either)
and citizen messages (label, text). What `evaluate_routing --calls --messages` prints and the tests and the
benchmark read: the whole decision cross-validated (rules, the department-family model and the keep-or-divert
model, each fold's models trained on the other folds only), or the rules alone. Also the reading and
checking of those files for training (train_routing_model --calls --messages)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from . import NON_POLICE, UNDECIDED, current_rules, suggest_many
from .families import FAMILIES

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


class LabelledFileError(ValueError):
    """A labelled file that cannot be trained or scored on; the message names the file and the line."""


def read_labelled(path: str, kind: str, *, labelled: bool = True) -> list[dict]:
    """The rows of a calls file (kind "calls": text, expected) or a messages file (kind "messages": text, and
    label, one of the department families, when `labelled`), checked: every text present, every label known.
    LabelledFileError names the file and the first bad line (the header is line 1)."""
    from django.utils.translation import gettext as _

    columns = ("text", "expected") if kind == "calls" else (("text", "label") if labelled else ("text",))
    try:
        rows = read_rows(path, columns)
    except OSError as exc:
        raise LabelledFileError(str(exc)) from exc
    except ValueError as exc:
        raise LabelledFileError(_("%(path)s needs the columns: %(columns)s") % {"path": path, "columns": exc}) from exc
    for line, row in enumerate(rows, start=2):
        if not (row.get("text") or "").strip():
            raise LabelledFileError(_("%(path)s line %(line)s: the text is empty.") % {"path": path, "line": line})
        if kind == "calls" and (row.get("expected") or "").strip() not in EXPECTED:
            raise LabelledFileError(_("%(path)s line %(line)s: expected must be police, divert or either, not "
                                      "“%(value)s”.") % {"path": path, "line": line, "value": row.get("expected")})
        if kind == "messages" and labelled and (row.get("label") or "").strip() not in FAMILIES:
            raise LabelledFileError(_("%(path)s line %(line)s: “%(value)s” is not a department family (%(known)s).")
                                    % {"path": path, "line": line, "value": row.get("label"),
                                       "known": "、".join(FAMILIES)})
    return rows


def read_files(calls: str | None, messages: str | None) -> tuple[list[dict], list[dict], bool]:
    """(call rows, message rows, whether the messages carry department-family labels), each file read once
    and checked by read_labelled; either path may be None."""
    call_rows = read_labelled(calls, "calls") if calls else []
    if not messages:
        return call_rows, [], False
    try:
        message_rows = read_labelled(messages, "messages")
    except LabelledFileError:
        # Without a label column the messages still count (every one non-police), unlabelled.
        message_rows = read_labelled(messages, "messages", labelled=False)
        if message_rows and "label" in message_rows[0]:
            raise
        return call_rows, message_rows, False
    return call_rows, message_rows, True


def keep_training_set(call_rows: list[dict], message_rows: list[dict]) -> tuple[list[str], list[str]]:
    """Texts and police/non_police labels for the keep-or-divert model, which learns "must the police keep
    this?": the notes the police must keep are "police"; the linkage notes, the notes left to a dispatcher's
    judgement ("either": they may be diverted) and every citizen message are "non_police". Left out, the
    "either" notes made every short note look like a police matter to the model (the messages are long and
    written): it then vetoed two linkage notes in three (3-fold, dev files)."""
    from .learning import NON_POLICE_LABEL, POLICE_LABEL

    texts, labels = [], []
    for row in call_rows:
        texts.append(row["text"])
        labels.append(POLICE_LABEL if row["expected"].strip() == "police" else NON_POLICE_LABEL)
    texts += [row["text"] for row in message_rows]
    labels += [NON_POLICE_LABEL] * len(message_rows)
    return texts, labels


def train_models(call_rows: list[dict], message_rows: list[dict], *, labelled_messages: bool = True,
                 params: dict | None = None, keep_params: dict | None = None):
    """(department-family model or None, keep-or-divert model) trained on the rows given."""
    from . import learning

    texts, labels = keep_training_set(call_rows, message_rows)
    keep = learning.fit(texts, labels, kind=learning.KEEP, params=keep_params)
    department = None
    if labelled_messages and message_rows:
        department = learning.fit([r["text"] for r in message_rows], [r["label"].strip() for r in message_rows],
                                  kind="family", params=params)
    return department, keep


@dataclass(slots=True)
class Suggested:
    """One text as the rules and the department model suggested it, and the keep-or-divert model's police
    probability (None: no such model), so that the decision can be tallied under any thresholds."""

    text: str
    expected: str  # police, divert or either for a call note; "" for a citizen message
    decision: str  # before the keep-or-divert model's word
    department: object  # routing.ModelOpinion or None
    police_probability: float | None
    words: list[str]


def suggested(rows: list[dict], *, model=None, keep_model=None, calls: bool = True) -> list[Suggested]:
    """Rows (text, and expected for call notes) suggested by the rules and the models given (none: the rules
    alone). Unknown expected values raise ValueError."""
    if calls:
        bad = sorted({(r.get("expected") or "").strip() for r in rows} - set(EXPECTED))
        if bad:
            raise ValueError(", ".join(bad))
    texts = [r["text"] or "" for r in rows]
    suggestions = suggest_many(texts, model=model, use_model=False)
    probabilities = keep_model.police_probabilities(texts) if keep_model is not None and texts else [None] * len(rows)
    return [Suggested(row["text"], row["expected"].strip() if calls else "", s.decision, s.model, p,
                      sorted({m.word for c in s.candidates for m in c.matches}))
            for row, s, p in zip(rows, suggestions, probabilities, strict=True)]


def tally(items: list[Suggested], thresholds=None, result: KeepOrDivert | None = None) -> KeepOrDivert:
    """The figures of suggested texts, the keep-or-divert model's word weighed under `thresholds` (default:
    the catalog's)."""
    from . import move_decision

    thresholds = thresholds or current_rules().thresholds
    result = result or KeepOrDivert()
    for item in items:
        decision = item.decision
        if item.police_probability is not None:
            decision, _flag = move_decision(decision, item.police_probability, item.department, thresholds)
        if not item.expected:
            result.messages += 1
            result.messages_non_police += decision == NON_POLICE
            continue
        result.notes += 1
        result.undecided += decision == UNDECIDED
        if item.expected == "police":
            result.must_keep += 1
            if decision == NON_POLICE:
                result.wrongly_diverted += 1
                result.wrong.append((item.text, item.words))
        elif item.expected == "divert":
            result.linkage += 1
            result.linkage_diverted += decision == NON_POLICE
    return result


def cross_validate_decision(call_rows: list[dict], message_rows: list[dict], *, folds: int = 5, seed: int = 0,
                            labelled_messages: bool = True, params: dict | None = None,
                            keep_params: dict | None = None) -> list[Suggested]:
    """The whole decision, cross-validated: each file split into `folds` stratified folds (calls by expected,
    messages by label); fold i's models are trained on the other folds of both files, and fold i of each file
    is suggested by the rules and those models together. Tally the result under any thresholds."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    def split(rows, key):
        y = [(r.get(key) or "").strip() if key else "" for r in rows]
        if min(y.count(v) for v in set(y)) < folds:
            raise LabelledFileError(f"{key or 'text'}: {folds} folds need at least {folds} rows of every value")
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))

    calls_split = split(call_rows, "expected") if call_rows else []
    messages_split = split(message_rows, "label" if labelled_messages else None) if message_rows else []
    items: list[Suggested] = []
    for i in range(folds):
        calls_train, calls_held = calls_split[i] if calls_split else ([], [])
        messages_train, messages_held = messages_split[i] if messages_split else ([], [])
        department, keep = train_models([call_rows[j] for j in calls_train], [message_rows[j] for j in messages_train],
                                        labelled_messages=labelled_messages, params=params, keep_params=keep_params)
        items += suggested([call_rows[j] for j in calls_held], model=department, keep_model=keep)
        items += suggested([message_rows[j] for j in messages_held], model=department, keep_model=keep, calls=False)
    return items


def sweep(*, quick: bool = False):
    """Thresholds around the catalog's, one moved at a time, for evaluate_routing to print the figures under
    (quick: fewer)."""
    from dataclasses import replace

    base = current_rules().thresholds
    grid = {
        "police_min": (0.5, 0.7, 0.9) if not quick else (0.5, 0.9),
        "veto_min": (0.5, 0.7, 0.8, 0.9, 0.95) if not quick else (0.7, 0.95),
        "divert_max": (0.02, 0.05, 0.1, 0.2) if not quick else (0.02, 0.1),
        "department_min": (0.5, 0.6, 0.7, 0.8) if not quick else (0.5, 0.8),
    }
    for name, values in grid.items():
        for value in values:
            if value != getattr(base, name):
                yield replace(base, **{name: value})
