"""A report is its content, not the name it was uploaded under: a different report under a used
name is added beside the first (and the response says so), replacing one is an explicit,
audited act naming its doc_id, nameless files get distinct names, and each file of an upload
gets its own result in the order sent."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from core.config import Settings
from service.http.app import create_app
from service.http.audit import AuditLog

NAME = "法治政府建设情况报告.txt"
FIRST = "张江镇2021年法治政府建设情况报告\n一、主要成效\n全年共办理行政复议案件37起。\n"
SECOND = "川沙新镇2021年法治政府建设情况报告\n一、主要成效\n全年共受理信访事项128件。\n"


def _client(tmp_path: Path, seed_index: Path) -> TestClient:
    index = shutil.copytree(seed_index, tmp_path / "index")
    return TestClient(create_app(Settings(index_dir=index, state_dir=tmp_path / "state")))


def _upload(client: TestClient, *files: tuple[str, str], **form: str):
    return client.post("/documents", data=form,
                       files=[("files", (name, text.encode(), "text/plain")) for name, text in files])


def test_a_different_report_under_a_used_name_is_added_beside_the_first(tmp_path: Path, seed_index: Path) -> None:
    with _client(tmp_path, seed_index) as client:
        [first] = _upload(client, (NAME, FIRST)).json()["files"]
        r = _upload(client, (NAME, SECOND))
        [second] = r.json()["files"]
        assert (r.json()["added"], second["status"], second["replaced"]) == (1, "added", None)
        assert f"name clash: a different report named {NAME} is kept (doc_id {first['doc_id']})" == second["note"]
        docs = {d["doc_id"] for d in client.get("/documents").json()["documents"]}
        assert {first["doc_id"], second["doc_id"]} <= docs and len(docs) == 3
        assert _upload(client, ("other-name.txt", FIRST)).json()["files"][0]["status"] == "skipped"


def test_an_explicit_replace_names_the_doc_id_and_is_audited(tmp_path: Path, seed_index: Path) -> None:
    with _client(tmp_path, seed_index) as client:
        [first] = _upload(client, (NAME, FIRST)).json()["files"]
        r = _upload(client, ("new.txt", SECOND), replace=first["doc_id"])
        [result] = r.json()["files"]
        assert (r.json()["replaced"], result["status"], result["replaced"]) == (1, "replaced", first["doc_id"])
        docs = {d["doc_id"] for d in client.get("/documents").json()["documents"]}
        assert result["doc_id"] in docs and first["doc_id"] not in docs
        change = AuditLog(tmp_path / "state").entries(changes_only=True)[-1].change
        assert change["action"] == "replace"
        assert change["files"] == [{"filename": "new.txt", "status": "replaced", "doc_id": result["doc_id"],
                                    "replaced": first["doc_id"], "reason": None}]
        gone = _upload(client, ("x.txt", FIRST), replace=first["doc_id"])
        assert gone.status_code == 404 and first["doc_id"] in gone.json()["detail"]
        two = _upload(client, ("x.txt", FIRST), ("y.txt", SECOND), replace=result["doc_id"])
        assert two.status_code == 422 and "exactly one file" in two.json()["detail"]
        assert _upload(client, ("x.txt", FIRST), replace="../etc").status_code == 422


def test_nameless_files_get_distinct_names_and_are_both_kept(tmp_path: Path, seed_index: Path) -> None:
    with _client(tmp_path, seed_index) as client:
        [dot] = _upload(client, (".", FIRST)).json()["files"]
        [dotdot] = _upload(client, ("..", SECOND)).json()["files"]
        assert dot["filename"].startswith("upload-") and dotdot["filename"].startswith("upload-")
        assert dot["filename"] != dotdot["filename"] and dotdot["status"] == "added" and dotdot["note"] is None


def test_two_files_of_one_name_in_one_upload_each_get_their_own_result_in_order(tmp_path: Path,
                                                                                 seed_index: Path) -> None:
    with _client(tmp_path, seed_index) as client:
        r = _upload(client, (NAME, FIRST), (NAME, SECOND), ("empty.txt", ""), (NAME, FIRST))
        files = r.json()["files"]
        assert [f["status"] for f in files] == ["added", "added", "failed", "skipped"]
        texts = [client.get(f"/documents/{f['doc_id']}/text").json()["text"] for f in files[:2]]
        assert texts == [FIRST, SECOND]
        assert files[2]["reason"] == "empty file" and files[3]["doc_id"] == files[0]["doc_id"]
