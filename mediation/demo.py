"""The embedded demo's mediation: the demo mediator keeps the dispute files of one police station."""

from .models import Mediator


def seed_mediator(user, station) -> Mediator:
    """The demo mediator keeps the files of `station` (丽君派出所 in the demo)."""
    mediator, _ = Mediator.objects.get_or_create(user=user, defaults={"station": station})
    return mediator
