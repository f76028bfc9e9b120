"""Update benchmark: adding and removing one report on a large index, segments against a rewrite.

    python bench/update.py [--sizes 50000,150000] [--questions 119]

For each index size (bench/large_index.py: the real reports really embedded, synthetic reports with
derived vectors; built once as one segment and cached), each operation runs in its own process on a
hard-linked copy of the index, the way `reportqa ingest` runs beside a server:

* add one report (a synthetic one, already embedded: the write is measured, not the model) as a new
  segment and manifest, and, as the peer, the same add written as one whole new segment (doc store
  copied, BM25 and vector index rebuilt: what every write did before segments, `IndexWriter.compact`);
* remove one report: a tombstone in the new manifest, and the same removal as a rewrite.

Each row: wall time of the writing process (imports apart), its peak RSS, and the bytes it wrote (files
of the new version that are not hard links of the previous one's). The server's RSS is that of a
process with the index open that answered one question (`Engine.open` and `ask`). Then the gold
questions are answered on the index after the add and the removal (two segments, a tombstone), and
again after `reportqa compact` merged them: answers, citations and evidence recall@10 must be identical.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import large_index  # noqa: E402
from bench.common import load_snapshot, machine_line  # noqa: E402
from bench.query import RECALL_K, gold_questions, prepare_index  # noqa: E402
from core.config import Settings  # noqa: E402
from core.index import current_version_dir, document_sources, open_index, read_manifest  # noqa: E402
from core.lexical import tokenize  # noqa: E402
from eval.gold import GoldQuestion, evidence_span  # noqa: E402
from service.retrieval import CANDIDATES  # noqa: E402

log = logging.getLogger("bench.update")


def child_write(index: Path, op: str, mode: str, what: str = "") -> dict:
    """In the child: one add (`what`: a pickled PendingReport) or removal (`what`: a doc id), as a new
    segment or tombstone (`mode` segment) or as a whole rewrite (`mode` rewrite); or a compaction."""
    from ingest.writer import IndexWriter

    live = current_version_dir(index)
    assert live is not None
    manifest = read_manifest(live)  # the manifest alone, as `reportqa ingest` reads it before its write
    model_id, dim = manifest["embedding_model"], int(manifest["embedding_dim"])
    pending = pickle.loads(Path(what).read_bytes()) if op == "add" else None
    before_mb = peak_mb()
    started = time.perf_counter()
    with IndexWriter(index, model_id, dim) as writer:
        if pending is not None:
            writer.add(pending)
        elif op == "remove":
            writer.remove(what)
        if mode == "rewrite":
            writer.compact()
        manifest = writer.commit()
    wall = time.perf_counter() - started
    write_peak_mb = peak_mb()
    started = time.perf_counter()
    open_index(index).close()  # what a server does when it sees the new version
    open_s = time.perf_counter() - started
    folder = current_version_dir(index)
    assert folder is not None
    written = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and p.stat().st_nlink == 1)
    return {"wall_s": wall, "peak_mb": write_peak_mb, "imports_mb": before_mb, "written_mb": written / 2**20, "open_s": open_s,
            "segments": len(manifest["segments"]), "timings": dict(writer.timings)}


def child_serve(index: Path) -> dict:
    """In the child: the server's engine on the index, one question answered."""
    from service.engine import Engine
    from service.schemas import AskRequest

    Engine.open(Settings(index_dir=index)).ask(AskRequest(question="2019年金杨新村街道的调解成功率是多少?"))
    return {"peak_mb": peak_mb()}


