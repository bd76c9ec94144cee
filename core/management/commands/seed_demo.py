"""Demo data for the embedded demo. Each app owns its part (core.demo: users and the 110 system's token;
grids.demo: the Xiufeng district's grids and units, and the hotspot cases; diversion.demo: departments' staff,
a slip's life and the supervision story; mediation.demo: the mediator and the dispute files; incidents.demo:
five weeks of calls); this command runs them in order, in one transaction, has every past day's daily review
built, and reports what there is."""

import logging
import random
import time
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Count
from django.test.utils import override_settings
from django.utils import timezone

from core.demo import DEMO_PASSWORD, STAFF, SYSTEM_USER, UserMaker, seed_token, seed_users
from core.management.base import MigratedCommand
from core.models import Role, User
from core.outbox import relay_run
from diversion.demo import (
    seed_department_staff,
    seed_open311,
    seed_platform,
    seed_review_layers,
    seed_supervision_story,
)
from diversion.models import Callback, HandoffSlip, JointMeeting, Notice, Report
from grids.demo import seed_hotspot_cases, seed_unit_logins, seed_xiufeng
from grids.models import Grid, HotspotCase, Unit
from incidents.demo import CALL_ID_PREFIX, COOLING, CallWeek
from incidents.models import Call, DailyReview, PoliceAssignment
from mediation.demo import seed_files, seed_mediator
from mediation.models import DisputeFile

SEED = 2026


@contextmanager
def _eager_celery():
    # The embedded default broker is a folder nobody may be reading: run tasks inline instead.
    from config.celery import app

    before = app.conf.task_always_eager
    trace_log = logging.getLogger("celery.app.trace")  # one INFO line per task otherwise
    log_level = trace_log.level
    app.conf.task_always_eager = True
    trace_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        app.conf.task_always_eager = before
        trace_log.setLevel(log_level)


class Command(MigratedCommand):
    help = (f"Seed demo data: grids and police units of Guilin Xiufeng, users for every role and "
            f"department (password “{DEMO_PASSWORD}”), a DRF token for the 110 system user “{SYSTEM_USER}”, "
            f"and five weeks of synthetic calls (about 430) and what people did with them, walked through the "
            f"real services, with every past day's daily review. Safe to run again: nothing "
            f"is duplicated, and calls are created only if no {CALL_ID_PREFIX}* calls exist. "
            f"Slip e-mails are not sent.")

    def handle(self, *args, **options):
        started = time.monotonic()
        rng = random.Random(SEED)  # one random source, drawn in the same order every run: the same demo
        now = timezone.now()
        make_user = UserMaker()
        with _eager_celery(), override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            with transaction.atomic():
                grids, units = seed_xiufeng(rng)
                users = (seed_users(make_user) | seed_department_staff(make_user) | seed_review_layers(make_user)
                         | seed_platform(make_user))
                unit_logins = seed_unit_logins(make_user, units)
                token = seed_token(users[SYSTEM_USER])
                open311_keys = seed_open311()
                mediator = seed_mediator(users["mediator"], units["XF-PS-LJ"])
                if Call.objects.filter(call_id__startswith=CALL_ID_PREFIX).exists():
                    self.stdout.write("Demo calls already exist; calls not created again.")
                else:
                    CallWeek(rng=rng, now=now, grids=grids, units=units, users=users, unit_logins=unit_logins).run()
                    # The supervision ladder's run at the demo's now: overdue slips get their notices.
                    from diversion.supervision.services import ladder_run

                    ladder_run()
                    # What people did with it over the weeks: notices answered, joint meetings, accountability,
                    # hotspot cases, dispute files at every stage.
                    seed_supervision_story(users=users, now=now, cooling=COOLING)
                    seed_hotspot_cases(users=users, grids=grids, now=now)
                    seed_files(mediator=mediator, dispatcher=users["dispatcher"], now=now)
                # Every past day with calls gets its daily review, so the dashboard opens on yesterday
                # without anyone pressing 生成: queued as a worker's job, delivered here and now (no worker
                # runs yet, and the tasks are inline).
                from incidents.review.services import review_backfill_queue

                review_backfill_queue("seed_demo")
            relay_run()
        self._report(token, open311_keys, time.monotonic() - started)

    # --- Report ---------------------------------------------------------------------------------------
    def _report(self, token, open311_keys: dict[str, str], seconds: float) -> None:
        out = self.stdout
        out.write(self.style.MIGRATE_HEADING("Demo users") + f" (password: {DEMO_PASSWORD})")
        users = User.objects.filter(username__in=[s[0] for s in STAFF] + [SYSTEM_USER])
        dept_users = User.objects.filter(username__startswith="dept_", role=Role.DEPARTMENT)
        unit_users = User.objects.filter(username__startswith="unit_", role=Role.UNIT)
        for user in [*users.order_by("id"), *dept_users.select_related("department").order_by("username"),
                     *unit_users.select_related("unit").order_by("username")]:
            dept = user.department.name_zh if user.department_id else user.unit.name if user.unit_id else ""
            out.write(f"  {user.username:<14} {user.role:<11} {user.first_name:<8} {dept}")
        out.write(f"110 system API token ({SYSTEM_USER}): {token.key}")
        out.write("Open311 api_keys (/open311/v2/): " + ", ".join(f"{c} {k}" for c, k in open311_keys.items()))
        out.write(self.style.MIGRATE_HEADING("Demo data"))
        out.write(f"  grids: {Grid.objects.filter(code__startswith='XF-').count()}, "
                  f"units: {Unit.objects.filter(code__startswith='XF-').count()}")
        calls = Call.objects.filter(call_id__startswith=CALL_ID_PREFIX)
        out.write(f"  calls: {calls.count()}  " + self._counts(calls))
        out.write(f"  police assignments: {PoliceAssignment.objects.filter(call__in=calls).count()}")
        slips = HandoffSlip.objects.filter(call__in=calls)
        out.write(f"  slips: {slips.count()}  " + self._counts(slips))
        out.write(f"  callbacks: {Callback.objects.filter(slip__in=slips).count()}")
        out.write(f"  notices: {Notice.objects.count()}, joint meetings: {JointMeeting.objects.count()}, "
                  f"reports: {Report.objects.count()}, hotspot cases: {HotspotCase.objects.count()}, "
                  f"dispute files: {DisputeFile.objects.count()}, "
                  f"daily reviews: {DailyReview.objects.filter(scope=DailyReview.CITY).count()} days")
        out.write(f"Done in {seconds:.1f} s.")

    @staticmethod
    def _counts(qs) -> str:
        rows = qs.values("status").annotate(n=Count("id")).order_by("status")
        return ", ".join(f"{r['status']} {r['n']}" for r in rows)
