"""Periodic jobs for grids. Safe to run twice."""

from celery import shared_task

from . import services


@shared_task
def hotspots_review() -> int:
    """Close the hotspot cases whose grid has stayed under the threshold for the quiet period."""
    return services.hotspots_review()
