"""The `reportqa` command: thin shells over the library functions."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from core.config import get_settings

app = typer.Typer(help="reportqa: cited answers and summaries over Chinese government work reports.",
                  no_args_is_help=True, add_completion=False)
log = logging.getLogger("reportqa")

IndexOpt = Annotated[
    Path | None,
    typer.Option("--index", help="Index directory (default: REPORTQA_INDEX_DIR, ./index)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings_for(index: Path | None):  # noqa: ANN202 - core.config.Settings
    """The settings with --index in place of REPORTQA_INDEX_DIR (the default state folder follows it)."""
    settings = get_settings()
    return settings.model_copy(update={"index_dir": index}) if index else settings


def _engine(index: Path | None):  # noqa: ANN202 - service.engine.Engine, imported lazily
    """The engine the API serves, opened over --index: ask, chat and summarize go through it."""
    from service.engine import Engine

    return Engine.open(_settings_for(index))


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, get_settings().log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "jieba", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Report files or folders (searched recursively).")],
    index: IndexOpt = None,
    issuer: Annotated[str | None, typer.Option(help="Override the issuer (发布机构) of every file.")] = None,
    year: Annotated[int | None, typer.Option(help="Override the report year of every file.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Start a fresh index instead of updating the current one.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add new reports, replace changed ones and skip unchanged ones; exit 1 if any file failed."""
    from core.index import IndexStoreError
    from ingest.pipeline import ingest_paths
    from service.http.audit import cli_actor, record_cli_change

    settings = get_settings()
    try:
        summary = ingest_paths(paths, settings, index or settings.index_dir, issuer, year, rebuild,
                               progress=not as_json, actor=cli_actor())
    except IndexStoreError as exc:
        _fail(str(exc))
    if summary.count("added") or summary.count("replaced"):
        record_cli_change(_settings_for(index).state_path, "reportqa ingest", {
            "action": "ingest", "index_version": summary.manifest["version"] if summary.manifest else None,
            "files": [{"path": o.path, "status": o.status, "doc_id": o.doc_id, "reason": o.reason}
                      for o in summary.outcomes]})
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
    else:
        for outcome in summary.failed:
            typer.echo(f"failed: {outcome.path}: {outcome.reason}", err=True)
        d = summary.to_dict()
        typer.echo(
            f"added {d['added']}, replaced {d['replaced']}, skipped {d['skipped']}, failed {d['failed']}; "
            f"{d['chunks']} new chunks in {d['seconds']:.1f}s; index version {d['index_version']}"
        )
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def documents(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the indexed reports."""
    from core.index import IndexStoreError, open_index

    settings = get_settings()
    try:
        snapshot = open_index(index or settings.index_dir)
    except IndexStoreError as exc:
        _fail(str(exc))
    docs = [d.to_dict() for d in snapshot.documents()]
    if as_json:
        typer.echo(json.dumps({"manifest": snapshot.manifest, "documents": docs}, ensure_ascii=False, indent=2))
        return
    m = snapshot.manifest
    typer.echo(f"index version {m['version']}: {m['n_documents']} reports, {m['n_chunks']} chunks, "
               f"model {m['embedding_model']}")
    for d in docs:
        typer.echo(f"{d['doc_id']}  {d['year'] or '----'}  {d['issuer'] or '-'}  {d['title'] or d['source']}  "
                   f"({d['n_chunks']} chunks)")


@app.command()
def figures(doc_id: Annotated[str, typer.Argument(help="The doc_id shown by `reportqa documents`.")],
            index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the figures of one report as the index stores them: value in base units, period, kind, metric."""
    from core.index import IndexStoreError, open_index

    settings = get_settings()
    try:
        snapshot = open_index(index or settings.index_dir)
    except IndexStoreError as exc:
        _fail(str(exc))
    if snapshot.document(doc_id, with_text=False) is None:
        _fail(f"no report with doc_id {doc_id} in the index")
    records = snapshot.figures(doc_id)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2))
        return
    typer.echo(f"{len(records)} figures of {doc_id}")
    for r in records:
        span = f"{r.char_start}-{r.char_end}"
        typer.echo(f"{span:>11}  {r.raw:<14} {r.base_value:>16g} {r.unit or '-':<8} {r.period or '----':<10} "
                   f"{r.kind:<6}  {r.metric}  [{' > '.join(r.section_path)}]")


