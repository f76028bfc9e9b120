"""The `reportqa` command: thin shells over the library functions."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from reportqa.config import get_settings

app = typer.Typer(help="reportqa: cited answers and summaries over Chinese government work reports.",
                  no_args_is_help=True, add_completion=False)
log = logging.getLogger("reportqa")

IndexOpt = Annotated[
    Optional[Path],
    typer.Option("--index", help="Index directory (default: REPORTQA_INDEX_DIR, ./index)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, get_settings().log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("faiss", "bm25s", "jieba", "httpx", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Report files or folders (searched recursively).")],
    index: IndexOpt = None,
    issuer: Annotated[Optional[str], typer.Option(help="Override the issuer (发布机构) of every file.")] = None,
    year: Annotated[Optional[int], typer.Option(help="Override the report year of every file.")] = None,
    rebuild: Annotated[bool, typer.Option(help="Start a fresh index instead of updating the current one.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add new reports, replace changed ones and skip unchanged ones; exit 1 if any file failed."""
    from ingest.pipeline import ingest_paths
    from ingest.store import IndexError_

    settings = get_settings()
    try:
        summary = ingest_paths(paths, settings, index or settings.index_dir, issuer, year, rebuild,
                               progress=not as_json)
    except IndexError_ as exc:
        _fail(str(exc))
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
    from ingest.store import IndexError_, open_index

    settings = get_settings()
    try:
        snapshot = open_index(index or settings.index_dir)
    except IndexError_ as exc:
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
def remove(doc_id: Annotated[str, typer.Argument(help="The doc_id shown by `reportqa documents`.")],
           index: IndexOpt = None) -> None:
    """Delete one report from the index."""
    from ingest.pipeline import remove_document
    from ingest.store import IndexError_

    settings = get_settings()
    try:
        manifest = remove_document(doc_id, settings, index or settings.index_dir)
    except KeyError:
        _fail(f"no report with doc_id {doc_id} in the index")
    except IndexError_ as exc:
        _fail(str(exc))
    typer.echo(f"removed {doc_id}; index version {manifest['version']}: {manifest['n_documents']} reports")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, e.g. 2019年金杨新村街道的调解成功率是多少?")],
    index: IndexOpt = None,
    mode: Annotated[Optional[str], typer.Option(help="extractive (default) or llm.")] = None,
    top_k: Annotated[Optional[int], typer.Option("--top-k", help="Passages to retrieve.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question from the indexed reports, with citations."""
    from pydantic import ValidationError

    from ingest.pipeline import get_embedder
    from service.answering import answer_question
    from service.deps import load_engine
    from service.errors import RequestError
    from service.index_holder import IndexHolder
    from service.llm import LLMAnswerer
    from service.schemas import AskRequest

    settings = get_settings()
    try:
        request = AskRequest(question=question, mode=mode, top_k=top_k)
    except ValidationError as exc:
        _fail("; ".join(str(e["msg"]) for e in exc.errors()))
    try:
        engine = load_engine(IndexHolder(index or settings.index_dir, get_embedder(settings)))
        answer = answer_question(engine, request, settings, lambda eng: LLMAnswerer(settings, eng.extractive))
    except RequestError as exc:
        _fail(exc.message)
    if as_json:
        typer.echo(json.dumps(answer.public(), ensure_ascii=False, indent=2))
        return
    typer.echo(answer.text)
    for n, c in enumerate(answer.citations, 1):
        typer.echo(f"  [{n}] 《{c.title}》 {' > '.join(c.section_path)} [{c.char_start}:{c.char_end}] {c.quote}")
    if answer.note:
        typer.echo(f"  note: {answer.note}")


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[Optional[str], typer.Option(help="Address to bind (default REPORTQA_HOST, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default REPORTQA_PORT, 8000).")] = None,
) -> None:
    """Serve the API (OpenAPI docs at /docs)."""
    import uvicorn

    from service.app import create_app

    settings = get_settings()
    if index:
        settings = settings.model_copy(update={"index_dir": index})
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


@app.command(name="eval")
def eval_command(
    docs: Annotated[Path, typer.Option("--docs", help="Folder of reports the gold questions are about.")],
    gold: Annotated[Path, typer.Option("--gold", help="Gold questions (.jsonl, see eval/README.md).")],
    index: IndexOpt = None,
    mode: Annotated[str, typer.Option(help="extractive or llm.")] = "extractive",
    url: Annotated[Optional[str], typer.Option(help="Ask a running service at this URL instead of in-process.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for results.jsonl, summary.json, report.md.")] = None,
    baselines: Annotated[bool, typer.Option("--baselines", help="Also score the LangChain recipe and BM25 alone.")] = False,
    min_accuracy: Annotated[Optional[float], typer.Option("--min-accuracy", help="Exit 1 below this answer accuracy.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score gold questions against the answers; without --index, builds a temporary index over --docs."""
    from eval.baselines import run_baselines
    from eval.gold import load_gold
    from eval.report import SUMMARY_ROWS, write_outputs
    from eval.runner import run_eval
    from service.errors import RequestError

    if not docs.is_dir():
        _fail(f"--docs {docs} is not a folder")
    if not gold.is_file():
        _fail(f"--gold {gold} is not a file")
    settings = get_settings()
    try:
        summary, results, engine = run_eval(docs, gold, settings, index, mode, url)
        if baselines:
            summary["baselines"] = run_baselines(load_gold(gold), engine)
    except (RequestError, ValueError) as exc:
        _fail(str(exc))
    if out:
        write_outputs(out, summary, results, f"{gold.name} over {docs}")
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        for key, label in SUMMARY_ROWS:
            extra = "".join(f"  {n}={b[key]}" for n, b in summary.get("baselines", {}).items() if key in b)
            typer.echo(f"{label:<38} {summary[key]}{extra}")
    if min_accuracy is not None and summary["answer_accuracy"] < min_accuracy:
        typer.echo(f"answer accuracy {summary['answer_accuracy']} is below --min-accuracy {min_accuracy}", err=True)
        raise typer.Exit(1)
