"""Supervision (督办) of the departments that take diverted calls.

- services: the warning → supervision → rectification ladder, notices issued by hand and their replies,
  joint meetings and their actions, accountability records
- selectors: the reads the supervision pages and the notice badge share
- deadlines: working days and the time-limit classes a slip's deadline comes from
- scores, reports: the league table and the periodic reports (stored, exported to Excel)
- views, forms, urls: the supervisor's and the department's pages; tasks: the Celery jobs

May import diversion's models and selectors and core; diversion.services imports `deadlines` from here
and nothing else. Importing the package itself loads nothing (no models)."""
