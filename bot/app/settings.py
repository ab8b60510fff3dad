"""All settings in one typed place (pydantic-settings, env prefix GRADCHECK_).

Works with no settings at all: data lives in the per-user data dir, SQLite is the database and
the bundled MiniLM is the model. The Discord token is read only from the environment or a secret file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embedder import BUNDLED_MODEL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GRADCHECK_", env_file=".env", extra="ignore", secrets_dir=None
    )

    data_dir: Path = Field(default_factory=lambda: Path(user_data_dir("gradcheck", appauthor=False)))
    database_url: str | None = None  # default: SQLite file in data_dir
    model: str = BUNDLED_MODEL  # or any sentence-transformers name / path
    index_kind: str = "flat"  # "flat" (exact) or "hnsw" (approximate, recall checked against exact)
    # Inference for the grading cross-encoder: ONNX Runtime (same verdicts, about twice as fast on
    # a CPU; the graph is exported once into data_dir/onnx) or plain torch.
    backend: Literal["onnx", "torch"] = "onnx"
    # ONNX only: the cross-encoder's weight matrices in int8 (per channel, made once from the fp32
    # graph). About twice as fast, but off by default: on the frozen blind test it let one more
    # wrong answer through and Beetle test_ua lost 0.65 points (README, "Inference backends").
    judge_int8: bool = False
    judge_model: Path | None = None  # the grading cross-encoder; default the shipped bot/judge_model

    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "GRADCHECK_DISCORD_TOKEN")
    )
    dev_guild: int | None = None
    demo_base_url: str | None = None
    discord_api_base: str | None = None
    discord_gateway: str | None = None
    shard_ids: str | None = None  # e.g. "0,1"
    shard_count: int | None = None

    # Operations (docs/deploy.md): JSON log lines for log collectors; Prometheus text metrics on
    # this port when set (off by default), on loopback unless the host says otherwise.
    log_format: Literal["text", "json"] = "text"
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    # Grading is tuned for answers of a few sentences; longer input is graded on a bounded prefix.
    max_answer_chars: int = 4000

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def onnx_dir(self) -> Path:
        return self.data_dir / "onnx"

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demos"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'gradcheck.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
