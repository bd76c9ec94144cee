"""The keyword rules, compiled once into one Aho-Corasick automaton (pyahocorasick).

Every word the rules know goes into one automaton: the catalog's keywords (with their weights), each
sub-category's keep-with-police words, the police signals' words (PoliceSignal: theft, robbery, violence,
traffic, a group…, admin-edited), and the exclusion phrases. One pass over a text finds them all with their
spans; exclusions and negations are then applied to the hits, not by scanning again. The signals' count
patterns (regular expressions: 10余名工人…讨要) are compiled once per catalog version; each one's anchor
words (_anchors) are words of the same automaton, so a pattern is searched only in a text that holds one.

The compiled form carries the catalog version it was built from (CatalogVersion "catalog", bumped by the
catalog-change signal in the same transaction as the change). A process compares it with the database at
most every ROUTING_VERSION_CHECK_SECONDS, so a change an administrator makes in any process reaches every
other process within that time; a change in this process is seen at once (the signal resets the cache).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import ahocorasick
from django.conf import settings
from django.db.models import F
from django.utils.functional import lazy

# A match directly preceded by one of these, with at most 发生/任何/人/人员 between, is negated (“没有人受伤”,
# “未打架”, “未发生冲突”). Only directly: a negation further back belongs to something else (“无缘无故被打了”,
# “孩子没回来，联系不上”, “没带手机走失了”), and missing a police matter is the costly mistake.
NEGATIONS = ("没有", "没", "未", "无", "并非", "不是")
# Prevention and advice speak of what did not happen (“谨防诈骗”, “防止被盗”): the same, directly before.
PREVENTIONS = ("防止", "预防", "谨防", "以防", "防范", "提防")
NEGATION_WINDOW = 6
_NEGATED_BEFORE = re.compile(rf"(?:(?:{'|'.join(NEGATIONS)})(?:发生)?(?:任何)?(?:人员|人)?|{'|'.join(PREVENTIONS)})$")
_NEGATION_CHARS = frozenset("".join(NEGATIONS + PREVENTIONS))

# What a word in the automaton triggers, by kind.
_POLICE = 0  # (_POLICE, reason_index)
_KEYWORD = 1  # (_KEYWORD, category_index, weight)
_EXCLUDE = 2  # (_EXCLUDE, scope, excluded_word, offsets): scope is a category index, or -1 for police words
_ANCHOR = 3  # (_ANCHOR, pattern_position)


@dataclass(frozen=True)
class CompiledCategory:
    code: str
    name: str
    department: str
    group: str
    police_conditions: str
    pk: int | None = None  # the Category row: intake stores the suggestion without reading it again


@dataclass(frozen=True)
class ModelThresholds:
    """How the keep-or-divert model may move the rules' decision (RoutingSettings; defaults documented
    there): at `police_min` or more an undecided call stays with the police; at `veto_min` or more a
    diversion is held back (undecided); under `divert_max`, with the department model at `department_min`
    or more, an undecided call is diverted."""

    police_min: float = 0.7
    veto_min: float = 0.9
    divert_max: float = 0.05
    department_min: float = 0.5

    @classmethod
    def of(cls, row) -> ModelThresholds:
        return cls(row.model_police_min, row.model_veto_min, row.model_divert_max, row.department_min_confidence)


@dataclass
class CompiledRules:
    version: int
    automaton: ahocorasick.Automaton | None
    categories: list[CompiledCategory]
    # Reasons in their display order: the fixed ones, then the sub-categories' own, by code.
    reason_codes: list[str]
    reason_labels: list
    words: list[str]
    # The signals' patterns, (reason index, compiled) by position. Their anchors (see _anchors) are words of
    # the automaton: a pattern is searched only in a text the pass found one of its anchors in. Patterns
    # without anchors are searched in every text.
    patterns: list | None = None
    unanchored: tuple[int, ...] = ()
    # A call is suggested non-police only when the best sub-category's words weigh at least this much.
    divert_min_evidence: float = 2.0
    thresholds: ModelThresholds = ModelThresholds()

    @property
    def by_code(self) -> dict[str, CompiledCategory]:
        return {c.code: c for c in self.categories}


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - NEGATION_WINDOW):start]
    if _NEGATION_CHARS.isdisjoint(before):
        return False
    return _NEGATED_BEFORE.search(before) is not None


def compile_rules(version: int, categories, signals=(), divert_min_evidence: float = 2.0,
                  thresholds: ModelThresholds | None = None) -> CompiledRules:
    """Build the automaton from category rows (with default_department and group loaded) and police signal
    rows (PoliceSignal: code, name, words, patterns, exclusions)."""
    actions: dict[str, list[tuple]] = {}

    def add(word: str, action: tuple) -> None:
        word = (word or "").strip()
        if word:
            actions.setdefault(word, []).append(action)

    def add_exclusions(exclusions, scope: int) -> None:
        """{word: [phrases in which it is harmless]} for a category (scope: its index) or the signals (-1)."""
        for word, phrases in (exclusions if isinstance(exclusions, dict) else {}).items():
            for phrase in phrases if isinstance(phrases, list) else [phrases]:
                offsets = _offsets(str(phrase), word)
                if offsets:
                    add(str(phrase), (_EXCLUDE, scope, word, offsets))

    reason_codes, reason_labels = [], []
    patterns = []
    for signal in signals:
        idx = len(reason_codes)
        reason_codes.append(signal.code)
        reason_labels.append(_name_in_language(signal))  # a bilingual row, read in the active language
        for w in _strings(signal.words):
            add(w, (_POLICE, idx))
        add_exclusions(signal.exclusions, -1)
        for pattern in _strings(signal.patterns):
            try:
                compiled_pattern = re.compile(pattern)
            except re.error:
                continue  # the admin refuses these; a row written around it is skipped, not fatal
            patterns.append((idx, compiled_pattern))

    compiled = []
    for cat in categories:
        cidx = len(compiled)
        compiled.append(CompiledCategory(cat.code, cat.name_zh, cat.default_department.code, cat.group.code,
                                         cat.police_conditions, cat.pk))
        weights = cat.keyword_weights if isinstance(cat.keyword_weights, dict) else {}
        for w in cat.keywords or []:
            if isinstance(w, str) and w.strip():
                w = w.strip()
                add(w, (_KEYWORD, cidx, _weight(weights.get(w), w)))
        add_exclusions(cat.keyword_exclusions, cidx)
        police_words = _strings(cat.police_keywords)
        if police_words:
            ridx = len(reason_codes)
            reason_codes.append(f"category:{cat.code}")
            reason_labels.append(cat.police_conditions or cat.name_zh)
            for w in police_words:
                add(w, (_POLICE, ridx))

    # A pattern's anchors go into the same automaton: the one pass tells which patterns to search.
    unanchored = []
    for k, (_idx, compiled_pattern) in enumerate(patterns):
        words = _anchors(compiled_pattern)
        if not words:
            unanchored.append(k)
        for w in words:
            actions.setdefault(w, []).append((_ANCHOR, k))

    automaton = None
    if actions:
        automaton = ahocorasick.Automaton()
        for word, acts in actions.items():
            automaton.add_word(word, _value(word, acts))
        automaton.make_automaton()
    return CompiledRules(version, automaton, compiled, reason_codes, reason_labels, sorted(actions),
                         patterns or None, tuple(unanchored), float(divert_min_evidence),
                         thresholds or ModelThresholds())


def _anchors(pattern: re.Pattern) -> frozenset[str]:
    """Literal strings of which every match of `pattern` contains one: of the literals, the alternations of
    literals and the small character classes its top level passes through, the set with the longest
    shortest word. Empty: none found, the pattern is searched in every text."""
    from re import _constants as c
    from re import _parser

    def required(items) -> list[frozenset[str]]:
        # `run`: the strings the literal run just passed can be (a small class multiplies them: 撞[了后] ->
        # 撞了, 撞后); anything else ends the run.
        found, run = [], {""}
        for op, av in items:
            if op is c.LITERAL:
                run = {r + chr(av) for r in run}
                continue
            if op is c.IN and len(av) <= 12 and all(o is c.LITERAL for o, _v in av) and len(run) * len(av) <= 64:
                run = {r + chr(v) for r in run for _o, v in av}
                continue
            if run != {""}:
                found.append(frozenset(run))
                run = {""}
            one = None
            if op is c.SUBPATTERN:
                one = _best(required(av[3]))
            elif op is c.BRANCH:
                branches = [_best(required(b)) for b in av[1]]
                if all(branches):
                    one = frozenset().union(*branches)
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
                one = _best(required(av[2]))
            if one:
                found.append(one)
        if run != {""}:
            found.append(frozenset(run))
        return found

    try:
        return _best(required(_parser.parse(pattern.pattern, pattern.flags))) or frozenset()
    except Exception:  # noqa: BLE001 - a parser detail we do not know: search every text, as without anchors
        return frozenset()


def _best(sets: list[frozenset[str]]) -> frozenset[str] | None:
    """Of sets that are all required, the one an alternation can stand for: the longest shortest word."""
    return max(sets, key=lambda s: (min(map(len, s)), -len(s)), default=None)


_name_in_language = lazy(lambda row: row.name, str)  # BilingualName.name, when the label is shown


def _strings(values) -> list[str]:
    return [v.strip() for v in values or [] if isinstance(v, str) and v.strip()] if isinstance(values, list) else []


def pattern_hits(rules: CompiledRules, text: str, hits) -> dict[int, list] | None:
    """The signals' pattern matches in `text`, by reason index, each as an automaton-shaped hit (end, value)
    so spans() and the matches read them alike. A match right after a negation does not count. Searched:
    the patterns whose anchors are among the automaton's `hits`, and those without anchors."""
    todo = set(rules.unanchored)
    for _end, value in hits or ():
        if value[0] < 0 and value[6]:
            todo.update(value[6])
    if not todo:
        return None
    found: dict[int, list] = {}
    patterns = rules.patterns
    for k in sorted(todo):
        ridx, pattern = patterns[k]
        for m in pattern.finditer(text):
            start, end = m.span()
            if end <= start or _negated(text, start):
                continue
            found.setdefault(ridx, []).append((end - 1, (-1, (), end - start, m.group(), (ridx,), (), ())))
    return found or None