def peak_mb() -> float:
    """This process's peak RSS in MB (VmHWM: unlike getrusage's, not carried over from the forking parent)."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def run_child(*args: str) -> tuple[dict, float]:
    """One child process of this script: its JSON result and its peak RSS in MB."""
    proc = subprocess.run([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, check=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    result = json.loads(proc.stdout)
    return result, result["peak_mb"]


def answers(index: Path, gold: list[GoldQuestion]) -> tuple[list, float, float, float]:
    """Every gold question's answer and citations, evidence recall@10 of retrieval, and the median ms of
    its dense and its lexical search (50 candidates, as the retriever asks)."""
    from service.engine import Engine
    from service.schemas import AskRequest

    engine = Engine.open(Settings(index_dir=index))
    view = engine.view()
    by_name = {Path(d.source).name: d.doc_id for d in view.snapshot.documents() if not d.source.startswith("synthetic/")}
    out, hits, n = [], 0, 0
    dense_ms, lexical_ms = [], []
    for q in gold:
        a = engine.ask(AskRequest(question=q.question), view)
        vector, tokens = view.retriever.query_vector(q.question), tokenize(q.question)
        t0 = time.perf_counter()
        view.snapshot.dense_search(vector, CANDIDATES)
        t1 = time.perf_counter()
        view.snapshot.lexical.search(tokens, CANDIDATES)
        dense_ms.append((t1 - t0) * 1000)
        lexical_ms.append((time.perf_counter() - t1) * 1000)
        out.append((a.answer, [(c.doc_id, c.char_start, c.char_end) for c in a.citations]))
        doc_id = by_name.get(q.doc or "")
        span = evidence_span(view.snapshot.text_of(doc_id), q.evidence) if doc_id and q.evidence else None
        if span is None:
            continue
        n += 1
        chunks = view.snapshot.chunks([h.id for h in view.retriever.retrieve(q.question, RECALL_K)])
        hits += any(c.chunk.doc_id == doc_id and c.chunk.char_start < span[1] and span[0] < c.chunk.char_end
                    for c in chunks)
    view.snapshot.close()
    return out, hits / max(n, 1), statistics.median(dense_ms), statistics.median(lexical_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50000,150000")
    parser.add_argument("--questions", type=int, default=1000, help="gold questions answered before and after the merge")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = child_write(Path(rest[0]), *rest[1:]) if kind == "write" else child_serve(Path(rest[0]))
        sys.stdout.write(json.dumps(result))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("faiss", "ingest", "httpx", "jieba", "service"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = Settings()
    gold = gold_questions()[: args.questions]
    load_before = load_snapshot()
    state: dict = {}
    rows, checks, servers = [], [], {}
    with tempfile.TemporaryDirectory(prefix="reportqa-update-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            prepared = prepare_index(size, "flat", settings, state)
            label = f"{prepared.chunks:,}"
            pending = Path(tmp) / "pending.pkl"
            pending.write_bytes(pickle.dumps(large_index.synthetic_report(10**7 + size, state["pool"], random.Random(size))))
            live = current_version_dir(prepared.folder)
            assert live is not None
            doomed = next(d for d, source in sorted(document_sources(live).items()) if source.startswith("synthetic/"))
            _, servers[label] = run_child("serve", str(prepared.folder))
            for op, what in (("add", str(pending)), ("remove", doomed)):
                for mode in ("segment", "rewrite"):
                    work = Path(tmp) / f"{op}-{mode}"
                    shutil.copytree(prepared.folder, work, copy_function=os.link)
                    result, peak_mb = run_child("write", str(work), op, mode, what)
                    rows.append((label, op, mode, result, peak_mb, servers[label]))
                    log.info("%s %s %s: %.2f s, %.0f MB peak", label, op, mode, result["wall_s"], peak_mb)
                    if mode == "rewrite":
                        shutil.rmtree(work)
            work = Path(tmp) / "add-segment"  # the add's copy: remove a report on it too, then compare with a merge
            run_child("write", str(work), "remove", "segment", doomed)
            before, *measured_before = answers(work, gold)
            merged, merge_peak = run_child("write", str(work), "compact", "rewrite")
            after, *measured_after = answers(work, gold)
            checks.append((label, len(gold), before == after, measured_before, measured_after, merged["wall_s"],
                           merge_peak))
            shutil.rmtree(Path(tmp) / "add-segment")
            shutil.rmtree(Path(tmp) / "remove-segment")
    report(rows, checks, servers, load_before)


def report(rows: list, checks: list, servers: dict[str, float], load_before: tuple[float, float, float]) -> None:
    w = sys.stdout.write
    w(f"\nupdate benchmark: {machine_line(load_before)}\n")
    w("\none report added or removed, each in its own process on a hard-linked copy of a one-segment index;\n"
      "segment = a new segment (add) or a tombstone (remove) and a manifest; rewrite = the whole version written\n"
      "again as one segment (doc store copied, BM25 and vectors rebuilt), what every write did before segments\n")
    w("(wall and peak: the writing process, imports apart in wall; open s: a reader opening the new version)\n")
    w(f"{'index chunks':<13} {'change':<7} {'how':<8} {'wall s':>7} {'peak MB':>8} {'above srv':>9} {'written MB':>10} "
      f"{'segments':>8} {'open s':>6}  time split (s)\n")
    for label, op, mode, r, peak, server in rows:
        split = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["timings"].items()) if v >= 0.005)
        w(f"{label:<13} {op:<7} {mode:<8} {r['wall_s']:>7.2f} {peak:>8.0f} {peak - server:>+9.0f} {r['written_mb']:>10.1f} "
          f"{r['segments']:>8} {r['open_s']:>6.2f}  {split}\n")
    w(f"\nserver RSS (index open, one question answered): {', '.join(f'{k} chunks {v:.0f} MB' for k, v in servers.items())}\n")
    w("\nanswers before and after a merge (after the add and the removal: 2 segments and a tombstone, then "
      "`compact`: one segment)\n")
    w(f"{'index chunks':<13} {'questions':>9} {'identical':>9} {'recall@10 before':>16} {'after':>6} "
      f"{'dense ms before':>15} {'after':>6} {'lexical ms before':>17} {'after':>6} {'merge s':>8} {'merge peak MB':>13}\n")
    for label, n, same, (recall0, dense0, lexical0), (recall1, dense1, lexical1), merge_s, merge_peak in checks:
        w(f"{label:<13} {n:>9} {'yes' if same else 'NO':>9} {recall0:>16.3f} {recall1:>6.3f} {dense0:>15.1f} {dense1:>6.1f} "
          f"{lexical0:>17.1f} {lexical1:>6.1f} {merge_s:>8.1f} {merge_peak:>13.0f}\n")


if __name__ == "__main__":
    main()
