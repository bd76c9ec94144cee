"""Routing quality: the suggestion measured against what the dispatchers decided, per week (issue 35).

A suggestion nobody watches drifts: new scams, new slang, a department that changes what it owns. The
centre's own decisions say where it was wrong, and the misses that matter are the calls it suggested
diverting (`non_police`) that a dispatcher kept with the police.

- `week_figures`: per local week (Monday to Sunday, by the time the call came in), over the calls a
  dispatcher decided: how often the decision and the sub-category were kept, the undecided share, the
  misses, the calls kept with the police against a suggestion to divert and the reverse.
- `misses`: those calls, newest first; `miss_facts`: what the suggestion saw in one (its matched words, the
  models' confidence), read from what was stored at intake.
- `overrides_by_category`: per suggested sub-category, how often the dispatcher chose otherwise.
- `active_models`: the models suggestions use now, with their stored figures.
- `digest`: the week's figures, its trend against the week before and its misses (the weekly e-mail).
- `police_word_add`: an administrator adds a missing word to a police signal from a miss, audited; the
  catalog version moves in the same transaction, so new calls are suggested with it at once.
- `retrain_request`: a supervisor or administrator asks for the models to be trained again, audited; the
  training runs as the existing task, queued through the outbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_write
from core.errors import DomainError
from core.models import Role
from core.outbox import outbox_put
from core.roles import is_administrator
from core.times import day_start

WEEKS_SHOWN = 8
MAX_WORD = 20

# The calls a dispatcher decided; of those, the suggestion's misses that matter.
DECIDED = Q(is_police__isnull=False)  # set only by the dispatcher's decision, with classified_at
MISS = Q(suggested_police=False, is_police=True)


def week_of(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    """[start, end) of the local week beginning on `monday`."""
    return day_start(monday), day_start(monday + timedelta(days=7))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class WeekFigures:
    """One week's decided calls and how the suggestion fared. Rates are None for a week without the calls
    they are taken over."""

    monday: date
    decided: int = 0
    suggested: int = 0  # decided calls the suggestion took a side on (police or non_police)
    decision_kept: int = 0
    undecided: int = 0
    diverted_suggested: int = 0  # diverted calls the suggestion named a sub-category for
    category_kept: int = 0
    misses: int = 0  # suggested non_police, kept with the police
    kept_against: int = 0  # suggested police, diverted by the dispatcher

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def decision_rate(self) -> float | None:
        return _rate(self.decision_kept, self.suggested)

    @property
    def override_rate(self) -> float | None:
        """The share of the suggestion's decisions the dispatchers turned the other way."""
        return _rate(self.suggested - self.decision_kept, self.suggested)

    @property
    def category_rate(self) -> float | None:
        return _rate(self.category_kept, self.diverted_suggested)

    @property
    def undecided_share(self) -> float | None:
        return _rate(self.undecided, self.decided)

    def as_dict(self) -> dict:
        rates = ("decision_rate", "override_rate", "category_rate", "undecided_share")
        return {"monday": self.monday.isoformat(), "decided": self.decided, "suggested": self.suggested,
                "decision_kept": self.decision_kept, "undecided": self.undecided,
                "diverted_suggested": self.diverted_suggested, "category_kept": self.category_kept,
                "misses": self.misses, "kept_against": self.kept_against,
                **{r: None if getattr(self, r) is None else round(getattr(self, r), 4) for r in rates}}


def _decided_calls():
    from incidents.models import Call

    return Call.objects.filter(DECIDED)


# What each week counts, over its decided calls (see WeekFigures).
_COUNTS = {
    "suggested": Q(suggested_police__isnull=False),
    "decision_kept": Q(suggested_police=F("is_police")),
    "undecided": Q(suggested_police__isnull=True),
    "diverted_suggested": Q(is_police=False, suggested_category__isnull=False),
    "category_kept": Q(is_police=False, category=F("suggested_category")),
    "misses": MISS,
    "kept_against": Q(suggested_police=True, is_police=False),
}


# A past week's figures are kept this long in the cache (a late decision on one of its calls shows after it);
# the current week is always counted live.
WEEK_CACHE_SECONDS = 900


