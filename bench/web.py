"""Web page benchmark: what an official waits for in a real browser (Debian Chromium, Playwright).

    python bench/web.py [--rounds 5]

Over the sample report's index served by `reportqa serve` in its own process: loading the page
until the report list is in; each gold question of the sample, from pressing Enter to the answer
shown with its citations (streamed over /v1/chat/completions); and a citation click until the
highlighted passage is on screen. Beside them, the same streamed request over plain HTTP (httpx),
so the browser's share is visible. Prints median and p95 per step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import load_snapshot, machine_line  # noqa: E402
from bench.query import serve  # noqa: E402
from core.config import Settings  # noqa: E402
from eval.gold import load_gold  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SEED = ROOT / "data" / "samples" / "jinyang_2019_fazhi.txt"
GOLD = ROOT / "eval" / "gold" / "gold_seed.jsonl"


def ms(seconds: float) -> float:
    return seconds * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def stream_over_http(url: str, question: str) -> float:
    """Seconds for one streamed answer read to its end by httpx (no browser)."""
    body = {"model": "reportqa", "stream": True, "messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as response:
        response.raise_for_status()
        for _ in response.iter_lines():
            pass
    return time.perf_counter() - started


def browser_rounds(url: str, questions: list[str], rounds: int) -> dict[str, list[float]]:
    """Seconds per step, over `rounds` fresh pages, each asking every question."""
    from playwright.sync_api import expect, sync_playwright

    timings: dict[str, list[float]] = {"page load (report list in)": [], "ask → answer shown (browser)": [],
                                       "citation click → passage highlighted": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for _ in range(rounds):
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
            started = time.perf_counter()
            page.goto(url)
            expect(page.locator("#report-rows tr[data-doc-id]")).to_have_count(1)
            timings["page load (report list in)"].append(time.perf_counter() - started)
            for n, question in enumerate(questions):
                page.fill("#question", question)
                started = time.perf_counter()
                page.press("#question", "Enter")
                card = page.locator(".answer").nth(n)
                expect(card).not_to_have_class("answer pending", timeout=60_000)
                timings["ask → answer shown (browser)"].append(time.perf_counter() - started)
                citation = card.locator(".cite").first
                if citation.count():
                    started = time.perf_counter()
                    citation.click()
                    expect(page.locator("#reader-text mark")).to_be_in_viewport()
                    timings["citation click → passage highlighted"].append(time.perf_counter() - started)
                    page.keyboard.press("Escape")
            page.close()
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh pages, each asking every gold question")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"web page benchmark skipped: {CHROMIUM} is missing (make browser installs it)")
        return
    from ingest.pipeline import ingest_paths

    load_before = load_snapshot()
    questions = [g.question for g in load_gold(GOLD)]
    with tempfile.TemporaryDirectory(prefix="reportqa-bench-web-") as tmp:
        index_dir = Path(tmp) / "index"
        ingest_paths([SEED], Settings(index_dir=index_dir), progress=False)
        proc, url, _ = serve(index_dir)
        try:
            http = [stream_over_http(url, q) for _ in range(args.rounds) for q in questions]
            timings = {"ask → streamed answer read (httpx, no browser)": http,
                       **browser_rounds(url, questions, args.rounds)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\nWeb page, sample index ({len(questions)} gold questions x {args.rounds} rounds)\n")
    print("| step | n | median ms | p95 ms |")
    print("| --- | ---: | ---: | ---: |")
    for step, values in timings.items():
        print(f"| {step} | {len(values)} | {ms(statistics.median(values)):.0f} | {ms(p95(values)):.0f} |")
    print(f"\n{machine_line(load_before)}")


if __name__ == "__main__":
    main()
