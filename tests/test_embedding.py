"""The MiniLM sentence embedder on the real int8 ONNX model, loaded through the registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from promptdaw.core.music.lexicon import GENRES, MOODS
from promptdaw.core.music.prompt import parse_prompt
from promptdaw.inference_server.errors import ModelUnavailable
from promptdaw.runtime.embedding import EMBEDDING_DIM, Embedder
from promptdaw.runtime.registry import ModelRegistry

MINILM_DIR = REPO / "models" / "minilm"
CPU = ["CPUExecutionProvider"]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    if not (MINILM_DIR / "model.onnx").exists():
        pytest.fail(f"{MINILM_DIR}/model.onnx is missing: run `.venv/bin/python scripts/export_minilm.py`")
    registry = ModelRegistry(REPO / "models", providers=CPU, intra_op_threads=1)
    return Embedder(registry.get("minilm"))


def keyword_labels(table: dict) -> dict[str, tuple[str, ...]]:
    return {name: (name, *entry.keywords) for name, entry in table.items()}


def test_embeddings_are_unit_length_float32(embedder: Embedder) -> None:
    vectors = embedder.embed(["dark trap beat", "a gentle lullaby on music box", "x"])
    assert vectors.shape == (3, EMBEDDING_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.embed([]).shape == (0, EMBEDDING_DIM)


def test_batching_and_padding_do_not_change_an_embedding(embedder: Embedder) -> None:
    alone = Embedder(embedder.model).embed(["funky slap bass"])[0]
    batched = Embedder(embedder.model).embed(
        ["funky slap bass", "a much longer sentence about an orchestral film score"]
    )[0]
    assert float(alone @ batched) > 0.999


@pytest.mark.parametrize(
    ("anchor", "similar", "unrelated"),
    [
        (
            "dark trap beat with heavy 808s",
            "menacing trap instrumental with booming 808 bass",
            "gentle acoustic folk song",
        ),
        ("relaxing lo-fi study music", "chill lofi hip hop beats to study to", "aggressive heavy metal riff"),
        ("sad slow piano ballad", "melancholic piano piece", "upbeat festival edm drop"),
        ("orchestral film score", "epic cinematic soundtrack with strings", "8-bit video game bleeps"),
    ],
)
def test_similar_sentences_are_closer_than_unrelated_ones(
    embedder: Embedder, anchor: str, similar: str, unrelated: str
) -> None:
    a, s, u = embedder.embed([anchor, similar, unrelated])
    assert float(a @ s) > float(a @ u) + 0.15


@pytest.mark.parametrize(
    ("text", "genre"),
    [("drum n bass", "dnb"), ("lo-fi beats", "lofi"), ("chilled hop", "lofi"), ("afro beats", "afrobeat"),
     ("synth wave", "synthwave"), ("videogame", "chiptune"), ("trailer music", "cinematic"), ("trance-y", "trance")],
)  # fmt: skip
def test_paraphrased_genres_are_nearest_their_genre(embedder: Embedder, text: str, genre: str) -> None:
    assert embedder.best_labels([text], keyword_labels(GENRES))[0].label == genre


@pytest.mark.parametrize(
    ("text", "mood"), [("melancolic", "sad"), ("spooky", "mysterious"), ("hard hitting", "aggressive")]
)
def test_moods_are_nearest_their_mood(embedder: Embedder, text: str, mood: str) -> None:
    assert embedder.best_labels([text], keyword_labels(MOODS))[0].label == mood


@pytest.mark.parametrize(
    ("prompt", "genre", "mood"),
    [
        ("tecno loop with a pounding kick", "techno", None),
        ("drum n bass roller, 172 bpm", "dnb", None),
        ("lo-fi beats with dusty keys", "lofi", None),
        ("give me a chilled hop beat", "lofi", "chill"),
        ("melancolic piano, 8 bars", None, "sad"),
        ("afro beats groove with horns", "afrobeat", None),
        ("videogame melody in C", "chiptune", None),
        ("synth wave arpeggio", "synthwave", None),
        ("reggeaton drums", "reggaeton", None),
    ],
)
def test_parse_prompt_maps_fuzzy_words_through_the_embedder(
    embedder: Embedder, prompt: str, genre: str | None, mood: str | None
) -> None:
    spec = parse_prompt(prompt, embedder=embedder)
    if genre:
        assert spec.genre == genre and "genre" in spec.explicit
    if mood:
        assert spec.mood == mood


@pytest.mark.parametrize(
    "prompt",
    ["bass that follows the kick pattern", "drums with ghost notes on the snare", "drop after 8 bars",
     "an answer phrase", "bass with octave jumps", "something catchy for a video"],
)  # fmt: skip
def test_ordinary_words_do_not_become_genres(embedder: Embedder, prompt: str) -> None:
    spec = parse_prompt(prompt, embedder=embedder)
    assert "genre" not in spec.explicit and spec.mood is None


def test_explicit_fields_do_not_depend_on_the_embedder(embedder: Embedder) -> None:
    prompt = "dark trap beat in F minor at 140 bpm, 8 bars, 808 bass and hi-hat rolls"
    assert parse_prompt(prompt, embedder=embedder) == parse_prompt(prompt)


def test_label_texts_are_embedded_once(embedder: Embedder) -> None:
    fresh = Embedder(embedder.model)
    calls = []
    run = fresh._run
    fresh._run = lambda texts: calls.append(list(texts)) or run(texts)  # type: ignore[method-assign]
    labels = keyword_labels(MOODS)
    fresh.best_labels(["glum"], labels)
    first = len(calls)
    fresh.best_labels(["glum"], labels)
    fresh.best_labels(["dismal"], labels)
    assert first == 2 and len(calls) == 3 and calls[-1] == ["dismal"]


def test_the_cache_is_bounded(embedder: Embedder) -> None:
    small = Embedder(embedder.model, cache_size=2)
    small.embed(["one", "two", "three"])
    assert list(small._cache) == ["two", "three"]


def test_a_manifest_without_a_tokenizer_is_refused(tmp_path: Path) -> None:
    shutil.copytree(MINILM_DIR, tmp_path / "minilm")
    manifest = json.loads((MINILM_DIR / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["role"] != "tokenizer"]
    (tmp_path / "minilm" / "manifest.json").write_text(json.dumps(manifest))
    model = ModelRegistry(tmp_path, providers=CPU).get("minilm")
    with pytest.raises(ModelUnavailable, match="tokenizer"):
        Embedder(model)
