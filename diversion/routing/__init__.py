"""The suggestion engine behind one function: `suggest(text, context=None)`.

Text in; out: the keep-or-divert decision (police, non_police or undecided) and why, ranked sub-category
candidates with the words that matched and where, the learned model's opinion, and flags for the
dispatcher where the model and the rules disagree or the model is unsure. The keyword rules and the police
signals are compiled into one Aho-Corasick automaton (rules.py); the models are learning.py: a department
model (sub-category or department family) that re-ranks the candidates, and a keep-or-divert model that may
move the decision within the thresholds of RoutingSettings (weigh_keep). A police signal always wins: no
model ever turns a police decision off.

The package holds the whole engine: rules (the compiled keywords, police signals, thresholds and the
catalog's version counters), learning (the models: training, storage, the active ones per process), vote
(the classifier trained with scikit-learn), compact (a trained model as arrays, run without scikit-learn),
families and departments (where a category goes), classify (batch classification for the commands),
evaluation (keep-or-divert cross-validated on labelled call notes and messages, and the labelled files
read and checked), quality (the suggestion against the dispatchers' decisions per week, the misses that
matter, the weekly digest, a police word added from a miss). It may import diversion's models, grids'
models and core; nothing in it imports views, services or tasks. learning is imported only when a model
is used; scikit-learn only to train.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .departments import department_for
from .families import FAMILIES, family_of
from .rules import (
    NEGATION_WINDOW,
    NEGATIONS,
    CompiledRules,
    catalog_bump,
    catalog_reset,
    current_rules,
    pattern_hits,
    sort_hits,
    spans,
)

__all__ = [
    "DECISIONS", "DECISION_LABELS", "FAMILIES", "MAX_CANDIDATES", "NEGATIONS", "NEGATION_WINDOW", "NON_POLICE",
    "POLICE", "UNDECIDED", "Candidate", "Flag", "KeepOpinion", "Match", "ModelOpinion", "PoliceReason", "Suggestion",
    "catalog_bump", "catalog_reset", "current_rules", "department_for", "family_of", "highlight_spans", "suggest",
    "suggest_many",
]

MAX_CANDIDATES = 9
# A class the model gives less than this is not added as a candidate of its own.
MODEL_MIN_CANDIDATE = 0.1

FLAG_LABELS = {
    "disagree": _("The model and the rules disagree"),
    "low_confidence": _("The model is not sure"),
    "model_police": _("The model thinks this is a police matter"),
    "model_only": _("No keyword matched: the suggestion is the model's alone"),
    "model_veto": _("The model thinks this may be a police matter"),
    "model_divert": _("No rule decided: both models suggest diverting"),
}


@dataclass(frozen=True)
class Match:
    word: str
    start: int
    end: int


class _Matched:
    """Candidate and PoliceReason keep the automaton's raw hits (see rules._value) and make `matches` of
    them, in text order, when first asked for: most suggestions are only ranked, and Match objects for every
    hit would cost more than the automaton's pass. Built with either the matches or the hits. Equality and
    repr are a dataclass's, over `_fields`."""

    __slots__ = ("_matches", "_hits")
    _fields: tuple[str, ...] = ()

    @property
    def matches(self) -> list[Match]:
        if self._matches is None:
            self._matches = [Match(word, start, end) for start, end, word in spans(self._hits)]
        return self._matches

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self._fields)})"


class PoliceReason(_Matched):
    __slots__ = ("code", "label")
    _fields = ("code", "label", "matches")

    def __init__(self, code: str, label: str, matches: list[Match] | None = None, hits: list | None = None):
        self.code = code
        self.label = label
        self._matches = matches
        self._hits = hits


class Candidate(_Matched):
    __slots__ = ("code", "name", "department", "score")
    _fields = ("code", "name", "department", "score", "matches")

    def __init__(self, code: str, name: str, department: str, score: float, matches: list[Match] | None = None,
                 hits: list | None = None):
        self.code = code
        self.name = name
        self.department = department
        self.score = score
        self._matches = matches
        self._hits = hits


