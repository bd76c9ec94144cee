"""Docking with the county 12345 platform (issue 40): the documented payload a slip is sent as (`payloads`),
its delivery through the outbox (the handler in diversion.tasks), and the signed inbound endpoint whose
events call the same services as the department pages (`services`, `api`).

May import core, diversion's models, selectors and services, and incidents' services; nothing outside the
URL configuration and diversion.tasks imports it."""
