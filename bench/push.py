"""Benchmark: the live channel (issue 36), from a call's commit to its arrival on every connected screen.

    python bench/push.py            # 50 clients, 200 calls, one every 50 ms
    python bench/push.py --quick    # 50 clients, 40 calls

It needs Redis (REDIS_URL or LIVE_REDIS_URL): the calls are committed in this process and the server is
another. It works in its own database, fenliu_bench_push (PostgreSQL when DATABASE_URL names one, else
var/fenliu_bench_push.sqlite3), migrated on every run, and starts a real server process (daphne, as
`make run` and production serve the app) on a free port.

The clients are real WebSocket connections to /live/, each with a dispatcher's own session. Five more connect
and never read a byte (a screen that froze), to show that they hold nobody up. Each call is registered through
the intake service (incidents.services.call_intake) in a transaction; the clock starts when the transaction
commits and stops when the call's event reaches a client. Prints name=value lines: clients, stalled, events,
received (of clients × events), p50_ms, p95_ms, max_ms, and the ratios of p95 to the 1,000 ms target and of
the mean to the 15 s poll it replaces (7,500 ms on average)."""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

TARGET_MS = 1000
POLL_MEAN_MS = 15000 / 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, env: dict) -> subprocess.Popen:
    daphne = ROOT / ".venv" / "bin" / "daphne"
    command = [str(daphne) if daphne.exists() else sys.executable, *([] if daphne.exists() else ["-m", "daphne"]),
               "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "10", "--ping-timeout", "20",
               "config.asgi:application"]
    log = open(ROOT / "var" / "bench-push-server.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            sys.exit(f"the server exited; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2):
                return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                sys.exit(f"the server did not answer in 60 s; see {log.name}")
            time.sleep(0.2)


def sessions(count: int) -> list[str]:
    """`count` logged-in sessions of one dispatcher (a session each, as each screen has)."""
    from django.test import Client

    from core.models import Role, User

    user, _ = User.objects.get_or_create(username="bench-dispatcher", defaults={"role": Role.DISPATCHER})
    keys = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        keys.append(client.cookies["sessionid"].value)
    return keys


def publish(events: int, gap: float, committed: dict, ready: threading.Event) -> None:
    """Register `events` calls, one per transaction, and note when each committed."""
    from django.db import transaction
    from django.utils import timezone

    from core.models import User
    from incidents import services

    user = User.objects.get(username="bench-dispatcher")
    ready.wait(60)
    for i in range(events):
        stamp = []
        with transaction.atomic():
            transaction.on_commit(lambda stamp=stamp: stamp.append(time.perf_counter()))  # runs first
            call = services.call_intake(actor=user, data={
                "call_id": f"BENCH-PUSH-{os.getpid()}-{i}", "received_at": timezone.now(),
                "caller_phone": f"1380000{i % 10000:04d}", "caller_name": "", "address": f"秀峰区测试路{i}号",
                "lat": None, "lon": None, "content": "楼下酒吧低音炮太吵了", "channel": "phone"}).call
        committed[f"call-{call.pk}"] = stamp[0]
        time.sleep(gap)


async def run_clients(url: str, origin: str, keys: list[str], stalled: int, events: int, publisher: threading.Thread,
                      ready: threading.Event) -> tuple[dict, int]:
    from websockets.asyncio.client import connect

    arrivals: dict[str, list[float]] = {}

    def headers(key):
        return {"Cookie": f"sessionid={key}", "Origin": origin}

    async def listen(ws):
        async for raw in ws:
            now = time.perf_counter()
            for topic in json.loads(raw).get("topics", []):
                if topic.startswith("call-"):
                    arrivals.setdefault(topic, []).append(now)

    readers = [await connect(url, additional_headers=headers(k), open_timeout=20) for k in keys]
    # The stalled ones: connected, then never read (their socket's buffers fill; the server must not wait).
    frozen = [await connect(url, additional_headers=headers(k), open_timeout=20, max_queue=1) for k in keys[:stalled]]
    for ws in frozen:
        ws.transport.pause_reading()
    tasks = [asyncio.create_task(listen(ws)) for ws in readers]
    await asyncio.sleep(0.5)  # every group subscription in place
    ready.set()
    while publisher.is_alive():
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)  # the last events' arrival
    for ws in frozen:
        ws.transport.abort()  # gone without a goodbye, as a screen that loses power
    for ws in readers:
        await ws.close()
    for task in tasks:
        task.cancel()
    return arrivals, len(readers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 calls instead of 200")
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    events, gap, stalled = (40 if args.quick else 200), 0.05, 5
    redis_url = os.environ.get("LIVE_REDIS_URL") or os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("bench/push.py needs Redis between this process and the server: set REDIS_URL=redis://…")
    os.environ["LIVE_REDIS_URL"] = redis_url
    os.environ["LIVE_PREFIX"] = f"fenliu-bench-{os.getpid()}"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    use_own_database("fenliu_bench_push", sqlite_ok=True, fresh=True)
    import django

    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("celery").setLevel(logging.WARNING)  # the intake's outbox work, run in this process

    call_command("migrate", verbosity=0)
    keys = sessions(args.clients + stalled)
    port = free_port()
    server = start_server(port, {**os.environ, "LOGIN_THROTTLING": "0", "PYTHONUNBUFFERED": "1"})
    committed: dict[str, float] = {}
    ready = threading.Event()
    publisher = threading.Thread(target=publish, args=(events, gap, committed, ready), daemon=True)
    try:
        publisher.start()
        arrivals, readers = asyncio.run(run_clients(
            f"ws://127.0.0.1:{port}/live/", f"http://127.0.0.1:{port}", keys[stalled:], stalled, events,
            publisher, ready))
        alive = server.poll() is None
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    latencies = [(t - committed[topic]) * 1000 for topic, times in arrivals.items() if topic in committed
                 for t in times]
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    mean = statistics.fmean(latencies) if latencies else float("nan")
    print(f"clients={readers}")
    print(f"stalled={stalled}")
    print(f"events={len(committed)}")
    print(f"received={len(latencies)}/{readers * len(committed)}")
    print(f"p50_ms={statistics.median(latencies):.1f}" if latencies else "p50_ms=nan")
    print(f"p95_ms={p95:.1f}")
    print(f"max_ms={latencies[-1]:.1f}" if latencies else "max_ms=nan")
    print(f"p95_vs_target_{TARGET_MS}ms={p95 / TARGET_MS:.3f}")
    print(f"mean_vs_poll_{POLL_MEAN_MS:.0f}ms={mean / POLL_MEAN_MS:.4f}")
    print(f"server_alive={'yes' if alive else 'no'}")


if __name__ == "__main__":
    main()
