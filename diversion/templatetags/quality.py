from django import template

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """A share (0–1) as a percentage; None (nothing to take it over) as a dash."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"
