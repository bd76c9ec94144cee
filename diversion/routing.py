"""The suggestion engine behind one function: `suggest(text, context=None)`.

Text in; out: whether the call must stay with the police (and why), and ranked sub-category
candidates with the words that matched and where. Keyword rules come from the catalog; the
keep-with-police words are the fixed list below plus each sub-category's own conditions.
"""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext_lazy as _

# Keep-with-police words by reason. Bare characters that occur inside harmless words (偷 in 偷排,
# 抢 in 抢救, 刀 in 刀削面) are avoided; phrases are used instead.
POLICE_WORDS = {
    "weapon": (_("Weapon"), ["持刀", "拿刀", "菜刀", "砍刀", "匕首", "动刀", "持械", "棍棒", "铁棍", "枪"]),
    "injury": (_("Injury"), ["受伤", "流血", "伤人", "砍伤", "打伤", "头破血流", "见血"]),
    "fighting": (_("Fighting"), ["打架", "斗殴", "打人", "动手", "互殴", "群殴", "被打", "扭打", "家暴"]),
    "theft": (_("Theft or robbery"), ["被偷", "偷东西", "小偷", "盗窃", "被盗", "扒手", "抢劫", "抢包", "抢夺",
                                      "偷走", "偷了"]),
    "fraud": (_("Fraud"), ["诈骗", "被骗", "骗子", "骗了", "刷单"]),
    "missing": (_("Missing person"), ["走失", "失踪", "走丢", "孩子不见了", "老人不见了", "人不见了", "联系不上"]),
    "suicide": (_("Suicide risk"), ["自杀", "跳楼", "轻生", "割腕", "不想活", "寻死", "跳河"]),
    "traffic": (_("Traffic accident"), ["车祸", "交通事故", "撞人", "撞车", "肇事", "逃逸", "被车撞", "追尾"]),
    "gathering": (_("Group gathering"), ["聚集", "围堵", "群体", "堵路", "拉横幅", "围攻", "上百人", "几十人"]),
}
# A match directly preceded by one of these, with at most 任何/人/人员 between, is negated (“没有人受伤”,
# “未打架”). Only directly: a negation further back belongs to something else (“无缘无故被打了”,
# “孩子没回来，联系不上”, “没带手机走失了”), and missing a police matter is the costly mistake.
NEGATIONS = ("没有", "没", "未", "无", "并非", "不是")
NEGATION_WINDOW = 6
_NEGATED_BEFORE = re.compile(rf"(?:{'|'.join(NEGATIONS)})(?:任何)?(?:人员|人)?$")
MAX_CANDIDATES = 9


@dataclass(frozen=True)
class Match:
    word: str
    start: int
    end: int


@dataclass
class PoliceReason:
    code: str
    label: str
    matches: list[Match]


@dataclass
class Candidate:
    code: str
    name: str
    department: str
    score: float
    matches: list[Match]


@dataclass
class Suggestion:
    police: bool
    police_reasons: list[PoliceReason] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def as_dict(self) -> dict:
        return {
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
        }


@dataclass
class _CompiledCategory:
    code: str
    name: str
    department: str
    keywords: list[str]
    police_keywords: list[str]
    police_conditions: str


_lock = threading.Lock()
_compiled: list[_CompiledCategory] | None = None


def catalog_reset() -> None:
    """Forget the compiled catalog; the next suggestion reads it again (called when it changes)."""
    global _compiled
    with _lock:
        _compiled = None


def _catalog() -> list[_CompiledCategory]:
    global _compiled
    with _lock:
        if _compiled is None:
            from .models import Category

            _compiled = [
                _CompiledCategory(
                    code=c.code, name=c.name_zh, department=c.default_department.code,
                    keywords=[k for k in c.keywords if k], police_keywords=[k for k in c.police_keywords if k],
                    police_conditions=c.police_conditions,
                )
                for c in Category.objects.filter(active=True).select_related("default_department")
            ]
        return _compiled


def _negated(text: str, start: int) -> bool:
    return _NEGATED_BEFORE.search(text[max(0, start - NEGATION_WINDOW):start]) is not None


def _find(text: str, word: str, *, check_negation: bool = False) -> list[Match]:
    found, pos = [], text.find(word)
    while pos >= 0:
        if not (check_negation and _negated(text, pos)):
            found.append(Match(word, pos, pos + len(word)))
        pos = text.find(word, pos + 1)
    return found


def suggest(text: str, context: dict | None = None) -> Suggestion:
    """Rank sub-categories for a call text and decide whether it must stay with the police.

    `context` (address, grid, time) is accepted for the learned engine that replaces this one."""
    text = text or ""
    reasons: list[PoliceReason] = []
    for code, (label, words) in POLICE_WORDS.items():
        matches = [m for w in words for m in _find(text, w, check_negation=True)]
        if matches:
            reasons.append(PoliceReason(code, label, sorted(matches, key=lambda m: m.start)))

    candidates = []
    for cat in _catalog():
        police_hits = [m for w in cat.police_keywords for m in _find(text, w, check_negation=True)]
        if police_hits:
            reasons.append(PoliceReason(f"category:{cat.code}", cat.police_conditions or cat.name, police_hits))
        matches = [m for w in cat.keywords for m in _find(text, w)]
        if not matches:
            continue
        # Longer, more specific words weigh more; each distinct word counts once.
        score = sum(len(w) for w in {m.word for m in matches})
        candidates.append(Candidate(cat.code, cat.name, cat.department, float(score),
                                    sorted(matches, key=lambda m: m.start)))
    total = sum(c.score for c in candidates) or 1.0
    for c in candidates:
        c.score = c.score / total
    candidates.sort(key=lambda c: (-c.score, c.code))
    return Suggestion(police=bool(reasons), police_reasons=reasons, candidates=candidates[:MAX_CANDIDATES])


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
