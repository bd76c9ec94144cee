"""Periodic jobs for grids. Safe to run twice."""

from celery import shared_task

from core import outbox

from . import services


@shared_task
def hotspots_review() -> int:
    """Close the hotspot cases whose grid has stayed under the threshold for the quiet period."""
    return services.hotspots_review()


@outbox.handler("grids.place_unplaced")
def place_unplaced(payload: dict, key: str) -> int:
    """Queued by an address-list import: the calls no grid held are placed again by their address."""
    from incidents.services import calls_place_unplaced

    return calls_place_unplaced()
