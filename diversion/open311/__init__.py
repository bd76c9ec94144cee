"""Open311 GeoReport v2 at /open311/v2/ (issue 41), for departments' case systems and partners such as a city
app: the sub-categories as services (`services` discovery and definitions), the slips as service requests with
mySociety's extended statuses (`selectors`), a partner's report posted as a call in the dispatchers' queue
(`services`), JSON and XML as the specification writes them (`renderers`) and its error format (`api`).

May import core, diversion's models, selectors and services, and incidents' models and services; nothing outside
the URL configuration imports it."""
