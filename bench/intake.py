"""Benchmark: intake over HTTP (issue 43), our POST /api/v1/calls/ against a bare DRF create.

    python bench/intake.py            # 1,000,000 calls of history, 6 rounds of 10 s per endpoint
    python bench/intake.py --quick    # 100,000 calls of history, 3 rounds of 4 s per endpoint

It works in its own database, fenliu_bench_intake (fenliu_bench_intake_quick for --quick), next to the
PostgreSQL database DATABASE_URL names: dropped, created and migrated on every run, with the default catalog
and police signals (migrations), a generated city of micro grids with an address list, and a history of calls
from 5,000 callers over the last 30 days (so the repeat checks find something, as they do at a real desk).

One run starts gunicorn (config.wsgi, 2 sync workers, the production settings: persistent connections, the
token, catalog and grid caches) and drives it from this process with 16 threads, each sending one request at
a time on its own connection. Rounds alternate between the two endpoints, after a warm-up of both, so each
sees the same machine state:

- intake: POST /api/v1/calls/, a new call id each time, the text of a real 110 call note from
  ../shared/data/calls/police_110_dev.csv when it is beside the repository (else a handful of typical texts),
  a caller from the same 5,000, an address from the address list or a point in the city;
- bare: POST /bench/bare/, the same body to a DRF CreateAPIView over a ModelSerializer of a call-shaped model
  (bench/bare): the project's authentication, permission and throttle, one unique check and one insert.

Prints name=value lines: `intake_rps`, `bare_rps`, `ratio` (intake over bare; target at least 0.7),
`intake_p50_ms`, `intake_p95_ms`, `bare_p95_ms`, `queries_per_intake` (SQL queries of one warm intake,
counted in this process on the same database; target at most 6), `round_trips_per_intake` (with BEGIN and
COMMIT), `errors`, `history_calls`."""

import argparse
import csv
import http.client
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "intake_settings"

CONNECTIONS = 16
WORKERS = 2
CALLERS = 5000
NOTES = ROOT.parent / "shared" / "data" / "calls" / "police_110_dev.csv"
FALLBACK_TEXTS = ["楼下KTV噪音扰民", "有人在小区门口打架", "邻居家漏水到我家", "路灯坏了一整条街都是黑的",
                  "电动车被偷了", "路口两车相撞有人受伤", "商家拒不退款", "小区垃圾三天没人清运"]
ENDPOINTS = {"intake": "/api/v1/calls/", "bare": "/bench/bare/"}


def texts() -> list[str]:
    if not NOTES.exists():
        return FALLBACK_TEXTS
    with NOTES.open(encoding="utf-8") as f:
        return [row["text"][:2000] for row in csv.DictReader(f) if row.get("text")]