@app.command()
def remove(doc_id: Annotated[str, typer.Argument(help="The doc_id shown by `reportqa documents`.")],
           index: IndexOpt = None) -> None:
    """Delete one report from the index."""
    from core.index import IndexStoreError
    from ingest.pipeline import remove_document
    from service.http.audit import cli_actor, record_cli_change

    settings = get_settings()
    try:
        manifest = remove_document(doc_id, settings, index or settings.index_dir, actor=cli_actor())
    except KeyError:
        _fail(f"no report with doc_id {doc_id} in the index")
    except IndexStoreError as exc:
        _fail(str(exc))
    record_cli_change(_settings_for(index).state_path, "reportqa remove",
                      {"action": "remove", "doc_id": doc_id, "index_version": manifest["version"]})
    typer.echo(f"removed {doc_id}; index version {manifest['version']}: {manifest['n_documents']} reports")


@app.command()
def compact(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Merge the index's segments into one and drop the rows of removed reports (a new version, like any write)."""
    from core.index import IndexStoreError
    from ingest.pipeline import compact_index

    settings = get_settings()
    try:
        manifest = compact_index(settings, index or settings.index_dir)
    except IndexStoreError as exc:
        _fail(str(exc))
    segments = [{"name": e["name"], "n_chunks": e["n_chunks"]} for e in manifest["segments"]]
    if as_json:
        typer.echo(json.dumps({"index_version": manifest["version"], "segments": segments}, indent=2))
    else:
        typer.echo(f"index version {manifest['version']}: {len(segments)} segment(s), {manifest['n_documents']} reports, "
                   f"{manifest['n_chunks']} chunks")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, e.g. 2019年金杨新村街道的调解成功率是多少?")],
    index: IndexOpt = None,
    mode: Annotated[str | None, typer.Option(help="extractive (default) or llm.")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Passages to retrieve.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the indexed reports, with citations."""
    from pydantic import ValidationError

    from service.errors import RequestError
    from service.schemas import AskRequest

    try:
        request = AskRequest(question=question, mode=mode, top_k=top_k)
    except ValidationError as exc:
        _fail("; ".join(str(e["msg"]) for e in exc.errors()))
    try:
        answer = _engine(index).ask(request)
    except RequestError as exc:
        _fail(exc.message)
    if as_json:
        typer.echo(json.dumps(answer.public(), ensure_ascii=False, indent=2))
        return
    _print_answer(answer)


def _print_answer(answer) -> None:  # noqa: ANN001 - service.schemas.Answer, imported lazily
    typer.echo(answer.text)
    for n, c in enumerate(answer.citations, 1):
        typer.echo(f"  [{n}] 《{c.title}》 {' > '.join(c.section_path)} [{c.char_start}:{c.char_end}] {c.quote}")
    if answer.note:
        typer.echo(f"  note: {answer.note}")


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default REPORTQA_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default REPORTQA_PORT, 8000).")] = None,
) -> None:
    """Serve the API (OpenAPI docs at /docs); refuses a non-loopback address while auth is off."""
    import uvicorn

    from service.http.app import create_app
    from service.http.auth import Gate, is_loopback

    settings = _settings_for(index)
    bind = host or settings.host
    try:
        gate = Gate(settings)
    except ValueError as exc:
        _fail(str(exc))
    if not gate.required() and not is_loopback(bind):
        _fail(f"refusing to serve on {bind} with auth off ({gate.describe()}). Create a key with "
              "`reportqa keys create --role admin` (or set REPORTQA_AUTH=on), or bind to 127.0.0.1.", code=2)
    uvicorn.run(create_app(settings), host=bind, port=port or settings.port)


@app.command(name="eval")
def eval_command(
    docs: Annotated[Path, typer.Option("--docs", help="Folder of reports the gold questions are about.")],
    gold: Annotated[list[Path], typer.Option("--gold", help="Gold questions (.jsonl, see eval/README.md); "
                                                             "give it again for more sets, scored per set.")],
    index: IndexOpt = None,
    mode: Annotated[str, typer.Option(help="extractive or llm.")] = "extractive",
    url: Annotated[str | None, typer.Option(help="Ask a running service at this URL instead of in-process.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for results.jsonl, summary.json, report.md.")] = None,
    baselines: Annotated[bool, typer.Option("--baselines", help="Also score the LangChain recipe and BM25 alone.")] = False,
    min_accuracy: Annotated[float | None, typer.Option("--min-accuracy", help="Exit 1 below this answer accuracy.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score gold questions against the answers; without --index, builds a temporary index over --docs."""
    from eval.baselines import run_baselines
    from eval.gold import load_gold_sets
    from eval.report import SET_ROWS, SUMMARY_ROWS, write_outputs
    from eval.runner import run_eval
    from service.errors import RequestError

    if not docs.is_dir():
        _fail(f"--docs {docs} is not a folder")
    for path in gold:
        if not path.is_file():
            _fail(f"--gold {path} is not a file")
    settings = get_settings()
    try:
        summary, results, view = run_eval(docs, gold, settings, index, mode, url)
        if baselines:
            summary["baselines"] = run_baselines(load_gold_sets(gold), view)
    except (RequestError, ValueError) as exc:
        _fail(str(exc))
    if out:
        write_outputs(out, summary, results, f"{', '.join(p.name for p in gold)} over {docs}")
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        for key, label in SUMMARY_ROWS:
            extra = "".join(f"  {n}={b[key]}" for n, b in summary.get("baselines", {}).items() if key in b)
            typer.echo(f"{label:<38} {summary[key]}{extra}")
        for name, scores in summary.get("by_set", {}).items():
            typer.echo(f"set {name} ({scores['n_questions']}): " + ", ".join(f"{label} {scores[k]}" for k, label in SET_ROWS))
    if min_accuracy is not None and summary["answer_accuracy"] < min_accuracy:
        typer.echo(f"answer accuracy {summary['answer_accuracy']} is below --min-accuracy {min_accuracy}", err=True)
        raise typer.Exit(1)


@app.command()
def summarize(
    doc_ids: Annotated[list[str], typer.Argument(help="doc_ids shown by `reportqa documents`; several add a comparison table.")],
    index: IndexOpt = None,
    style: Annotated[str, typer.Option(help="briefing, key_figures or sections.")] = "briefing",
    fmt: Annotated[str, typer.Option("--format", help="json, md or docx (docx needs -o).")] = "md",
    max_chars: Annotated[int | None, typer.Option("--max-chars", help="Longest briefing text per report.")] = None,
    mode: Annotated[str | None, typer.Option(help="extractive (default) or llm.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Summarise reports with citations: a briefing, a key-figures table or per-section digests."""
    from pydantic import ValidationError

    from service.errors import RequestError
    from service.summary.render import docx_bytes
    from service.summary.schemas import SummaryRequest

    try:
        request = SummaryRequest(doc_ids=doc_ids, style=style, format=fmt, mode=mode,
                                 **({"max_chars": max_chars} if max_chars is not None else {}))
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    if request.format == "docx" and output is None:
        _fail("--format docx writes a Word file: name it with -o FILE")
    try:
        summary = _engine(index).summarize(request)
    except RequestError as exc:
        _fail(exc.message)
    if output is not None and request.format == "docx":
        output.write_bytes(docx_bytes(summary))
    else:
        text = summary.text if request.format == "md" else json.dumps(summary.public(), ensure_ascii=False, indent=2)
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            typer.echo(text)
    if output:
        typer.echo(f"wrote {output}", err=True)


@app.command()
def chat(
    index: IndexOpt = None,
    mode: Annotated[str | None, typer.Option(help="extractive (default) or llm.")] = None,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Passages to retrieve.")] = None,
) -> None:
    """Talk to the reports in the terminal: ask, then follow up (那2020年呢? 这个数字在哪一节?).
    An empty line or Ctrl-D ends the conversation."""
    from pydantic import ValidationError

    from service.chat.schemas import ChatRequest
    from service.chat.turn import History, TurnOptions
    from service.errors import RequestError

    engine = _engine(index)
    try:
        view = engine.view()  # the whole conversation runs on the version it started with
    except RequestError as exc:
        _fail(exc.message)
    history = History()
    while True:
        try:
            message = input("问> ")
        except EOFError:
            break
        if not message.strip():
            break
        try:
            request = ChatRequest(message=message, mode=mode, top_k=top_k)
            resolved, answer = engine.chat(request.message, history, TurnOptions(mode=mode, top_k=top_k), view)
        except ValidationError as exc:
            typer.echo(f"error: {'; '.join(str(e['msg']) for e in exc.errors())}", err=True)
            continue
        except RequestError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            continue
        if resolved.question != request.message:
            typer.echo(f"(理解为:{resolved.question})")
        _print_answer(answer)
        history.turns.append((answer.question, answer.text))
        history.previous_answer = functools.partial(dict, answer.public())


keys_app = typer.Typer(help="API keys: create (shown once), list, revoke. Stored hashed in the keys file.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="reader (ask, chat, summaries, read documents) or admin (also change reports).")],
    name: Annotated[str | None, typer.Option(help="A label for the key, e.g. who holds it.")] = None,
    env: Annotated[bool, typer.Option("--env", help="Do not store it; print the REPORTQA_API_KEYS entry instead.")] = False,
    index: IndexOpt = None,
) -> None:
    """Create an API key and print it once (only its hash is kept)."""
    from service.http.keys import KeyFileError, add_key, new_key, settings_entry

    settings = _settings_for(index)
    try:
        key, record = new_key(role, name) if env else add_key(settings.keys_path, role, name)
    except KeyFileError as exc:
        _fail(str(exc))
    typer.echo(key)
    if env:
        typer.echo(f"REPORTQA_API_KEYS entry (hash only): {settings_entry(record)}", err=True)
    else:
        typer.echo(f"key id {record.key_id} ({record.role}, '{record.name}') stored hashed in {settings.keys_path}; "
                   "the key is not shown again", err=True)


@keys_app.command("list")
def keys_list(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """List the keys (ids, names, roles, created/revoked; never the keys)."""
    from dataclasses import asdict

    from service.http.keys import KeyFileError, parse_settings_entries, read_keys_file

    settings = _settings_for(index)
    try:
        records = [*parse_settings_entries(settings.api_keys), *read_keys_file(settings.keys_path)]
    except KeyFileError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps([{k: v for k, v in asdict(r).items() if k != "sha256"} for r in records], indent=2))
        return
    for r in records:
        state = f"revoked {r.revoked_at}" if r.revoked_at else "active"
        typer.echo(f"{r.key_id:<12} {r.role:<7} {r.name:<20} {r.origin:<9} {r.created_at or '-':<26} {state}")


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="The key id (or name) shown by `reportqa keys list`.")],
                index: IndexOpt = None) -> None:
    """Revoke a key in the keys file; a running server refuses it from its next request."""
    from service.http.keys import KeyFileError, revoke_key

    try:
        record = revoke_key(_settings_for(index).keys_path, key)
    except KeyFileError as exc:
        _fail(str(exc))
    typer.echo(f"revoked {record.key_id} ({record.role}, '{record.name}')")


@app.command()
def audit(
    since: Annotated[str, typer.Option(help="From when: 2026-11-25, 2026-11-25T09:00, or an age: 30m, 2h, 7d.")] = "1d",
    key: Annotated[str | None, typer.Option(help="Only this key id.")] = None,
    changes: Annotated[bool, typer.Option("--changes", help="Only admin changes (uploads, removals).")] = False,
    limit: Annotated[int, typer.Option(help="At most this many entries (the newest).")] = 1000,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the audit log: who asked what and when, what was cited, every admin change."""
    from ingest.writer import recover
    from service.http.audit import AuditLog, entry_dict, parse_since

    try:
        when = parse_since(since)
    except ValueError as exc:
        _fail(str(exc))
    settings = _settings_for(index)
    audit_log = AuditLog(settings.state_path)
    recover(settings.index_dir, then=lambda: audit_log.recover_changes(settings.index_dir))
    entries = audit_log.entries(when, key, changes, limit)
    if as_json:
        typer.echo(json.dumps([entry_dict(e) for e in entries], ensure_ascii=False, indent=2))
        return
    for e in entries:
        what = json.dumps(e.change, ensure_ascii=False) if e.change else (e.question or "")
        cited = f" cited {','.join(e.cited)}" if e.cited else ""
        typer.echo(f"{e.at}  {e.key_id:<10} {e.method:<6} {e.route:<28} {e.status}  {what}{cited}")


@app.command()
def check(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Check the index: clean a killed writer's leftovers (and log the changes it did not), then FAISS ids =
    chunk rows = BM25 docs, counts right."""
    from core.index import IndexStoreError, open_index
    from ingest.writer import recover
    from service.http.audit import AuditLog

    settings = _settings_for(index)
    index_dir = settings.index_dir
    recover(index_dir, then=lambda: AuditLog(settings.state_path).recover_changes(index_dir))
    try:
        snapshot = open_index(index_dir)
    except IndexStoreError as exc:
        _fail(str(exc))
    problems = snapshot.check_integrity()
    m = snapshot.manifest
    if as_json:
        typer.echo(json.dumps({"version": m["version"], "ok": not problems, "problems": problems}, indent=2))
    else:
        for p in problems:
            typer.echo(f"problem: {p}", err=True)
        typer.echo(f"index version {m['version']}: {m['n_documents']} reports, {m['n_chunks']} chunks: "
                   + ("ok" if not problems else f"{len(problems)} problem(s)"))
    if problems:
        raise typer.Exit(1)


def main() -> None:
    """The console script. An unexpected error is a bug: it prints one line naming it and exits 1
    instead of a wall of traceback for the official (-v shows the traceback)."""
    try:
        app()
    except Exception as exc:
        if log.isEnabledFor(logging.DEBUG):
            raise
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)", err=True)
        raise SystemExit(1) from None
