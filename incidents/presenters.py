"""Shape a call for the dispatcher's panel: highlighted text, numbered suggestions, repeat panel."""

from diversion.models import Category, Department
from diversion.routing import highlight_spans
from grids.models import Unit

from .models import Call
from .selectors import repeats_flagged


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
    if stored.get("police"):
        default_choice = "police"
    elif suggestions:
        default_choice = suggestions[0]["code"]
    else:
        default_choice = ""
    return {
        "call": call,
        "text_pieces": highlight_spans(call.content, all_matches),
        "police_pieces": highlight_spans(call.content, police_matches) if police_matches else None,
        "suggestions": suggestions,
        "police_reasons": reasons,
        "police_forced": bool(stored.get("police")),
        "repeats": repeats,
        "repeats_flagged": repeats_flagged(repeats),
        "related_calls": related,
        "units": Unit.objects.filter(available=True),
        "departments": Department.objects.filter(active=True),
        "default_choice": default_choice,
        "can_reveal": can_reveal_phone(user, call),
    }
