"""Benchmark: the outbox relay, from commit to delivery at a de-duplicating HTTP receiver.

    python bench/outbox.py             # 10,000 messages, 4 Celery workers
    python bench/outbox.py --quick     # 1,000 messages, 2 workers (well under a minute)

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL, default redis://127.0.0.1:6379/0). It works in its own
database, fenliu_bench_outbox next to DATABASE_URL's (dropped, created and migrated on every run), and starts
real Celery workers (`--pool=solo`, one process each) on a queue of its own. This process is the producer:
it queues `core.http_post` messages with the production `outbox_put_many`, `--per-commit` messages per
transaction; each commit wakes the relay through Redis, as a request does. The receiver (tests/receiver.py)
runs in this process and records the first arrival of each idempotency key. Two phases of N messages each:

- burst: queued as fast as the producer can; gives delivered_per_s = N / (last arrival - first commit).
- paced: queued at --rate messages per second (default 500, the target throughput); gives the delay from
  commit to first arrival, p50_delay_ms and p95_delay_ms. (Offered faster than the relay drains, any
  queue's delay grows with its length, so the delay is measured at the target rate; the burst's own p95
  is printed too, as burst_p95_delay_ms.)

Prints name=value lines: messages (per phase), delivered, marked_delivered, duplicates (requests beyond the
first per key), workers, burst_offered_per_s, delivered_per_s, paced_offered_per_s, p50_delay_ms,
p95_delay_ms, and each target figure's ratio (issue 32): delivered_per_s_ratio = delivered_per_s / 500,
p95_delay_ratio = p95_delay_ms / 1000."""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from owndb import use_own_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
BENCH_DB = "fenliu_bench_outbox"
TARGET_PER_S = 500
TARGET_P95_MS = 1000


def _workers(n: int, queue: str, redis_url: str, log_dir: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "CELERY_BROKER_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "0",
           "CELERY_TASK_DEFAULT_QUEUE": queue, "PYTHONUNBUFFERED": "1"}
    procs = []
    for i in range(n):
        log = open(log_dir / f"bench-outbox-worker-{i}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "celery"), "-A", "config", "worker", "--pool=solo", "-Q", queue,
             "--loglevel=warning", "--without-heartbeat", "--without-gossip", "--without-mingle",
             "-n", f"{queue}-{i}@%h"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def _percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 messages and 2 workers")
    parser.add_argument("--messages", type=int, help="how many messages (default 10,000, 1,000 with --quick)")
    parser.add_argument("--workers", type=int, help="Celery worker processes (default 4, 2 with --quick)")
    parser.add_argument("--per-commit", type=int, default=10, help="messages per transaction (default 10)")
    parser.add_argument("--rate", type=float, default=TARGET_PER_S,
                        help="messages per second offered in the paced phase (default 500, the target)")
    args = parser.parse_args()
    n = args.messages or (1_000 if args.quick else 10_000)
    workers = args.workers or (2 if args.quick else 4)
    use_own_database(BENCH_DB, sqlite_ok=False, fresh=True)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    queue = f"fenliu-bench-{uuid.uuid4().hex[:8]}"
    os.environ.update({"CELERY_BROKER_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "0",
                       "CELERY_TASK_DEFAULT_QUEUE": queue})

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from core.models import OutboxMessage
    from tests.receiver import Receiver

    call_command("migrate", verbosity=0)
    log_dir = ROOT / "var"
    log_dir.mkdir(exist_ok=True)
    procs = _workers(workers, queue, redis_url, log_dir)
    try:
        with Receiver() as receiver:
            time.sleep(3)  # let the workers connect
            burst = _phase(receiver, procs, "burst", n, args.per_commit, rate=None)
            paced = _phase(receiver, procs, "paced", n, args.per_commit, rate=args.rate)
            requests = receiver.requests
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        redis.Redis.from_url(redis_url).delete(queue, f"_kombu.binding.{queue}")

    per_s = burst["delivered"] / burst["span"]
    p95 = _percentile(paced["delays"], 95)
    print(f"messages={n}")
    print(f"delivered={burst['delivered'] + paced['delivered']}")
    print(f"marked_delivered={OutboxMessage.objects.filter(status='delivered').count()}")
    print(f"duplicates={requests - burst['delivered'] - paced['delivered']}")
    print(f"workers={workers}")
    print(f"burst_offered_per_s={burst['offered']:.0f}")
    print(f"delivered_per_s={per_s:.0f}")
    print(f"delivered_per_s_ratio={per_s / TARGET_PER_S:.2f}")
    print(f"burst_p95_delay_ms={_percentile(burst['delays'], 95):.0f}")
    print(f"paced_offered_per_s={paced['offered']:.0f}")
    print(f"p50_delay_ms={_percentile(paced['delays'], 50):.0f}")
    print(f"p95_delay_ms={p95:.0f}")
    print(f"p95_delay_ratio={p95 / TARGET_P95_MS:.2f}")


def _phase(receiver, procs, name: str, n: int, per_commit: int, rate: float | None) -> dict:
    """Queue n messages (keys <name>-<i>), `per_commit` per transaction, as fast as possible or at `rate`
    messages per second, and wait until each has arrived once."""
    from django.db import transaction

    from core.outbox import outbox_put_many

    committed: dict[str, float] = {}
    started = time.time()
    for first in range(0, n, per_commit):
        if rate:
            time.sleep(max(0.0, started + first / rate - time.time()))
        keys = [f"{name}-{i}" for i in range(first, min(first + per_commit, n))]
        with transaction.atomic():
            # Registered before the puts' wake, so it runs first, right after the commit.
            transaction.on_commit(lambda keys=keys: committed.update(dict.fromkeys(keys, time.time())))
            outbox_put_many("core.http_post", [(k, {"url": receiver.url, "body": {"k": k}}) for k in keys])
    offered = n / (time.time() - started)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with receiver.lock:
            arrivals = {k: t for k, t in receiver.first_seen.items() if k.startswith(f"{name}-")}
        if len(arrivals) >= n:
            break
        if any(p.poll() is not None for p in procs):
            sys.exit("a worker exited early: see var/bench-outbox-worker-*.log")
        time.sleep(0.05)
    return {"offered": offered, "delivered": len(arrivals),
            "span": max(arrivals.values()) - min(committed.values()),
            "delays": [(arrivals[k] - committed[k]) * 1000 for k in arrivals]}

if __name__ == "__main__":
    main()