@dataclass(slots=True)
class ModelOpinion:
    version: int | None
    kind: str
    label: str
    confidence: float
    used: bool


@dataclass(slots=True)
class KeepOpinion:
    """The keep-or-divert model's probability that the call is a police matter."""

    version: int | None
    police_probability: float


@dataclass(slots=True)
class Flag:
    code: str
    label: str


POLICE, NON_POLICE, UNDECIDED = "police", "non_police", "undecided"
DECISIONS = (POLICE, NON_POLICE, UNDECIDED)
DECISION_LABELS = {
    POLICE: _("Keep with the police"),
    NON_POLICE: _("Divert to a department"),
    UNDECIDED: _("Undecided: the dispatcher decides"),
}


@dataclass(slots=True)
class Suggestion:
    """`decision` is police (a police signal matched: it always wins), non_police (a sub-category matched
    with enough evidence and no police signal) or undecided (no evidence either way: the dispatcher
    decides). `evidence` is the best sub-category's matched weight before normalising."""

    decision: str
    police_reasons: list[PoliceReason] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    model: ModelOpinion | None = None
    flags: list[Flag] = field(default_factory=list)
    evidence: float = 0.0
    keep: KeepOpinion | None = None

    @property
    def police(self) -> bool:
        return self.decision == POLICE

    @property
    def suggested_police(self) -> bool | None:
        """The decision as Call.suggested_police stores it: True, False, or None for undecided."""
        return {POLICE: True, NON_POLICE: False}.get(self.decision)

    @property
    def decision_label(self):
        return DECISION_LABELS[self.decision]

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def review(self) -> bool:
        """The dispatcher should look twice."""
        return bool(self.flags)

    def as_dict(self) -> dict:
        return {
            "decision": self.decision,
            "decision_label": str(self.decision_label),
            "police": self.police,
            "police_reasons": [
                {"code": r.code, "label": str(r.label), "matches": [asdict(m) for m in r.matches]}
                for r in self.police_reasons
            ],
            "candidates": [
                {"code": c.code, "name": c.name, "department": c.department, "score": round(c.score, 3),
                 "matches": [asdict(m) for m in c.matches]}
                for c in self.candidates
            ],
            "model": None if self.model is None else {
                "version": self.model.version, "kind": self.model.kind, "label": self.model.label,
                "confidence": round(self.model.confidence, 3), "used": self.model.used,
            },
            "keep": None if self.keep is None else {
                "version": self.keep.version, "police_probability": round(self.keep.police_probability, 3),
            },
            "flags": [{"code": f.code, "label": str(f.label)} for f in self.flags],
            "review": self.review,
        }


