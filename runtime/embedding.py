"""Sentence embeddings from the registry's "minilm" model, for matching fuzzy prompt words.

The ONNX graph already mean-pools and L2-normalises (see ``scripts/export_minilm.py``), so
cosine similarity is a dot product. Tokenisation uses ``tokenizers`` with the model's own
``tokenizer.json``; torch is never imported here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
from tokenizers import Tokenizer

from promptdaw.core.errors import ModelUnavailable
from promptdaw.runtime.onnx import OnnxModel

__all__ = ["DEFAULT_CACHE_SIZE", "EMBEDDING_DIM", "MAX_TOKENS", "Embedder", "LabelMatch"]

EMBEDDING_DIM = 384
#: sentence-transformers' max_seq_length for all-MiniLM-L6-v2.
MAX_TOKENS = 256
#: Texts whose embeddings are kept: label texts plus recent prompt n-grams (1.5 KiB each).
DEFAULT_CACHE_SIZE = 4096


class LabelMatch(NamedTuple):
    """The best label for one query: its name, cosine similarity and the query text."""

    label: str
    score: float
    text: str


class Embedder:
    """L2-normalised mean-pooled sentence embeddings, [n, 384] float32.

    Thread-safe: the daemon's workers may share one instance. Every text's embedding goes
    through an LRU cache, and label sets (lexicon descriptions) are embedded once per
    Embedder, on first use.
    """

    def __init__(self, model: OnnxModel, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.model = model
        manifest = model.manifest
        entry = next((f for f in manifest.files if f.role == "tokenizer"), None)
        if entry is None:
            raise ModelUnavailable(f"model {manifest.name!r} has no file with role 'tokenizer' in its manifest")
        try:
            tokenizer = Tokenizer.from_file(str(manifest.directory / entry.path))
        except Exception as exc:  # tokenizers raises plain Exceptions for unreadable files
            raise ModelUnavailable(f"model {manifest.name!r}: cannot read {entry.path}: {exc}") from None
        # The file pads everything to 128 tokens; padding to the longest text in a batch is
        # much cheaper for short prompts and gives the same pooled result.
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._labels: dict[tuple, tuple[tuple[str, ...], np.ndarray]] = {}
        self._lock = threading.Lock()

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        batch = self._tokenizer.encode_batch(list(texts))
        feed = {
            "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
        }
        return np.asarray(self.model.run(feed, ["embedding"])["embedding"], dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; returns [len(texts), 384] float32 rows of unit length."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        fresh = dict(zip(missing, self._run(missing), strict=True)) if missing else {}
        with self._lock:
            for text, vector in fresh.items():
                self._cache[text] = vector
            rows = []
            for text in texts:
                vector = fresh.get(text)
                if vector is None:
                    vector = self._cache[text]
                    self._cache.move_to_end(text)
                rows.append(vector)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.stack(rows)

    def _label_matrix(self, labels: Mapping[str, Sequence[str]]) -> tuple[tuple[str, ...], np.ndarray]:
        """(owner label of each row, embeddings) for every text of every label, computed once."""
        key = tuple((name, tuple(texts)) for name, texts in labels.items())
        with self._lock:
            found = self._labels.get(key)
        if found is None:
            owners = tuple(name for name, texts in key for _ in texts)
            found = (owners, self.embed([text for _, texts in key for text in texts]))
            with self._lock:
                self._labels[key] = found
        return found

    def best_labels(self, queries: Sequence[str], labels: Mapping[str, Sequence[str]]) -> list[LabelMatch]:
        """For each query, the label whose texts are nearest (max cosine over the label's texts).

        Args:
            queries: texts to classify (prompt n-grams, or a whole prompt).
            labels: label -> descriptive texts (keywords, a description); embedded once.

        Returns:
            One :class:`LabelMatch` per query, in order.
        """
        if not queries:
            return []
        owners, matrix = self._label_matrix(labels)
        scores = self.embed(queries) @ matrix.T
        best = np.argmax(scores, axis=1)
        return [
            LabelMatch(owners[j], float(scores[i, j]), q) for i, (q, j) in enumerate(zip(queries, best, strict=True))
        ]
