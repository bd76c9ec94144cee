from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import routing
from .models import Category, Department


@receiver([post_save, post_delete], sender=Category)
@receiver([post_save, post_delete], sender=Department)
def catalog_changed(sender, **kwargs):
    routing.catalog_reset()