class Load:
    """The reference data and the history; then request bodies."""

    def __init__(self, history: int, seed: int = 43):
        self.rnd = random.Random(seed)
        self.history = history
        self.texts = texts()
        self.phones = [f"1{self.rnd.randint(3, 9)}{self.rnd.randint(0, 999_999_999):09d}" for _ in range(CALLERS)]
        self.ids = itertools.count()

    def prepare(self) -> str:
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone
        from rest_framework.authtoken.models import Token

        from core.models import Role, User
        from core.phones import caller_key
        from grids.demo import generate_collection
        from grids.models import Grid, Place
        from grids.services import grids_import_geojson
        from grids.spatial import grid_centre

        call_command("migrate", run_syncdb=True, verbosity=0)
        grids_import_geojson(actor=None, data=generate_collection(large=2), filename="bench")
        micros = list(Grid.objects.filter(level="micro").values_list("id", "boundary"))
        Place.objects.bulk_create([Place(micro_grid_id=pk, name=f"中山路{k + 1}号")
                                   for k, (pk, _boundary) in enumerate(micros)])
        self.addresses = list(Place.objects.values_list("name", flat=True))
        self.points = [grid_centre(boundary) for _pk, boundary in micros]
        user = User.objects.create(username="bench-110", role=Role.DISPATCHER)
        keys = [caller_key(p) for p in self.phones]
        now = timezone.now()
        with connection.cursor() as c:  # history: set-based, the columns a call needs
            c.execute(
                "INSERT INTO incidents_call (call_id, received_at, caller_phone, caller_name, caller_key, address, "
                "content, channel, status, created_at, suggestions, suggested_police, repeats, is_police, "
                "return_count, version) "
                "SELECT 'h-' || g, %s - (g * %s) * interval '1 second', (%s::text[])[1 + g %% %s], '', "
                "(%s::text[])[1 + g %% %s], (%s::text[])[1 + g %% %s], '历史来电', 'phone', 'closed', %s, '{}', "
                "NULL, '{}', false, 0, 0 FROM generate_series(1, %s) g",
                [now, 30 * 86400 / self.history, self.phones, CALLERS, keys, CALLERS, self.addresses,
                 len(self.addresses), now, self.history])
        with connection.cursor() as c:
            c.execute("VACUUM ANALYZE incidents_call")
        self.now = now
        return Token.objects.create(user=user).key

    def body(self) -> bytes:
        rnd = self.rnd
        data = {"call_id": f"b-{next(self.ids)}", "caller_phone": rnd.choice(self.phones),
                "received_at": (self.now - timedelta(seconds=rnd.randint(0, 3600))).isoformat(),
                "content": rnd.choice(self.texts), "channel": "phone"}
        if rnd.random() < 0.5:
            data["address"] = rnd.choice(self.addresses)
        else:
            data["lat"], data["lon"] = rnd.choice(self.points)
        return json.dumps(data, ensure_ascii=False).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, "API_THROTTLE_RATE": "10000000/min", "DEBUG": "0"}
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--workers", str(WORKERS),
         "--bind", f"127.0.0.1:{port}", "--pythonpath", f"{ROOT},{ROOT / 'bench'}", "--log-level", "warning",
         "--backlog", "256"],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit("gunicorn did not start")
            time.sleep(0.2)
    stop(proc)
    sys.exit("gunicorn did not listen within 60 s")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def drive(port: int, path: str, token: str, load: Load, seconds: float) -> tuple[list[float], int]:
    """CONNECTIONS threads posting for `seconds`; (latencies of the answered requests in ms, errors)."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    end = time.monotonic() + seconds

    def worker():
        mine, bad = [], 0
        while time.monotonic() < end:
            with lock:
                body = load.body()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
                if response.status == 201:
                    mine.append((time.perf_counter() - t0) * 1000)
                else:
                    bad += 1
            except OSError:
                bad += 1
            finally:
                conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return latencies, errors[0]


def queries_per_intake(token: str, load: Load) -> tuple[float, float]:
    """(queries, round trips) of one warm intake, the median of 20, on the production settings' code path in
    this process: queries leave out BEGIN and COMMIT, round trips count them. A periodic check (the catalog's
    and grids' versions, every few seconds) adds one now and then; the median leaves it out."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for _ in range(5):
        client.post(ENDPOINTS["intake"], load.body(), content_type="application/json")
    queries, trips = [], []
    for _ in range(20):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post(ENDPOINTS["intake"], load.body(), content_type="application/json")
        assert response.status_code == 201, response.content
        sql = [q["sql"] for q in ctx.captured_queries]
        trips.append(len(sql))
        queries.append(sum(s not in ("BEGIN", "COMMIT") for s in sql))
    return statistics.median(queries), statistics.median(trips)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values[0] if values else 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 calls of history, 3 rounds of 4 s")
    args = parser.parse_args()
    history, rounds, seconds = (100_000, 3, 4.0) if args.quick else (1_000_000, 6, 10.0)
    use_own_database("fenliu_bench_intake_quick" if args.quick else "fenliu_bench_intake", sqlite_ok=False,
                     fresh=True)
    sys.path.insert(0, str(ROOT / "bench"))

    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    load = Load(history)
    token = load.prepare()
    queries, trips = queries_per_intake(token, load)
    from django.db import connections

    connections.close_all()

    port = free_port()
    proc = start_gunicorn(port)
    results = {name: ([], 0.0, 0) for name in ENDPOINTS}
    try:
        for path in ENDPOINTS.values():  # warm-up: imports, caches, connections
            drive(port, path, token, load, 2.0)
        for _round in range(rounds):
            for name, path in ENDPOINTS.items():
                t0 = time.perf_counter()
                latencies, errors = drive(port, path, token, load, seconds)
                elapsed = time.perf_counter() - t0
                done, total, bad = results[name]
                results[name] = (done + latencies, total + elapsed, bad + errors)
    finally:
        stop(proc)

    rps = {name: len(lat) / total for name, (lat, total, _bad) in results.items()}
    print(f"intake_rps={rps['intake']:.1f}")
    print(f"bare_rps={rps['bare']:.1f}")
    print(f"ratio={rps['intake'] / rps['bare']:.2f}")
    print("target_ratio=0.7")
    print(f"intake_p50_ms={statistics.median(results['intake'][0]):.1f}")
    print(f"intake_p95_ms={p95(results['intake'][0]):.1f}")
    print(f"bare_p95_ms={p95(results['bare'][0]):.1f}")
    print(f"queries_per_intake={queries:g}")
    print(f"round_trips_per_intake={trips:g}")
    print("target_queries=6")
    print(f"errors={sum(bad for _lat, _total, bad in results.values())}")
    print(f"history_calls={history}")
    print(f"connections={CONNECTIONS}")
    print(f"workers={WORKERS}")


if __name__ == "__main__":
    main()
