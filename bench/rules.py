"""Benchmark: the compiled routing rules against a raw pyahocorasick scan of the same words, the learned
model's predictions per second, and a full `suggest` with both active models (a department-family model and
a keep-or-divert model) per call on one core, with the models' stored sizes and a worker's extra memory.

    python bench/rules.py            # 100,000 synthetic call texts, PostgreSQL (DATABASE_URL)
    python bench/rules.py --quick    # 5,000 texts; also runs on the embedded SQLite default
    python bench/rules.py --texts N

It works in its own database (fenliu_bench_rules next to the one DATABASE_URL names, created if missing and
migrated, so it has the default catalog; var/fenliu_bench_rules.sqlite3 for SQLite with --quick). The texts are
generated from the catalog's own keywords with filler, places, some keep-with-police words and negations.
rules_per_s is the public `suggest(text, use_model=False)` (one automaton pass, exclusions, negations,
scoring, the Suggestion and its Candidates, the version check; a candidate's Match objects are made when
first asked for, which this does not); raw_ac_per_s is one pass of a bare automaton over exactly the same
words collecting (start, end, word) per hit. model_per_s is the model's batch predict_proba, trained
on synthetic labelled texts. suggest_p95_ms (and _p50_) is one `suggest(text)` per call with both models
stored and active, as a web or Celery worker runs it, over real 110 notes and synthetic texts; the models
are trained on the dev files in ../shared/data when they are beside the repository (as
`train_routing_model --calls --messages` does), else on synthetic texts. The process is pinned to one core
with one BLAS thread. family_model_bytes and keep_model_bytes are the stored models; worker_rss_delta_mb is
what loading both and suggesting once adds to a fresh process that has already set Django up and compiled
the rules. Prints name=value lines."""

import argparse
import gc
import os
import random
import subprocess
import sys
import time
from pathlib import Path

# One core, one BLAS thread: set before numpy is imported (the figures are per core).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

from owndb import use_own_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
CALLS = DATA / "calls" / "police_110_dev.csv"
MESSAGES = DATA / "messages" / "citizen_messages_dev.csv"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
BENCH_DB = "fenliu_bench_rules"

PLACES = ["秀峰区", "七星区", "象山区", "叠彩区", "临桂区"]
STREETS = ["解放西路", "中山中路", "穿山路", "翠竹路", "漓江路", "甲山路"]
FILLERS = ["报警人称", "来电反映", "群众称", "市民来电，", "报警人说", ""]
TAILS = ["，请求处理。", "，要求相关部门处理。", "，已经好几天了。", "，影响休息。", "。", "，多次反映无果。"]
OTHERS = ["楼下", "小区门口", "隔壁", "对面", "每天晚上", "今天下午", "已经一个星期"]


def synthetic_texts(n: int, seed: int = 7):
    """(text, label) pairs: label is the sub-category whose keyword the text was built around."""
    from diversion.models import Category, PoliceSignal

    rnd = random.Random(seed)
    cats = [(c.code, [k for k in c.keywords if k]) for c in Category.objects.filter(active=True).order_by("code")]
    cats = [(code, kws) for code, kws in cats if kws]
    police_words = [w for signal in PoliceSignal.objects.filter(active=True).order_by("order") for w in signal.words]
    out = []
    for _ in range(n):
        code, kws = rnd.choice(cats)
        parts = [rnd.choice(FILLERS), rnd.choice(PLACES), rnd.choice(STREETS), f"{rnd.randint(1, 300)}号",
                 rnd.choice(OTHERS), rnd.choice(kws)]
        if rnd.random() < 0.5:
            parts += [rnd.choice(OTHERS), rnd.choice(kws)]
        r = rnd.random()
        if r < 0.08:
            parts += ["，", rnd.choice(police_words)]
        elif r < 0.12:
            parts += ["，没有", rnd.choice(police_words)]
        parts.append(rnd.choice(TAILS))
        out.append(("".join(parts), code))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--texts", type=int, default=None)
    args = parser.parse_args()
    n = args.texts or (5_000 if args.quick else 100_000)
    use_own_database(BENCH_DB, sqlite_ok=args.quick)

    import django

    django.setup()
    import ahocorasick
    from django.core.management import call_command

    from diversion.routing import current_rules, learning, suggest

    call_command("migrate", verbosity=0, interactive=False)
    pairs = synthetic_texts(n)
    texts = [t for t, _code in pairs]
    rules = current_rules()

    # The raw scan: the same words, no actions, spans collected.
    raw = ahocorasick.Automaton()
    for word in rules.words:
        raw.add_word(word, word)
    raw.make_automaton()

    def run_raw():
        started = time.perf_counter()
        hits = 0
        for text in texts:
            found = [(end - len(w) + 1, end + 1, w) for end, w in raw.iter(text)]
            hits += len(found)
        return time.perf_counter() - started, hits

    def run_rules():
        started = time.perf_counter()
        candidates = 0
        for text in texts:
            candidates += len(suggest(text, use_model=False).candidates)
        return time.perf_counter() - started, candidates

    run_rules()  # warm up: compile, caches
    # The corpus (100,000 texts and their tuples) lives for the whole run; without this the cyclic garbage
    # collector walks it again on every full collection the suggestions' allocations trigger, which times
    # the corpus size rather than the rules (5,000 texts give twice the ratio of 100,000 without it).
    gc.collect()
    gc.freeze()
    # Best of three for both, interleaved, so both see the same machine load (it is shared).
    raw_runs, rules_runs = [], []
    for _ in range(3):
        raw_runs.append(run_raw()[0])
        rules_runs.append(run_rules()[0])
    raw_s, rules_s = min(raw_runs), min(rules_runs)

    train = synthetic_texts(min(3000, max(500, n // 10)), seed=11)
    model = learning.fit([t for t, _c in train], [c for _t, c in train], kind="category")
    sample = texts[: (1_000 if args.quick else 10_000)]
    model.predict_proba_dicts(sample[:10])
    started = time.perf_counter()
    model.predict_proba_dicts(sample)
    model_s = time.perf_counter() - started

    rules_per_s = n / rules_s
    raw_per_s = n / raw_s
    print(f"texts={n}")
    print(f"rules_per_s={rules_per_s:.0f}")
    print(f"raw_ac_per_s={raw_per_s:.0f}")
    print(f"ratio={rules_per_s / raw_per_s:.3f}")
    print(f"model_per_s={len(sample) / model_s:.0f}")
    full_suggest(texts, 500 if args.quick else 2000)


def train_active_models():
    """Both models stored and active: from the dev files when present, else from synthetic texts."""
    from diversion.models import RoutingModel
    from diversion.routing import evaluation, learning

    RoutingModel.objects.all().delete()  # this benchmark's own database
    if CALLS.exists() and MESSAGES.exists():
        source = "dev_files"
        calls = evaluation.read_labelled(str(CALLS), "calls")
        messages = evaluation.read_labelled(str(MESSAGES), "messages")
        department, keep = evaluation.train_models(calls, messages)
        notes = [r["text"] for r in calls]
    else:
        source = "synthetic"
        train = synthetic_texts(2000, seed=13)
        department = learning.fit([t for t, _c in train], [c for _t, c in train], kind="category")
        police = [t for t, _c in synthetic_texts(300, seed=17) if "，" in t]
        keep = learning.fit(police + [t for t, _c in train[:600]], ["police"] * len(police) + ["non_police"] * 600,
                            kind="keep")
        notes = []
    rows = [learning.store_model(model, activate=True) for model in (department, keep)]
    return source, rows, notes


def full_suggest(texts, n):
    from diversion.routing import suggest

    source, (department_row, keep_row), notes = train_active_models()
    calls = (notes + texts)[:n] if notes else texts[:n]
    first = suggest(calls[0])  # loads both active models from the database
    assert first.model is not None and first.keep is not None
    timings = []
    for text in calls:
        started = time.perf_counter()
        suggest(text)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"models_trained_on={source}")
    print(f"suggest_calls={len(calls)}")
    print(f"suggest_p50_ms={timings[len(timings) // 2]:.2f}")
    print(f"suggest_p95_ms={timings[int(len(timings) * 0.95)]:.2f}")
    print(f"family_model_bytes={len(bytes(department_row.blob))}")
    print(f"keep_model_bytes={len(bytes(keep_row.blob))}")
    print(f"worker_rss_delta_mb={worker_rss_delta():.1f}")


RSS_PROBE = """
import os
import django
django.setup()
from diversion.routing import current_rules, suggest

def rss():
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith("VmRSS")).split()[1]) / 1024

current_rules()
before = rss()
suggestion = suggest("楼下饭店油烟太大，熏得家里全是味道")
assert suggestion.model is not None and suggestion.keep is not None
print(rss() - before)
"""


def worker_rss_delta() -> float:
    """A fresh process (Django set up, the rules compiled) before and after both models load and suggest."""
    out = subprocess.run([sys.executable, "-c", RSS_PROBE], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env=os.environ.copy(), check=True)
    return float(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