def _week_key(monday: date) -> str:
    return f"routing-quality:week:{monday.isoformat()}"


def week_figures(*, last: date, weeks: int = WEEKS_SHOWN) -> list[WeekFigures]:
    """The figures of `weeks` weeks ending with the one holding `last`, newest first. Past weeks come from the
    cache when they are there (WEEK_CACHE_SECONDS); the others are counted in one query grouped by local
    week over the calls received in them (eight weeks of 560,000 calls: about 310 ms on PostgreSQL)."""
    from django.core.cache import cache

    newest = week_of(last)
    mondays = [newest - timedelta(weeks=n) for n in range(weeks)]
    this_week = week_of(timezone.localdate())
    cached = cache.get_many([_week_key(m) for m in mondays if m < this_week])
    figures = {m: WeekFigures(m, **cached[_week_key(m)]) for m in mondays if _week_key(m) in cached}
    todo = [m for m in mondays if m not in figures]
    if todo:
        counted = _count_weeks(min(todo), max(todo))
        for monday in todo:
            figures[monday] = WeekFigures(monday, **counted.get(monday, {}))
        cache.set_many({_week_key(m): counted.get(m, {}) for m in todo if m < this_week}, WEEK_CACHE_SECONDS)
    return [figures[m] for m in mondays]


def _count_weeks(first: date, last: date) -> dict[date, dict]:
    """The counts of the weeks from the one beginning `first` to the one beginning `last`, by Monday."""
    start, end = week_bounds(first)[0], week_bounds(last)[1]
    rows = (_decided_calls().filter(received_at__gte=start, received_at__lt=end)
            .annotate(week=TruncWeek("received_at", tzinfo=timezone.get_current_timezone()))
            .values("week").annotate(decided=Count("id"),
                                     **{name: Count("id", filter=condition) for name, condition in _COUNTS.items()})
            .order_by())
    by_week = {}
    for row in rows:
        week = row.pop("week")
        by_week[timezone.localtime(week).date() if isinstance(week, datetime) else week] = row
    return by_week


def misses(*, start: datetime, end: datetime):
    """The calls received in [start, end) the suggestion would have diverted and a dispatcher kept with the
    police, newest first."""
    return (_decided_calls().filter(MISS, received_at__gte=start, received_at__lt=end)
            .select_related("suggested_category", "category", "classified_by").order_by("-received_at", "-id"))


@dataclass
class MissFacts:
    """What the suggestion saw in a call, as stored at intake."""

    words: list[str] = field(default_factory=list)
    police_probability: float | None = None  # the keep-or-divert model's, if one was active
    keep_version: int | None = None
    model_label: str = ""  # the department model's answer and confidence, if one was active
    model_confidence: float | None = None
    model_version: int | None = None


def miss_facts(call, names: dict[str, str] | None = None) -> MissFacts:
    """`names`: category_names(), when many calls are read."""
    stored = call.suggestions or {}
    words: list[str] = []
    for candidate in stored.get("candidates", []):
        for match in candidate.get("matches", []):
            if match.get("word") and match["word"] not in words:
                words.append(match["word"])
    facts = MissFacts(words=words)
    if keep := stored.get("keep"):
        facts.police_probability, facts.keep_version = keep.get("police_probability"), keep.get("version")
    if model := stored.get("model"):
        facts.model_label = label_name(model.get("label", ""), names if names is not None else category_names())
        facts.model_confidence = model.get("confidence")
        facts.model_version = model.get("version")
    return facts


def category_names() -> dict[str, str]:
    """Every sub-category's code and name in the active language, by code (one query for a page of misses)."""
    from diversion.models import Category

    return {c.code: f"{c.code} {c.name}" for c in Category.objects.only("code", "name_zh", "name_en")}


def label_name(label: str, names: dict[str, str]) -> str:
    """A department model's answer in words: a police matter, a sub-category's code and name, a family."""
    from .families import FAMILY_LABELS
    from .learning import POLICE_LABEL

    if label == POLICE_LABEL:
        return str(_("police matter"))
    if label in FAMILY_LABELS:
        return str(FAMILY_LABELS[label])
    return names.get(label, label)