def _value(word: str, acts: list[tuple]) -> tuple:
    """What the automaton hands back for `word`, split by kind up front so the scan does no dispatching.
    Both shapes keep the word's length and the word at [2] and [3], so a hit (end, value) gives its span.

    A keyword of one category and nothing else (most words) is its keyword hit, (category_index, weight,
    length, word), filed under the category as it comes. Any other word is (-1, keyword hits, length, word,
    police reason indexes, exclusions (scope, excluded_word, offsets), positions of the patterns it anchors).
    So value[0] >= 0 tells a plain keyword, and its category. A word listed twice counts once."""
    n = len(word)
    kws = tuple({a[1]: (a[1], a[2], n, word) for a in acts if a[0] == _KEYWORD}.values())  # same weight
    reasons = tuple(dict.fromkeys(a[1] for a in acts if a[0] == _POLICE))
    exclusions = tuple(dict.fromkeys((a[1], a[2], a[3]) for a in acts if a[0] == _EXCLUDE))
    anchors = tuple(dict.fromkeys(a[1] for a in acts if a[0] == _ANCHOR))
    if len(kws) == 1 and not reasons and not exclusions and not anchors:
        return kws[0]
    return (-1, kws, n, word, reasons, exclusions, anchors)


def _offsets(phrase: str, word: str) -> tuple[int, ...]:
    found, pos = [], phrase.find(word)
    while word and pos >= 0:
        found.append(pos)
        pos = phrase.find(word, pos + 1)
    return tuple(found)