def rules_suggestion(rules: CompiledRules, text: str) -> Suggestion:
    """The rules alone: police reasons, candidates ranked by the weights of their distinct words, and the
    decision (see Suggestion)."""
    automaton = rules.automaton
    hits = list(automaton.iter(text)) if text and automaton is not None else None
    if not hits and not rules.unanchored:
        return Suggestion(UNDECIDED)
    # Most texts: every hit is a plain keyword (value[0], its category, >= 0: see rules._value) of one and
    # the same category. It has all the score (its own over itself), and the hits are its own. A pattern's
    # anchor is never a plain keyword, so no pattern needs searching here unless some have no anchor.
    first = hits[0][1][0] if hits else -1
    if first >= 0 and not rules.unanchored:
        for hit in hits:
            if hit[1][0] != first:
                break
        else:
            cat = rules.categories[first]
            return _decided(rules, [], [Candidate(cat.code, cat.name, cat.department, 1.0, None, hits)],
                            _evidence(hits))
    found = pattern_hits(rules, text, hits) if rules.patterns is not None else None
    police, keywords = sort_hits(text, hits) if hits else (None, None)
    if found:
        police = police or {}
        for ridx, pattern_found in found.items():
            police.setdefault(ridx, []).extend(pattern_found)
    reasons = []
    if police:
        for ridx in sorted(police):
            reasons.append(PoliceReason(rules.reason_codes[ridx], rules.reason_labels[ridx], None, police[ridx]))
    if not keywords:
        return _decided(rules, reasons, [], 0.0)
    categories = rules.categories
    if len(keywords) == 1:
        [(cidx, hits)] = keywords.items()
        cat = categories[cidx]
        return _decided(rules, reasons, [Candidate(cat.code, cat.name, cat.department, 1.0, None, hits)],
                        _evidence(hits))
    candidates = []
    total = 0.0
    for cidx, hits in keywords.items():
        score = _evidence(hits)
        total += score
        cat = categories[cidx]
        candidates.append(Candidate(cat.code, cat.name, cat.department, score, None, hits))
    candidates.sort(key=_rank)
    evidence = candidates[0].score
    for c in candidates:
        c.score = c.score / total
    del candidates[MAX_CANDIDATES:]
    return _decided(rules, reasons, candidates, evidence)


def _evidence(hits) -> float:
    """The weight of one category's hits: each distinct word counts once (see rules._value for the shape)."""
    if len(hits) == 1:
        return hits[0][1][1]
    return sum({kw[3]: kw[1] for _end, kw in hits}.values())


def _decided(rules: CompiledRules, reasons: list, candidates: list, evidence: float) -> Suggestion:
    """A police signal always wins; non-police only on enough evidence for a sub-category; else undecided."""
    if reasons:
        decision = POLICE
    elif candidates and evidence >= rules.divert_min_evidence:
        decision = NON_POLICE
    else:
        decision = UNDECIDED
    return Suggestion(decision, reasons, candidates, evidence=evidence)


def _rank(c: Candidate):
    return (-c.score, c.code)


def combine(suggestion: Suggestion, model, probs: dict[str, float], rules: CompiledRules) -> Suggestion:
    """Blend the model's probabilities into the rules' ranking when it is confident, and flag the call when
    the two disagree or the model is unsure. `police` stays what the rules said."""
    label, confidence = max(probs.items(), key=lambda kv: kv[1])
    used = confidence >= settings.ROUTING_MODEL_THRESHOLD
    suggestion.model = ModelOpinion(model.version, model.kind, label, float(confidence), used)
    top = suggestion.top
    by_code = rules.by_code

    def label_of(c: Candidate) -> str:
        if model.kind == "family":
            return family_of(category_code=c.code, department_code=c.department)
        return c.code

    if model.kind == "family":
        rules_label = label_of(top) if top else None
    else:
        rules_label = "police" if suggestion.police else (top.code if top else None)

    flags = []
    if not used:
        flags.append("low_confidence")
    else:
        weight = settings.ROUTING_MODEL_WEIGHT
        present = {c.code for c in suggestion.candidates}
        if model.kind == "category":
            for code, p in sorted(probs.items(), key=lambda kv: -kv[1]):
                if p >= MODEL_MIN_CANDIDATE and code in by_code and code not in present:
                    cat = by_code[code]
                    suggestion.candidates.append(Candidate(cat.code, cat.name, cat.department, 0.0, []))
        for c in suggestion.candidates:
            c.score = (1 - weight) * c.score + weight * probs.get(label_of(c), 0.0)
        total = sum(c.score for c in suggestion.candidates) or 1.0
        for c in suggestion.candidates:
            c.score = c.score / total
        suggestion.candidates.sort(key=lambda c: (-c.score, c.code))
        del suggestion.candidates[MAX_CANDIDATES:]
        if model.kind == "category" and label == "police" and not suggestion.police:
            flags.append("model_police")
        elif rules_label is None:
            flags.append("model_only")
        elif rules_label != label:
            flags.append("disagree")
    suggestion.flags = [Flag(code, FLAG_LABELS[code]) for code in flags]
    return suggestion


