import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The packages whose tasks.py holds Celery tasks or outbox handlers: the apps that have one, and the packages
# that hold a concern of their own.
TASK_PACKAGES = ["core", "incidents", "incidents.review", "diversion", "diversion.supervision", "grids", "mediation"]

app = Celery("fenliu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(TASK_PACKAGES)