def _weight(value, word: str) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return float(len(word))  # longer, more specific words weigh more
    return weight if weight > 0 else float(len(word))


def sort_hits(text: str, hits: list):
    """Sort the automaton's hits over `text` into (police, keywords): hits by reason index and by category
    index, None for none, exclusions and negations applied. A hit stays the automaton's own (end, value)
    pair (see _value; spans() makes spans of them): most suggestions never need a span. The common case,
    every hit a plain keyword of one category, does not come here (routing.rules_suggestion)."""
    keywords: dict[int, list] = {}
    special = []
    for hit in hits:
        cidx = hit[1][0]
        if cidx < 0:
            special.append(hit)
        elif cidx in keywords:
            keywords[cidx].append(hit)
        else:
            keywords[cidx] = [hit]
    return _sort_special(text, special, keywords) if special else (None, keywords)


def _sort_special(text: str, special: list, keywords: dict[int, list]):
    """The rest of sort_hits() when some hits are more than a plain keyword: police words, exclusion
    phrases, words of several categories."""
    police = []
    excluded = set()
    for hit in special:
        end, (_special, kws, n, _word, reasons, exclusions, _anchored) = hit
        for kw in kws:
            keywords.setdefault(kw[0], []).append((end, kw))
        if reasons:
            police.append(hit)
        for scope, excluded_word, offsets in exclusions:
            for off in offsets:
                excluded.add((scope, excluded_word, end - n + 1 + off))
    if excluded:
        for cidx in list(keywords):
            kept = [h for h in keywords[cidx] if (cidx, h[1][3], h[0] - h[1][2] + 1) not in excluded]
            if kept:
                keywords[cidx] = kept
            else:
                del keywords[cidx]
    by_reason: dict[int, list] = {}
    for hit in police:
        end, (_special, _kws, n, word, reasons, _exclusions, _anchored) = hit
        start = end - n + 1
        if (excluded and (-1, word, start) in excluded) or _negated(text, start):
            continue
        for ridx in reasons:
            by_reason.setdefault(ridx, []).append(hit)
    return by_reason or None, keywords or None


