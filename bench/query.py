"""Query benchmark: /ask over HTTP from a separate load process, on indexes of 1k to 1M chunks.

    python bench/query.py [--sizes 1000,10000,100000,1000000] [--clients 1,4,16]
                          [--requests 150] [--ann-from 1000000] [--ann ivf]
                          [--busy-sizes 10000] [--rounds 3]

For each index size: time to a ready server and its memory; throughput, p50/p95/p99, the
share of answers with the gold figure, and server CPU and memory under 1, 4 and 16
concurrent clients (httpx async, in this process, the server in its own); where one
request's time goes (in-process, the named place's own search apart); and, for the sizes
served by an approximate vector index, evidence recall@10 of the gold questions against
exact search on the same index. At each of `--busy-sizes`, the question thread policy: 1
client on a quiet host and beside a busy process (one the bench starts, spinning on a core),
a question on one thread or on every core (the old policy), OpenMP idle wait a bounded spin
or PASSIVE, the four served side by side, each question sent to every one in turn, so the
host's own load hits them alike. Each row
carries the load average (1 min) its requests started at. How the large indexes are made: bench/large_index.py
(real reports really embedded, synthetic chunks with derived vectors). Built indexes are
kept in ~/.cache/reportqa-bench and reused while their inputs and the index format stay
the same.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402

from bench import large_index  # noqa: E402
from bench.common import busy_neighbours, load_snapshot, machine_line  # noqa: E402
from core.config import Settings  # noqa: E402
from core.embedding import get_embedder  # noqa: E402
from core.index import FORMAT_VERSION, IndexSnapshot, current_version_dir, open_index  # noqa: E402
from core.lexical import tokenize  # noqa: E402
from eval.gold import GoldQuestion, evidence_span, load_gold  # noqa: E402
from eval.scoring import score_answer  # noqa: E402

log = logging.getLogger("bench.query")
GOLD = [ROOT / "eval" / "gold" / "gold_seed.jsonl", ROOT.parent / "shared" / "corpus" / "devreal" / "gold_devreal.jsonl"]
RECALL_K = 10
# The question thread policies served side by side at --busy-sizes: threads for one question
# (REPORTQA_EMBEDDING_QUERY_THREADS; every core was the only policy before it) and OpenMP's idle wait.
POLICIES = {
    "1 thread, spin": {"REPORTQA_EMBEDDING_QUERY_THREADS": "1", "REPORTQA_EMBEDDING_SPIN_COUNT": "10000"},
    "1 thread, PASSIVE": {"REPORTQA_EMBEDDING_QUERY_THREADS": "1", "REPORTQA_EMBEDDING_SPIN_COUNT": "0"},
    "every core, spin": {"REPORTQA_EMBEDDING_QUERY_THREADS": "0", "REPORTQA_EMBEDDING_SPIN_COUNT": "10000"},
    "every core, PASSIVE": {"REPORTQA_EMBEDDING_QUERY_THREADS": "0", "REPORTQA_EMBEDDING_SPIN_COUNT": "0"},
}


def gold_questions() -> list[GoldQuestion]:
    return [q for path in GOLD if path.exists() for q in load_gold(path) if q.answerable]


@dataclass
class Prepared:
    """One benchmark index on disk and what it took to make."""

    size: int
    folder: Path
    chunks: int
    build_s: float | None  # None when reused from the cache
    ann: str


def prepare_index(size: int, ann: str, settings: Settings, state: dict) -> Prepared:
    """The cached index of `size` chunks (built when missing), with the vector index `ann`."""
    if "pool" not in state:
        state["pool"] = large_index.sentence_pool(settings)
        state["real"] = large_index.real_reports(settings)
    real = state["real"]
    key = hashlib.sha256(
        "|".join([str(FORMAT_VERSION), get_embedder(settings).model_id, *(p.report.doc_id for p in real),
                  str(len(state["pool"].sentences)), (ROOT / "bench" / "large_index.py").read_text(encoding="utf-8")])
        .encode()).hexdigest()[:12]
    folder = large_index.CACHE / "indexes" / f"{size}-{key}"
    build_s = None
    if current_version_dir(folder) is None:
        shutil.rmtree(folder, ignore_errors=True)
        log.info("building an index of %d chunks in %s", size, folder)
        t0 = time.perf_counter()
        large_index.build(folder, size, settings, real, state["pool"])
        build_s = time.perf_counter() - t0
    snapshot = open_index(folder)
    current, chunks = snapshot.ann, snapshot.manifest["n_chunks"]
    snapshot.close()
    if current != ann:
        t0 = time.perf_counter()
        large_index.convert(folder, settings, ann)
        build_s = (build_s or 0.0) + time.perf_counter() - t0
    return Prepared(size, folder, chunks, build_s, ann)


def exact_version(folder: Path) -> IndexSnapshot | None:
    """The newest flat version kept beside an approximate live one (for the recall check)."""
    for version in sorted((folder / "versions").iterdir(), reverse=True):
        if version.name.isdigit():
            snapshot = IndexSnapshot(version)
            if snapshot.ann == "flat":
                return snapshot
            snapshot.close()
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(index_dir: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, float]:
    """Start `reportqa serve` on the index (with `env` added to its environment); returns the process,
    its URL and seconds to ready."""
    port = _free_port()
    # This checkout's code first: the `reportqa` script alone imports the installed one, which in an editable
    # install shared by several checkouts is another checkout's.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1", "REPORTQA_LOG_LEVEL": "WARNING", **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "reportqa"), "serve", "--index", str(index_dir),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while time.perf_counter() - started < 600:
        try:
            httpx.post(f"{url}/ask", json={"question": "2019年调解成功率是多少?"}, timeout=60).raise_for_status()
            return proc, url, time.perf_counter() - started
        except httpx.HTTPError as exc:
            if proc.poll() is not None:
                raise RuntimeError(f"the server on {index_dir} exited with {proc.returncode}") from exc
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


async def load(url: str, clients: int, requests: int, gold: list[GoldQuestion]) -> tuple[list[float], float, int]:
    """`requests` POST /ask from `clients` concurrent clients; latencies (ms), wall seconds, right answers
    (the gold figure, scored as the eval scores it)."""
    latencies: list[float] = []
    right = 0
    queue = list(range(requests))

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal right
        while queue:
            q = gold[queue.pop() % len(gold)]
            t0 = time.perf_counter()
            response = await http.post("/ask", json={"question": q.question})
            response.raise_for_status()
            latencies.append((time.perf_counter() - t0) * 1000)
            right += score_answer(q, response.json()).correct

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return latencies, time.perf_counter() - started, right


def thread_policies(folder: Path, label: str, requests: int, rounds: int, gold: list[GoldQuestion]) -> list[tuple]:
    """p50/p95 at 1 client of each policy, quiet and beside a busy process; rows (index, policy,
    neighbour, requests, mean load average, p50, p95). Each question goes to every policy's server in
    turn; every block (round, quiet or busy) has questions of its own, since the server keeps
    the embedding of a question it saw (service/retrieval.py QUERY_VECTORS)."""
    servers = {name: serve(folder, env) for name, env in POLICIES.items()}
    per_block = min(len(gold) // (2 * rounds), max(1, requests // rounds))  # at most `requests` per row
    cells: dict[tuple[str, str], list[float]] = {(name, where): [] for name in POLICIES for where in ("quiet", "busy")}
    loads: dict[str, list[float]] = {"quiet": [], "busy": []}
    block = 0
    try:
        with httpx.Client(timeout=120) as http:
            for _ in range(rounds):
                for where in ("quiet", "busy"):
                    loads[where].append(os.getloadavg()[0])
                    with busy_neighbours(1 if where == "busy" else 0):
                        for q in gold[block * per_block:(block + 1) * per_block]:
                            for name, (_, url, _) in servers.items():
                                t0 = time.perf_counter()
                                http.post(f"{url}/ask", json={"question": q.question}).raise_for_status()
                                cells[name, where].append((time.perf_counter() - t0) * 1000)
                    block += 1
    finally:
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait()
    return [(label, name, where, len(latencies), statistics.fmean(loads[where]), pct(latencies, 0.5), pct(latencies, 0.95))
            for (name, where), latencies in cells.items()]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stage_split(index_dir: Path, settings: Settings, questions: list[str]) -> dict[str, float]:
    """Median ms per request in each stage, measured in-process on the live version."""
    from service.engine import Engine
    from service.retrieval import CANDIDATES

    view = Engine.open(settings.model_copy(update={"index_dir": index_dir})).view()
    retriever = view.retriever
    stages: dict[str, list[float]] = {"query embedding": [], "dense search": [], "lexical search": [],
                                      "place search": [], "whole answer": []}
    for q in questions:
        t0 = time.perf_counter()
        vector = retriever.embedder.embed_queries([q])[0]
        t1 = time.perf_counter()
        view.snapshot.dense_search(vector, CANDIDATES)
        t2 = time.perf_counter()
        tokens = tokenize(q)
        view.snapshot.lexical.search(tokens, CANDIDATES)
        t3 = time.perf_counter()
        scope = retriever.place_scope(retriever.parse(q), CANDIDATES)
        if scope is not None:
            view.snapshot.dense_search(vector, CANDIDATES, scope)
            view.snapshot.lexical.search(tokens, CANDIDATES, scope)
        t4 = time.perf_counter()
        view.extractive.answer(q)
        t5 = time.perf_counter()
        for name, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            stages[name].append(dt * 1000)
    medians = {k: statistics.median(v) for k, v in stages.items()}
    searched = sum(medians[s] for s in ("query embedding", "dense search", "lexical search", "place search"))
    medians["composition"] = max(0.0, medians["whole answer"] - searched)
    view.snapshot.close()
    return medians


def recall_at_k(index_dir: Path, settings: Settings, gold: list[GoldQuestion]) -> dict[str, float] | None:
    """Evidence recall@10 (hybrid retrieval) with the approximate index and with exact search,
    and the overlap of the two dense top-10 lists, over the answerable gold questions."""
    from service.retrieval import Retriever

    exact = exact_version(index_dir)
    if exact is None:
        return None
    approx = open_index(index_dir)
    embedder = get_embedder(settings)
    by_name = {Path(d.source).name: d.doc_id for d in approx.documents() if not d.source.startswith("synthetic/")}
    retrievers = {"approx": Retriever(approx, embedder), "exact": Retriever(exact, embedder)}
    hits = {"approx": 0, "exact": 0}
    overlap, n = [], 0
    for q in gold:
        doc_id = by_name.get(q.doc or "")
        doc = approx.document(doc_id) if doc_id else None
        span = evidence_span(doc.text or "", q.evidence) if doc and q.evidence else None
        if span is None:
            continue
        n += 1
        for name, retriever in retrievers.items():
            chunks = retriever.snapshot.chunks([h.id for h in retriever.retrieve(q.question, RECALL_K)])
            hits[name] += any(c.chunk.doc_id == doc_id and c.chunk.char_start < span[1] and span[0] < c.chunk.char_end
                              for c in chunks)
        vector = embedder.embed_queries([q.question])[0]
        a = {i for i, _ in approx.dense_search(vector, RECALL_K)}
        e = {i for i, _ in exact.dense_search(vector, RECALL_K)}
        overlap.append(len(a & e) / max(1, len(e)))
    approx.close()
    exact.close()
    return {"n": n, "approx": hits["approx"] / max(n, 1), "exact": hits["exact"] / max(n, 1),
            "dense_overlap": statistics.fmean(overlap) if overlap else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--requests", type=int, default=150, help="requests per row (at least 8 per client)")
    parser.add_argument("--ann", default="ivf", choices=["hnsw", "ivf"])
    parser.add_argument("--ann-from", type=int, default=1_000_000, help="sizes from this one are served by --ann")
    parser.add_argument("--split-questions", type=int, default=40)
    parser.add_argument("--busy-sizes", default="10000", help="sizes with the thread-policy table ('' for none)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the thread-policy table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("faiss", "ingest", "httpx", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings()
    gold = gold_questions()
    questions = [q.question for q in gold]
    load_before = load_snapshot()
    state: dict = {}
    rows, startup, splits, recalls, policies = [], [], {}, {}, []
    busy_sizes = {int(s) for s in args.busy_sizes.split(",") if s}
    for size in (int(s) for s in args.sizes.split(",")):
        prepared = prepare_index(size, args.ann if size >= args.ann_from else "flat", settings, state)
        label = f"{prepared.chunks:,} {prepared.ann}"
        proc, url, ready_s = serve(prepared.folder)
        server = psutil.Process(proc.pid)
        try:
            startup.append((label, prepared.build_s, ready_s, server.memory_info().rss / 2**20,
                            sum(f.stat().st_size for f in current_version_dir(prepared.folder).rglob("*") if f.is_file())
                            / 2**20))
            for clients in (int(c) for c in args.clients.split(",")):
                load_now = os.getloadavg()[0]
                cpu0 = server.cpu_times()
                latencies, wall, right = asyncio.run(load(url, clients, max(args.requests, 8 * clients), gold))
                cpu1 = server.cpu_times()
                cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall
                rows.append((label, clients, load_now, len(latencies) / wall, pct(latencies, 0.5), pct(latencies, 0.95),
                             pct(latencies, 0.99), cpu, server.memory_info().rss / 2**20, right / len(latencies)))
                log.info("%s, %d clients: %.1f req/s, p50 %.0f ms", label, clients, rows[-1][3], rows[-1][4])
        finally:
            proc.terminate()
            proc.wait()
        if size in busy_sizes:
            policies += thread_policies(prepared.folder, label, args.requests, args.rounds, gold)
        splits[label] = stage_split(prepared.folder, settings, questions[: args.split_questions])
        if prepared.ann != "flat":
            recalls[label] = recall_at_k(prepared.folder, settings, gold)
    report(rows, startup, splits, recalls, policies, args, load_before)


def report(rows: list, startup: list, splits: dict, recalls: dict, policies: list, args: argparse.Namespace,
           load_before: tuple[float, float, float]) -> None:
    w = sys.stdout.write
    w(f"\nquery benchmark: {machine_line(load_before)}\n")
    w(f"\n/ask over HTTP, gold questions, {args.requests}+ requests per row; server CPU in cores busy and CPU ms "
      "per request (the load generator shares the same 2 cores); right = answers with the gold figure\n")
    w(f"{'index (chunks, vectors)':<24} {'clients':>7} {'load':>5} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
      f"{'srv CPU':>8} {'CPU ms/req':>10} {'srv MB':>7} {'right':>6}\n")
    for label, clients, load_now, rps, p50, p95, p99, cpu, rss, right in rows:
        w(f"{label:<24} {clients:>7} {load_now:>5.1f} {rps:>7.1f} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} {cpu:>8.2f} "
          f"{cpu * 1000 / rps:>10.1f} {rss:>7.0f} {right:>6.0%}\n")
    if policies:
        w(f"\nquestion thread policy: /ask at 1 client, each question sent to every policy's server in turn, {args.rounds} "
          "rounds of a quiet and a busy block; 'busy' = beside one process spinning on a core; threads for one question "
          "(every core: the policy before it was a setting) and OpenMP idle wait (spin: GOMP_SPINCOUNT=10000); load = mean "
          "load average (1 min) at the blocks' starts\n")
        w(f"{'index (chunks, vectors)':<24} {'policy':<20} {'neighbour':>9} {'requests':>8} {'load':>5} {'p50 ms':>8} "
          f"{'p95 ms':>8} {'p50 / quiet p50':>15}\n")
        quiet = {(label, name): p50 for label, name, where, _, _, p50, _ in policies if where == "quiet"}
        for label, name, where, n, load_mean, p50, p95 in policies:
            w(f"{label:<24} {name:<20} {where:>9} {n:>8} {load_mean:>5.1f} {p50:>8.1f} {p95:>8.1f} "
              f"{p50 / quiet[label, name]:>15.2f}\n")
    w("\nstart-up: build (first run; '-' = reused from cache), time to the first answered /ask, memory\n")
    w(f"{'index':<24} {'build s':>8} {'ready s':>8} {'RSS MB':>8} {'on disk MB':>11}\n")
    for label, build_s, ready_s, rss, disk in startup:
        w(f"{label:<24} {'-' if build_s is None else f'{build_s:.0f}':>8} {ready_s:>8.1f} {rss:>8.0f} {disk:>11.0f}\n")
    w(f"\nwhere one request's time goes (in-process, median ms over {args.split_questions} questions)\n")
    stages = ["query embedding", "dense search", "lexical search", "place search", "composition", "whole answer"]
    w(f"{'index':<24} " + " ".join(f"{s:>16}" for s in stages) + "  bottleneck\n")
    for label, m in splits.items():
        top = max(stages[:-1], key=lambda s: m[s])
        w(f"{label:<24} " + " ".join(f"{m[s]:>16.1f}" for s in stages) + f"  {top}\n")
    for label, r in recalls.items():
        if r:
            w(f"\nevidence recall@{RECALL_K} on {r['n']} gold questions, {label}: approximate {r['approx']:.3f}, "
              f"exact {r['exact']:.3f} (difference {r['exact'] - r['approx']:+.3f}); dense top-{RECALL_K} overlap "
              f"with exact search {r['dense_overlap']:.3f}\n")


if __name__ == "__main__":
    main()
