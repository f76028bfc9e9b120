"""The app as one object: the settings, the live index and the chat model, opened once.

`Engine.open(settings)` is the one place the index, the embedding model and the LLM are put
together; the API (`create_app`), the CLI, the eval and the benches all open it instead of
assembling the pieces themselves. Every call runs on one `IndexView` (one index version): an
HTTP request passes the view it started on, so it finishes on that version even if the index
moves on meanwhile; without one, a call takes the current version.
"""

from __future__ import annotations

from core.config import Settings
from core.embedding import get_embedder
from core.index import (
    DocumentRecord,
    IndexNotFoundError,
    IndexStoreError,
    ModelMismatchError,
)

from .answering import answer_question
from .chat.followup import Rewrite
from .chat.turn import History, TurnOptions, answer_turn
from .errors import RequestError
from .figure_ranking import FigureRanker
from .index_holder import IndexHolder, IndexView
from .llm import ChatModel, build_chat_model
from .schemas import Answer, AskRequest
from .summary.build import summarize
from .summary.schemas import Summary, SummaryRequest


class Engine:
    """Answers, chat turns, summaries and the report list over the index at settings.index_dir."""

    def __init__(self, settings: Settings, index: IndexHolder, chat_model: ChatModel | None) -> None:
        self.settings = settings
        self.index = index
        self.chat_model = chat_model  # None: no LLM endpoint, mode 'llm' is refused

    @classmethod
    def open(cls, settings: Settings, chat_model: ChatModel | None = None) -> Engine:
        """The engine over settings.index_dir; without `chat_model` (a fake, in tests), the endpoint's
        model is built when REPORTQA_LLM_BASE_URL is set. The index itself loads on first use."""
        if chat_model is None and settings.llm_base_url:
            chat_model = build_chat_model(settings)
        holder = IndexHolder(settings.index_dir, get_embedder(settings), FigureRanker.load(settings.figure_ranker))
        return cls(settings, holder, chat_model)

    def view(self) -> IndexView:
        """The index's current version, or a RequestError saying why there is none."""
        try:
            return self.index.get()
        except (IndexNotFoundError, ModelMismatchError) as exc:
            raise RequestError(409, str(exc)) from exc
        except IndexStoreError as exc:
            raise RequestError(503, str(exc)) from exc

    def ask(self, request: AskRequest, view: IndexView | None = None) -> Answer:
        """One question, answered in the requested (or default) mode and checked by the number guard."""
        return answer_question(view or self.view(), request, self.settings, self.chat_model)

    def chat(self, message: str, history: History, options: TurnOptions,
             view: IndexView | None = None) -> tuple[Rewrite, Answer]:
        """One chat turn: the message resolved against `history`, and its answer."""
        return answer_turn(view or self.view(), message, history, options, self.settings, self.chat_model)

    def summarize(self, request: SummaryRequest, view: IndexView | None = None) -> Summary:
        """A cited summary of the reports the request names (or its filters allow)."""
        return summarize(view or self.view(), request, self.settings, self.chat_model)

    def documents(self, view: IndexView | None = None) -> list[DocumentRecord]:
        """The indexed reports (metadata, without their text)."""
        return list((view or self.view()).retriever.documents.values())
