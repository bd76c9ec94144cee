"""Shape a call for the dispatcher's panel (highlighted text, numbered suggestions, repeat panel) and a
dispatcher's decision for the call's page (what the suggestion offered, what was chosen)."""

from django.utils.translation import gettext_lazy as _

from diversion.models import Category, Department
from diversion.routing import DECISION_LABELS, NON_POLICE, POLICE, UNDECIDED, highlight_spans
from grids.selectors import unit_choices

from .models import Call, CallStatus
from .selectors import repeats_flagged


def stored_decision(stored: dict) -> str:
    """The decision of a stored suggestion; one stored before there were three outcomes is read as it was
    then shown (police, else non-police when a sub-category matched)."""
    if stored.get("decision") in DECISION_LABELS:
        return stored["decision"]
    if stored.get("police"):
        return POLICE
    return NON_POLICE if stored.get("candidates") else UNDECIDED


def call_panel_context(user, call: Call) -> dict:
    from .services import can_reveal_phone

    stored = call.suggestions or {}
    candidates = stored.get("candidates", [])
    reasons = stored.get("police_reasons", [])
    categories = Category.objects.select_related("default_department", "time_limit_class").in_bulk(
        [c["code"] for c in candidates], field_name="code")
    suggestions = [
        {"index": i, "code": c["code"], "score": c["score"], "category": categories.get(c["code"]),
         "words": sorted({m["word"] for m in c["matches"]}), "percent": round(c["score"] * 100)}
        for i, c in enumerate(candidates, start=1) if c["code"] in categories
    ]
    all_matches = [m for c in candidates for m in c["matches"]]
    police_matches = [m for r in reasons for m in r["matches"]]
    repeats = call.repeats or {}
    related_ids = set(repeats.get("phone_calls", [])) | set(repeats.get("place_calls", []))
    related = Call.objects.filter(pk__in=related_ids).select_related("category").order_by("-received_at")
    decision = stored_decision(stored)
    flags = {f["code"] for f in stored.get("flags", [])}
    if decision == POLICE:
        default_choice = "police"
    elif decision == NON_POLICE and suggestions:
        default_choice = suggestions[0]["code"]
    else:
        default_choice = ""  # undecided: nothing is preselected, the dispatcher decides
    unit_rows, nearest_unit = unit_choices(call)
    return {
        "call": call,
        "text_pieces": highlight_spans(call.content, all_matches),
        "police_pieces": highlight_spans(call.content, police_matches) if police_matches else None,
        "suggestions": suggestions,
        "police_reasons": reasons,
        "police_forced": decision == POLICE,
        "decision": decision,
        "decision_label": DECISION_LABELS[decision],
        # The keep-or-divert model's police probability, and whether it moved the decision (routing.weigh_keep).
        "keep": stored.get("keep"),
        "model_kept": decision == POLICE and "model_police" in flags,
        "vetoed": decision == UNDECIDED and "model_veto" in flags,
        "repeats": repeats,
        "repeats_flagged": repeats_flagged(repeats),
        "related_calls": related,
        # Nearest free unit first and preselected; busy patrol groups last, marked (grids.selectors).
        "units": unit_rows,
        "nearest_unit": nearest_unit,
        "departments": Department.objects.filter(active=True),
        "default_choice": default_choice,
        "can_reveal": can_reveal_phone(user, call),
        # Why it is back in the queue: a department's return, or a review layer sending it back (issue 40).
        "returned_because": _returned_because(call),
    }


def _returned_because(call: Call) -> str:
    if call.status != CallStatus.RETURNED:
        return ""
    row = call.audit_rows.filter(action="call_status", to_state=CallStatus.RETURNED).order_by("-pk").first()
    return row.reason_display if row is not None else ""


OUTCOME_LABELS = {
    "accepted": _("Suggestion accepted"),
    "overridden": _("Suggestion overridden"),
    "own": _("Decided without a suggestion"),
}


def decision_summaries(rows) -> dict | None:
    """Give each "Classified" audit row in `rows` (oldest first) a `choice`: what the dispatcher's page
    offered, what was chosen and whether that was the suggestion (accepted), something else (overridden) or
    the dispatcher's own call on an undecided suggestion; return the latest one's. Rows written before the
    outcome was kept are read from `agreed`."""
    rows = [r for r in rows if r.action == "call_classify"]
    codes = {c for r in rows for c in (r.data.get("suggested_category"), r.data.get("chosen_category")) if c}
    categories = Category.objects.in_bulk(codes, field_name="code")

    def named(code):
        return f"{code} {categories[code].name}" if code in categories else code

    for row in rows:
        d = row.data
        decision = d.get("suggested_decision") or {True: POLICE, False: NON_POLICE}.get(d.get("suggested_police"),
                                                                                         UNDECIDED)
        offered = str(DECISION_LABELS[decision])
        if decision == NON_POLICE and d.get("suggested_category"):
            offered += f" · {named(d['suggested_category'])}"
        chosen = _("Police matter") if d.get("chosen_police") else named(d.get("chosen_category")) or "—"
        outcome = d.get("outcome") or ("accepted" if d.get("agreed") else "overridden")
        row.choice = {"offered": offered, "chosen": chosen, "outcome": outcome,
                      "outcome_label": OUTCOME_LABELS[outcome], "version": d.get("version")}
    return rows[-1].choice if rows else None
