"""What the prompt reader asks of a sentence embedder, as a protocol.

The embedder lives in the model runtime (``runtime.embedding.Embedder`` satisfies this
protocol), above the core; the core names only the one method it calls, so it never imports
the runtime, not even for type checking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

__all__ = ["LabelMatcher", "LabelScore"]


class LabelScore(Protocol):
    """The best label for one query and its cosine similarity."""

    @property
    def label(self) -> str: ...

    @property
    def score(self) -> float: ...


class LabelMatcher(Protocol):
    """Matches texts to labels by meaning."""

    def best_labels(self, queries: Sequence[str], labels: Mapping[str, Sequence[str]]) -> Sequence[LabelScore]:
        """For each query, in order, the label whose texts are nearest (max cosine over the label's texts)."""
        ...
