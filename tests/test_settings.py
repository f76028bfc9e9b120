"""The one settings object: the CLI and server read the environment and ./.env, code that builds
Settings itself reads no .env, and every setting (the templates folder too) goes through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings, get_settings
from core.prompts import render


@pytest.fixture
def fresh_settings():
    get_settings.cache_clear()
    yield get_settings
    get_settings.cache_clear()


def test_a_dot_env_configures_the_cli_and_server_but_never_settings_built_in_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings) -> None:
    (tmp_path / ".env").write_text("REPORTQA_INDEX_DIR=/srv/reports-index\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPORTQA_INDEX_DIR", raising=False)
    assert fresh_settings().index_dir == Path("/srv/reports-index")
    assert Settings().index_dir == Path("index")


def test_the_templates_folder_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_settings) -> None:
    (tmp_path / "not_found.md").write_text("<!-- reason -->\n报告中没有找到{reason}", encoding="utf-8")
    monkeypatch.setenv("REPORTQA_PROMPTS_DIR", str(tmp_path))
    assert render("not_found", reason="(测试)") == "报告中没有找到(测试)"
    monkeypatch.delenv("REPORTQA_PROMPTS_DIR")
    get_settings.cache_clear()
    assert render("not_found", reason="(测试)") != "报告中没有找到(测试)"
