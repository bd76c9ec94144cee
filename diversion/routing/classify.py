"""One row of routing per text, as classify_texts writes it and evaluate_routing scores it."""

from __future__ import annotations

from .families import FAMILY_DEPARTMENT, family_of

OUTPUT_COLUMNS = ["police_or_non_police", "category_code", "group_code", "department", "department_family",
                  "confidence", "matched"]


def classification_row(suggestion, rules, model=None) -> dict:
    """Police or not as the suggestion decided (rules, then the keep-or-divert model); where a non-police
    call would go from the combined ranking. With a family model (trained on department families), the
    family is the model's answer and the sub-category is the best-ranked one of that family, if any; a police
    call still gets the columns saying where it would go if it were diverted."""
    by_code = rules.by_code
    top = suggestion.top
    family = ""
    chosen = top
    confidence = top.score if top else 0.0
    opinion = suggestion.model
    if model is not None and opinion is not None and model.kind == "family":
        family = opinion.label
        confidence = opinion.confidence
        chosen = next((c for c in suggestion.candidates
                       if family_of(category_code=c.code, department_code=c.department) == family), None)
    elif chosen is not None:
        family = family_of(category_code=chosen.code, department_code=chosen.department)
        if opinion is not None and opinion.used:
            confidence = max(confidence, opinion.confidence) if opinion.label == chosen.code else confidence
    category = by_code.get(chosen.code) if chosen else None
    department = chosen.department if chosen else FAMILY_DEPARTMENT.get(family, "")
    matches = sorted({(m.word, m.start) for r in suggestion.police_reasons for m in r.matches}
                     | {(m.word, m.start) for c in suggestion.candidates for m in c.matches},
                     key=lambda wm: (wm[1], wm[0]))
    return {
        "police_or_non_police": suggestion.decision,
        "category_code": category.code if category else "",
        "group_code": category.group if category else "",
        "department": department,
        "department_family": family,
        "confidence": f"{confidence:.3f}",
        "matched": " ".join(f"{w}@{s}" for w, s in matches),
    }


def classify_texts(texts: list[str], *, model=None, keep_model=None, use_model: bool = True) -> list[dict]:
    """Rows for many texts: the rules, and the models given (or the active stored ones when neither is given
    and `use_model`), each run once over all."""
    from . import _models, current_rules, suggest_many

    rules = current_rules()
    model, keep_model = _models(model, keep_model, use_model)
    suggestions = suggest_many(texts, model=model, keep_model=keep_model, use_model=False)
    return [classification_row(s, rules, model) for s in suggestions]
