"""Summaries over real reports: time per style, figures without a source (must be 0), gold
figures covered, briefing length, and whether problems and plans were found.

    python bench/summaries.py [--docs DIR --gold FILE.jsonl] [--index DIR] [--max-chars 800]

Defaults to ../shared/corpus/devreal (built into a temporary index unless --index is given).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load_snapshot, machine_line  # noqa: E402
from core.config import Settings  # noqa: E402
from eval.faithfulness import check_summary  # noqa: E402
from eval.gold import load_gold  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from service.engine import Engine  # noqa: E402
from service.summary.schemas import SummaryRequest  # noqa: E402

DEVREAL = ROOT.parent / "shared" / "corpus" / "devreal"
STYLES = ("key_figures", "sections", "briefing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=DEVREAL)
    parser.add_argument("--gold", type=Path, default=DEVREAL / "gold_devreal.jsonl")
    parser.add_argument("--index", type=Path, default=None, help="An index of --docs (built in a temp folder if not given).")
    parser.add_argument("--max-chars", type=int, default=800)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load = load_snapshot()
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        settings = Settings(index_dir=index)
        if args.index is None:
            ingest_paths([args.docs], settings, progress=False)
        engine = Engine.open(settings)
        view = engine.view()
        gold = load_gold(args.gold) if args.gold.is_file() else []
        rows, totals = [], {s: [0.0, 0, 0, 0] for s in STYLES}  # seconds, unsupported, covered, gold
        for doc_id, doc in sorted(view.retriever.documents.items(), key=lambda d: d[1].source):
            text = view.snapshot.document(doc_id).text
            name = Path(doc.source).name
            doc_gold = [q for q in gold if q.doc == name]
            cells = [name]
            for style in STYLES:
                start = time.perf_counter()
                summary = engine.summarize(SummaryRequest(doc_ids=[doc_id], style=style, max_chars=args.max_chars), view)
                seconds = time.perf_counter() - start
                check = check_summary(summary.text, [text], doc_gold)
                report = summary.reports[0]
                t = totals[style]
                t[0] += seconds
                t[1] += len(check.unsupported)
                t[2] += len(check.covered)
                t[3] += len(check.covered) + len(check.missed)
                extra = ""
                if style == "key_figures":
                    extra = f" rows={len(report.key_figures)}"
                elif style == "briefing":
                    extra = (f" chars={len(report.text)} problems={'y' if report.problems else 'n'}"
                             f" plans={'y' if report.plans else 'n'}")
                elif style == "sections":
                    extra = f" sections={len(report.sections)}"
                cells.append(f"{seconds:5.2f}s unsup={len(check.unsupported)} gold={len(check.covered)}/"
                             f"{len(check.covered) + len(check.missed)}{extra}")
            rows.append(cells)
        start = time.perf_counter()
        everything = engine.summarize(SummaryRequest(style="key_figures"), view)
        compare_seconds = time.perf_counter() - start
    print(f"| report | {' | '.join(STYLES)} |")
    print("|---|" + "---|" * len(STYLES))
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    print("| total | " + " | ".join(f"{t[0]:.1f}s unsup={t[1]} gold={t[2]}/{t[3]}" for t in totals.values()) + " |")
    shared = len(everything.comparison.rows) if everything.comparison else 0
    print(f"\ncomparison of all {len(rows)} reports (key_figures): {shared} shared metrics, {compare_seconds:.1f}s")
    print(machine_line(load))


if __name__ == "__main__":
    main()
