"""繁简分流: the rules that suggest whether a dispute is simple or complex. The mediator decides; the
suggestion and the facts behind it are kept with the decision."""

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

RULE_LABELS = {
    "parties": _("many parties"),
    "repeat_calls": _("repeated calls to 110"),
    "amount": _("large sum of money involved"),
    "prior_files": _("earlier dispute files for the same people or place"),
}


@dataclass(frozen=True)
class TriageFacts:
    parties: int
    repeat_calls: int
    amount: Decimal | None
    prior_files: int

    def as_dict(self) -> dict:
        data = asdict(self)
        data["amount"] = str(self.amount) if self.amount is not None else None
        return data


def complexity_suggest(facts: TriageFacts) -> tuple[str, list[str]]:
    """("complex", [rules that fired]) when any rule fires, else ("simple", [])."""
    fired = []
    if facts.parties >= settings.MEDIATION_COMPLEX_PARTIES:
        fired.append("parties")
    if facts.repeat_calls >= settings.MEDIATION_COMPLEX_REPEAT_CALLS:
        fired.append("repeat_calls")
    if facts.amount is not None and facts.amount >= settings.MEDIATION_COMPLEX_AMOUNT:
        fired.append("amount")
    if facts.prior_files >= settings.MEDIATION_COMPLEX_PRIOR_FILES:
        fired.append("prior_files")
    return ("complex" if fired else "simple"), fired
