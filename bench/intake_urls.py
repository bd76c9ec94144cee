from bare.api import BareCallCreate
from django.urls import path

from config.urls import urlpatterns as project

urlpatterns = [*project, path("bench/bare/", BareCallCreate.as_view())]
