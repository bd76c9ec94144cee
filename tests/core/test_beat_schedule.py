"""The one beat schedule names only tasks a worker knows: a task moved to another module breaks here, not in
production at 00:30."""

from config.celery import app


def test_every_task_in_the_beat_schedule_is_registered_with_the_worker_app(settings):
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery included
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert scheduled, "the beat schedule is empty"
    assert scheduled - set(app.tasks) == set()
