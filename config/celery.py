import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("fenliu")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py, and the tasks of the packages that hold a concern of their own.
app.autodiscover_tasks()
app.autodiscover_tasks(["incidents.review", "diversion.supervision"])