def spans(hits: list) -> list[tuple[int, int, str]]:
    """(start, end, word) of the automaton's hits, in text order."""
    return sorted((end - v[2] + 1, end + 1, v[3]) for end, v in hits)


# --- The per-process cache and its version check -------------------------------------------------------
_lock = threading.Lock()
_rules: CompiledRules | None = None
_checked_at = 0.0
_interval = 0.0
# The counters the database reported at the last check; the learned model's cache reads "model" here.
last_versions: dict[str, int] = {}


def catalog_reset() -> None:
    """Forget the compiled rules in this process; the next suggestion compiles them again."""
    global _rules
    with _lock:
        _rules = None


def catalog_bump(key: str = "catalog") -> None:
    """Tell every process the catalog changed: bump its version in the database (inside the caller's
    transaction, so other processes see the new number exactly when they can see the change) and forget
    this process's compiled rules at once."""
    from diversion.models import CatalogVersion

    if not CatalogVersion.objects.filter(key=key).update(version=F("version") + 1):
        _obj, created = CatalogVersion.objects.get_or_create(key=key, defaults={"version": 1})
        if not created:
            CatalogVersion.objects.filter(key=key).update(version=F("version") + 1)
    if key == "catalog":
        catalog_reset()


def db_versions() -> dict[str, int]:
    from diversion.models import CatalogVersion

    return dict(CatalogVersion.objects.values_list("key", "version"))


def current_rules() -> CompiledRules:
    """The compiled rules, rebuilt when the catalog's version in the database moved on. The database is
    asked at most every ROUTING_VERSION_CHECK_SECONDS."""
    global _rules, _checked_at, _interval
    rules = _rules
    now = time.monotonic()
    if rules is not None and now - _checked_at < _interval:
        return rules
    with _lock:
        # Read here, not on the fast path (a settings lookup costs as much as the check itself).
        _interval = settings.ROUTING_VERSION_CHECK_SECONDS
        versions = db_versions()
        version = versions.get("catalog", 0)
        if _rules is None or _rules.version != version:
            _rules = _build(version)
        _checked_at = now
        last_versions.clear()
        last_versions.update(versions)
        return _rules


def _build(version: int) -> CompiledRules:
    from diversion.models import Category, PoliceSignal, RoutingSettings

    categories = Category.objects.filter(active=True).select_related("default_department", "group").order_by("code")
    signals = PoliceSignal.objects.filter(active=True).order_by("order", "code")
    row = RoutingSettings.current()
    return compile_rules(version, list(categories), list(signals), row.divert_min_evidence, ModelThresholds.of(row))
