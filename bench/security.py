"""What the security layer costs, and how fast hostile files are refused.

    python bench/security.py [--requests 100] [--uploads 10]

Prints one table: /ask latency in open mode and with auth on (key lookup, rate limit),
both with the audit log and metrics middleware, requests interleaved; /ask from two
threads while an admin uploads reports (each upload a new index version); the audit write and key lookup alone;
and the time to refuse a 5000-page PDF and a 1000x DOCX zip bomb (the page tree and the
zip directory only), beside the time to parse a 50-page PDF the normal way.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

from core.config import Settings  # noqa: E402
from ingest.errors import ReportReadError  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from ingest.readers import read_file  # noqa: E402
from ingest.safety import FileLimits  # noqa: E402
from service.http.app import create_app  # noqa: E402
from service.http.audit import AuditEntry, AuditLog  # noqa: E402
from service.http.keys import KeyStore, add_key  # noqa: E402

SEED = ROOT / "data" / "samples" / "jinyang_2019_fazhi.txt"
QUESTIONS = [json.loads(line)["question"] for line in
             (ROOT / "eval" / "gold" / "gold_seed.jsonl").read_text(encoding="utf-8").splitlines()]


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return f"{statistics.median(samples) * 1000:8.2f} {p95 * 1000:8.2f}"


def _ask_latencies(runs: list[tuple[Settings, dict[str, str]]], n: int) -> list[list[float]]:
    """/ask latencies of several apps, requests interleaved so machine load hits them alike."""
    clients = [(TestClient(create_app(settings)), headers) for settings, headers in runs]
    out: list[list[float]] = [[] for _ in runs]
    for i in range(-1, n):  # -1 warms up
        for k, (client, headers) in enumerate(clients):
            t0 = time.perf_counter()
            r = client.post("/ask", json={"question": QUESTIONS[max(i, 0) % len(QUESTIONS)]}, headers=headers)
            if i >= 0:
                out[k].append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
    return out


def _ask_during_uploads(settings: Settings, n_uploads: int) -> tuple[list[float], list[float]]:
    """/ask latencies from 2 reader threads while an admin uploads reports, and the uploads' own times."""
    import threading

    client = TestClient(create_app(settings))
    stop = threading.Event()
    asks: list[float] = []

    def reader() -> None:
        i = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            r = client.post("/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]})
            asks.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
            i += 1

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    uploads = []
    for n in range(n_uploads):
        body = f"第{n}街道2021年法治政府建设情况报告\n一、主要成效\n全年共调解纠纷{100 + n}起,调解成功率为97.{n}%。\n"
        t0 = time.perf_counter()
        r = client.post("/documents", files=[("files", (f"street{n}.txt", body.encode()))])
        uploads.append(time.perf_counter() - t0)
        assert r.status_code == 200 and r.json()["added"] == 1, r.text
    stop.set()
    for t in readers:
        t.join()
    return asks, uploads


def _timed(fn, repeat: int) -> list[float]:  # noqa: ANN001 - any callable
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _pdf(pages: int) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(pages):
        c.drawString(72, 720, f"第{n + 1}页 全年共调解纠纷{n}起。")
        c.showPage()
    c.save()
    return buf.getvalue()


def _refuse(path: Path, limits: FileLimits) -> None:
    try:
        read_file(path, limits.max_bytes, limits)
    except ReportReadError:
        return
    raise AssertionError(f"{path.name} was not refused")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--uploads", type=int, default=10, help="uploads while two readers ask")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        index = tmp / "index"
        ingest_paths([SEED], Settings(index_dir=index), progress=False)
        open_settings = Settings(index_dir=index, state_dir=tmp / "open", auth="off")
        secured = Settings(index_dir=index, state_dir=tmp / "secured", auth="on", rate_limit="100000/minute")
        key, _ = add_key(secured.keys_path, "reader", "bench")
        open_mode, auth_on = _ask_latencies([(open_settings, {}), (secured, {"Authorization": f"Bearer {key}"})],
                                            args.requests)
        rows += [("/ask, open mode", _ms(open_mode)), ("/ask, auth on (key, rate limit)", _ms(auth_on))]
        asks, uploads = _ask_during_uploads(Settings(index_dir=index, state_dir=tmp / "busy"), args.uploads)
        rows += [(f"/ask, 2 readers while {args.uploads} uploads run", _ms(asks)), ("upload of one small report", _ms(uploads))]

        audit = AuditLog(tmp / "audit")
        entry = AuditEntry("k1", "reader", "POST", "/ask", 200, QUESTIONS[0], ["653d1b1cc4aa4282"])
        rows.append(("audit log write", _ms(_timed(lambda: audit.record(entry), 1000))))
        store = KeyStore([], secured.keys_path)
        rows.append(("key lookup (hash + keys file stat)", _ms(_timed(lambda: store.lookup(key), 1000))))

        limits = FileLimits(max_bytes=500 * 1024 * 1024, max_pdf_pages=2000)
        (tmp / "long.pdf").write_bytes(_pdf(5000))
        rows.append(("refuse a 5000-page PDF", _ms(_timed(lambda: _refuse(tmp / "long.pdf", limits), 5))))
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("word/document.xml", "<w:document>" + " " * (200 * 1024 * 1024) + "</w:document>")
        (tmp / "bomb.docx").write_bytes(bomb.getvalue())
        rows.append(("refuse a 200 MB DOCX zip bomb", _ms(_timed(lambda: _refuse(tmp / "bomb.docx", limits), 5))))
        (tmp / "fifty.pdf").write_bytes(_pdf(50))
        fifty = _timed(lambda: read_file(tmp / "fifty.pdf", limits.max_bytes, limits), 3)
        rows.append(("parse a 50-page PDF (for scale)", _ms(fifty)))
    print(f"{'what':<38} {'p50 ms':>8} {'p95 ms':>8}")
    for name, cells in rows:
        print(f"{name:<38} {cells}")


if __name__ == "__main__":
    main()