def overrides_by_category(*, start: datetime, end: datetime) -> list[dict]:
    """Per suggested sub-category over the decided calls received in [start, end): how many were suggested,
    how many the dispatcher kept with the police against a suggestion to divert, how many went to another
    sub-category. Only the sub-categories overridden at least once, most overridden first."""
    rows = (_decided_calls().filter(received_at__gte=start, received_at__lt=end, suggested_category__isnull=False)
            .values("suggested_category__code", "suggested_category__name_zh", "suggested_category__name_en")
            .annotate(suggested=Count("id"), kept_police=Count("id", filter=MISS),
                      other_category=Count("id", filter=Q(is_police=False) & ~Q(category=F("suggested_category"))))
            .order_by())
    out = []
    for r in rows:
        overridden = r["kept_police"] + r["other_category"]
        if overridden:
            out.append({"code": r["suggested_category__code"], "name_zh": r["suggested_category__name_zh"],
                        "name_en": r["suggested_category__name_en"], "suggested": r["suggested"],
                        "kept_police": r["kept_police"], "other_category": r["other_category"],
                        "overridden": overridden, "rate": overridden / r["suggested"]})
    out.sort(key=lambda r: (-r["overridden"], r["code"]))
    return out


def active_models():
    """The models suggestions use now (a department model and a keep-or-divert model, either may be
    missing), without their stored bytes."""
    from diversion.models import RoutingModel

    return list(RoutingModel.objects.filter(active=True).defer("blob").select_related("trained_by")
                .order_by("kind", "-version"))


# --- The weekly digest ----------------------------------------------------------------------------------

def digest(monday: date) -> dict:
    """The week beginning `monday`: its figures, the week before's (the trend) and every miss, newest first,
    as plain values for the e-mail and its test."""
    this, before = week_figures(last=monday, weeks=2)
    start, end = week_bounds(monday)
    rows, names = [], category_names()
    for call in misses(start=start, end=end):
        facts = miss_facts(call, names)
        rows.append({"pk": call.pk, "call_id": call.call_id,
                     "received_at": timezone.localtime(call.received_at).strftime("%Y-%m-%d %H:%M"),
                     "suggested_category": call.suggested_category.code if call.suggested_category else "",
                     "words": facts.words, "police_probability": facts.police_probability})
    trend = None
    if this.override_rate is not None and before.override_rate is not None:
        trend = round(this.override_rate - before.override_rate, 4)
    return {"week": this.as_dict(), "previous": before.as_dict(), "override_trend": trend, "misses": rows}


def digest_queue(monday: date) -> None:
    """Queue the digest of the week beginning `monday` for the supervisors, once per week (the outbox key)."""
    with transaction.atomic():
        outbox_put("routing.weekly_digest", {"monday": monday.isoformat()}, key=f"routing-digest:{monday}")


# --- Changes: a word from a miss, a retraining -----------------------------------------------------------

# A word must hold a letter (not only punctuation, digits or spaces), and may not keep with the police more
# than this share of the calls dispatchers diverted in the last WORD_REACH_DAYS (when there were at least
# WORD_REACH_MIN of them): a word that broad would stop most diversions, not mend a miss.
_LETTER = re.compile(r"[^\W\d_]")
WORD_REACH_DAYS = 28
WORD_REACH_MAX = 0.05
WORD_REACH_MIN = 40


@dataclass
class WordAdded:
    signal: object
    word: str
    diverted: int  # calls diverted in the last WORD_REACH_DAYS ...
    containing: int  # ... of which hold the word: those the word would now keep with the police


