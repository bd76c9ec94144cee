from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import routing
from .models import Category, Department, DepartmentOverride, PoliceSignal, RoutingSettings


@receiver([post_save, post_delete], sender=Category)
@receiver([post_save, post_delete], sender=Department)
@receiver([post_save, post_delete], sender=DepartmentOverride)
@receiver([post_save, post_delete], sender=PoliceSignal)
@receiver([post_save, post_delete], sender=RoutingSettings)
def catalog_changed(sender, **kwargs):
    # Bumps the catalog version in this transaction: every process rebuilds its rules once it commits.
    routing.catalog_bump()