def move_decision(decision: str, police_probability: float, department, thresholds) -> tuple[str, str | None]:
    """The decision after the keep-or-divert model's word, and the flag saying why it moved (None: it did
    not): undecided → police when the model is sure enough of a police matter (thresholds.police_min);
    non_police → undecided, a veto, when it thinks the call may be one (veto_min); undecided → non_police
    only when it finds a police matter unlikely (under divert_max) and the department model (a ModelOpinion,
    or None) is confident in a department (department_min). A police decision is never touched."""
    t, p = thresholds, police_probability
    if decision == NON_POLICE and p >= t.veto_min:
        return UNDECIDED, "model_veto"
    if decision == UNDECIDED:
        if p >= t.police_min:
            return POLICE, "model_police"
        if (p < t.divert_max and department is not None and department.label != "police"
                and department.confidence >= t.department_min):
            return NON_POLICE, "model_divert"
    return decision, None


def weigh_keep(suggestion: Suggestion, police_probability: float, keep_model, rules: CompiledRules) -> Suggestion:
    """Let the keep-or-divert model move the decision within the catalog's thresholds (move_decision)."""
    p = float(police_probability)
    suggestion.keep = KeepOpinion(keep_model.version, p)
    suggestion.decision, flag = move_decision(suggestion.decision, p, suggestion.model, rules.thresholds)
    if flag and all(f.code != flag for f in suggestion.flags):
        suggestion.flags.append(Flag(flag, FLAG_LABELS[flag]))
    return suggestion


def _models(model, keep_model, use_model: bool):
    """The models to use: the ones given (either or both), else the active stored ones unless use_model is
    false."""
    if model is None and keep_model is None and use_model:
        from . import learning

        return learning.active_model(), learning.active_keep_model()
    return model, keep_model


def suggest(text: str, context: dict | None = None, *, model=None, keep_model=None,
            use_model: bool = True) -> Suggestion:
    """Rank sub-categories for a call text and decide whether it must stay with the police.

    The rules decide first; the department model re-ranks the candidates (combine) and the keep-or-divert
    model may move the decision (weigh_keep). The models given replace the active stored ones; with neither
    given, the active ones are used unless `use_model` is false. `context` (address, grid, time) is accepted
    for engines that use it."""
    rules = current_rules()
    suggestion = rules_suggestion(rules, text)
    model, keep_model = _models(model, keep_model, use_model)
    if model is not None:
        combine(suggestion, model, model.predict_proba_dicts([text or ""])[0], rules)
    if keep_model is not None:
        weigh_keep(suggestion, keep_model.police_probabilities([text or ""])[0], keep_model, rules)
    return suggestion


def suggest_many(texts: list[str], *, model=None, keep_model=None, use_model: bool = True) -> list[Suggestion]:
    """`suggest` for many texts, with each model run once over all of them."""
    rules = current_rules()
    suggestions = [rules_suggestion(rules, t) for t in texts]
    model, keep_model = _models(model, keep_model, use_model)
    if not texts:
        return suggestions
    clean = [t or "" for t in texts]
    if model is not None:
        for s, probs in zip(suggestions, model.predict_proba_dicts(clean), strict=True):
            combine(s, model, probs, rules)
    if keep_model is not None:
        for s, p in zip(suggestions, keep_model.police_probabilities(clean), strict=True):
            weigh_keep(s, p, keep_model, rules)
    return suggestions


def highlight_spans(text: str, matches: list[dict]) -> list[tuple[str, bool]]:
    """Split text into (piece, matched) runs for templates, merging overlapping spans."""
    spans = sorted((m["start"], m["end"]) for m in matches)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, pos = [], 0
    for start, end in merged:
        if start > pos:
            pieces.append((text[pos:start], False))
        pieces.append((text[start:end], True))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces
