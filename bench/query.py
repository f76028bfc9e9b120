"""Query benchmark: /ask over HTTP from a separate load process, on the sample index and on
a synthetic index of many chunks built from real sentences.

    python bench/query.py [--chunks 100000] [--requests 200] [--clients 1,4]

The big index's vectors are not re-embedded chunk by chunk (that alone would take hours
on 2 cores): each real sentence is embedded once and a chunk's vector is the normalised
mean of its sentences' vectors, so search works on realistic vectors at full size.
Prints latency percentiles per index and client count, and where the time goes inside
one request (query embedding, dense search, lexical search, answer composition).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from ingest.lexical import tokenize  # noqa: E402
from ingest.pipeline import get_embedder, ingest_paths, load_report, prepare  # noqa: E402
from ingest.store import IndexWriter  # noqa: E402
from reportqa.config import Settings  # noqa: E402

QUESTIONS = [json.loads(line)["question"] for line in
             (ROOT / "eval" / "gold" / "gold_seed.jsonl").read_text(encoding="utf-8").splitlines()]


def build_synthetic(index_dir: Path, n_chunks: int, settings: Settings) -> int:
    """An index of about n_chunks chunks from synthetic reports, vectors from embedded real sentences."""
    from bench.synthetic import write_corpus

    embedder = get_embedder(settings)
    cache: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        per_report = 15
        paths = write_corpus(Path(tmp), max(1, n_chunks // per_report))
        total = 0
        with IndexWriter(index_dir, embedder.model_id, embedder.dim, rebuild=True) as writer:
            for path in paths:
                pending = prepare(load_report(path, settings), settings)
                sentences = [[c.text[s - c.char_start : e - c.char_start] for s, e in c.sentences] for c in pending.chunks]
                todo = sorted({s for group in sentences for s in group if s not in cache})
                if todo:
                    cache.update(zip(todo, embedder.embed_passages(todo)))
                vectors = np.stack([np.mean([cache[s] for s in group], axis=0) for group in sentences])
                pending.vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
                writer.add(pending)
                total += len(pending.chunks)
            writer.commit()
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(index_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "REPORTQA_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "reportqa"), "serve", "--index", str(index_dir),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    while time.perf_counter() - started < 300:
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("status") == "ok":
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


async def _load(url: str, clients: int, requests: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            i = queue.pop()
            t0 = time.perf_counter()
            response = await http.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            response.raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        await http.post("/ask", json={"question": QUESTIONS[0]})  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return latencies, time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def split(index_dir: Path, settings: Settings) -> dict[str, float]:
    """Mean ms per request spent in each stage, measured in-process."""
    from service.index_holder import IndexHolder

    engine = IndexHolder(index_dir, get_embedder(settings)).get()
    stages = {"query embedding": [], "dense search": [], "lexical search": [], "whole answer": []}
    for q in QUESTIONS * 3:
        t0 = time.perf_counter()
        vector = engine.retriever.embedder.embed_queries([q])[0]
        t1 = time.perf_counter()
        engine.snapshot.dense_search(vector, 50)
        t2 = time.perf_counter()
        engine.snapshot.lexical.search(tokenize(q), 50)
        t3 = time.perf_counter()
        engine.extractive.answer(q)
        t4 = time.perf_counter()
        for name, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            stages[name].append(dt * 1000)
    means = {k: statistics.fmean(v) for k, v in stages.items()}
    embed_search = means["query embedding"] + means["dense search"] + means["lexical search"]
    means["composition (rest)"] = max(0.0, means["whole answer"] - embed_search)
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", default="1,4")
    args = parser.parse_args()
    settings = Settings()
    out = sys.stdout
    with tempfile.TemporaryDirectory() as tmp:
        sample_index = Path(tmp) / "samples"
        ingest_paths([ROOT / "data" / "samples"], settings, sample_index, progress=False)
        big_index = Path(tmp) / "synthetic"
        t0 = time.perf_counter()
        n_big = build_synthetic(big_index, args.chunks, settings)
        out.write(f"built synthetic index of {n_big} chunks in {time.perf_counter() - t0:.0f}s\n")
        rows, splits = [], {}
        for name, index_dir in (("samples", sample_index), (f"{n_big} chunks", big_index)):
            proc, url = _serve(index_dir)
            try:
                for clients in (int(c) for c in args.clients.split(",")):
                    latencies, wall = asyncio.run(_load(url, clients, args.requests))
                    rows.append((name, clients, len(latencies) / wall, _pct(latencies, 0.5), _pct(latencies, 0.95),
                                 _pct(latencies, 0.99)))
            finally:
                proc.terminate()
                proc.wait()
            splits[name] = split(index_dir, settings)
    out.write(f"\n/ask over HTTP ({args.requests} requests of the seed questions per row)\n")
    out.write(f"{'index':<16} {'clients':>7} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}\n")
    for name, clients, rps, p50, p95, p99 in rows:
        out.write(f"{name:<16} {clients:>7} {rps:>7.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}\n")
    out.write("\nwhere one request's time goes (in-process, mean ms)\n")
    stages = list(next(iter(splits.values())))
    out.write(f"{'index':<16} " + " ".join(f"{s:>20}" for s in stages) + "\n")
    for name, means in splits.items():
        whole = means["whole answer"]
        out.write(f"{name:<16} " + " ".join(f"{means[s]:>12.1f} ({means[s] / whole:>4.0%})" for s in stages) + "\n")


if __name__ == "__main__":
    main()