def police_word_add(*, actor, call_pk: int, signal_code: str, word: str) -> WordAdded:
    """Add `word`, which must stand in the text of a miss (a call suggested for diverting that a dispatcher
    kept with the police), to the police signal `signal_code`. Administrators only. Refused when the word
    would keep with the police more than WORD_REACH_MAX of the recently diverted calls. The signal's save
    moves the catalog version in this transaction (diversion.signals): this process suggests with the word
    at once, every other one within ROUTING_VERSION_CHECK_SECONDS."""
    from diversion.models import PoliceSignal
    from incidents.models import Call

    if not is_administrator(actor):
        raise PermissionDenied
    word = (word or "").strip()
    if not word:
        raise DomainError(_("Give the word that marks this call as a police matter."), code="word_required")
    if len(word) > MAX_WORD:
        raise DomainError(_("A signal word has at most %(n)s characters.") % {"n": MAX_WORD}, code="word_too_long")
    if not _LETTER.search(word):
        raise DomainError(_("A signal word needs at least one letter or character, not only punctuation, digits "
                            "or spaces."), code="word_no_letter")
    with transaction.atomic():
        call = _decided_calls().filter(MISS, pk=call_pk).first()
        if call is None:
            raise DomainError(_("Words are added from a miss: a call suggested for diverting that a dispatcher "
                                "kept with the police."), code="not_a_miss")
        if word not in call.content:
            raise DomainError(_("“%(word)s” does not appear in the call's text.") % {"word": word},
                              code="word_not_in_text")
        signal = PoliceSignal.objects.select_for_update().filter(code=signal_code, active=True).first()
        if signal is None:
            raise DomainError(_("Choose one of the active police signals."), code="signal_not_found")
        if word in signal.words:
            raise DomainError(_("“%(word)s” is already a word of %(signal)s.") % {"word": word,
                                                                                 "signal": signal.name_zh},
                              code="word_present")
        recent = Call.objects.filter(is_police=False,
                                     received_at__gte=timezone.now() - timedelta(days=WORD_REACH_DAYS))
        diverted = recent.count()
        containing = recent.filter(content__contains=word).count() if diverted else 0
        if diverted >= WORD_REACH_MIN and containing > WORD_REACH_MAX * diverted:
            raise DomainError(
                _("“%(word)s” stands in %(n)s of the %(total)s calls diverted in the last %(days)s days: as a police "
                  "signal it would keep them all with the police. Choose a narrower word.") % {
                    "word": word, "n": containing, "total": diverted, "days": WORD_REACH_DAYS},
                code="word_too_broad")
        signal.words = [*signal.words, word]
        signal.save(update_fields=["words", "updated_at"])
        audit_write(actor=actor, action="police_word_added", obj=signal, call=call, to_state=signal.code,
                    data={"word": word, "signal": signal.code, "diverted": diverted, "containing": containing})
    return WordAdded(signal, word, diverted, containing)


RETRAIN_PENDING = timedelta(minutes=10)


def retrain_pending():
    """The audit row of a retraining asked for in the last RETRAIN_PENDING with no model stored since (still
    on its way), or None."""
    from core.models import AuditLog
    from diversion.models import RoutingModel

    pending = (AuditLog.objects.filter(action="routing_retrain_requested", at__gte=timezone.now() - RETRAIN_PENDING)
               .select_related("actor").order_by("-at").first())
    if pending is None or RoutingModel.objects.filter(created_at__gte=pending.at).exists():
        return None
    return pending


def retrain_request(*, actor):
    """Queue a training of both models from the confirmed calls (diversion.tasks.routing_model_train), audited.
    Supervisors and administrators; the training runs in a worker, never in the request. A request made
    in the last RETRAIN_PENDING with no model stored since is still on its way: a second click (or a second
    supervisor) queues nothing and gets that request's audit row back. Returns (audit row, queued now)."""
    from diversion.models import CatalogVersion

    if not (getattr(actor, "is_authenticated", False) and (actor.has_role(Role.SUPERVISOR)
                                                           or is_administrator(actor))):
        raise PermissionDenied
    with transaction.atomic():
        # One request at a time: the model version counter's row is the lock.
        CatalogVersion.objects.get_or_create(key=CatalogVersion.MODEL)
        CatalogVersion.objects.select_for_update().get(key=CatalogVersion.MODEL)
        pending = retrain_pending()
        if pending is not None:
            return pending, False
        row = audit_write(actor=actor, action="routing_retrain_requested", obj=actor)
        outbox_put("routing.retrain", {"actor": actor.pk, "audit": row.pk}, key=f"routing-retrain:{row.pk}")
    return row, True
