"""Settings for bench/intake.py's gunicorn: the project's, with the bare baseline endpoint beside the API."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bare"]  # noqa: F405
ROOT_URLCONF = "intake_urls"
