"""The daily incident review (警情日研判): what the nightly job counts and how supervisors read it.

- services: build and store a day's review (city and every large grid), the beat job's entry point
- selectors: every figure as one grouped query, and the drill-down to the calls behind a figure
- presenters, charts: the stored figures shaped for the dashboard and the PDF, as server-rendered SVG
- views, urls, exports: the pages, the Excel workbook and the PDF; tasks: the Celery jobs

May import incidents' models, core, and diversion/grids models; nothing outside imports its views.
Importing the package itself loads nothing (no models), so it is safe before Django is set up."""
