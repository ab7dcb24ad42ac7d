"""The text-to-MIDI training corpus: idiom pieces, the music21 extraction, storage."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from promptdaw.core.music.spec import PART_ROLES
from promptdaw.core.music.theory import MODES
from training.text2midi import idioms
from training.text2midi.corpus import (
    Note,
    Piece,
    Track,
    beat_groups,
    corpus_stats,
    load_corpus,
    piece_problems,
    save_corpus,
)
from training.text2midi.idioms import GROOVES, PROFILES, build_idiom_corpus

FOUR_ON_THE_FLOOR = ("house", "techno", "trance", "edm", "disco")
BRIEF_METERS = {(4, 4), (3, 4), (6, 8), (12, 8), (5, 4), (7, 8), (2, 4)}


@pytest.fixture(scope="module")
def idiom_pieces() -> list[Piece]:
    return build_idiom_corpus(seed=11, n_pieces=4 * len(PROFILES))


# --- the evaluation's part definitions, written out again here so the corpus is checked independently ---------------


def onset_sizes(track: Track) -> list[int]:
    return list(Counter(n.start for n in track.notes).values())


def assert_role(track: Track, piece: Piece) -> None:
    sizes = onset_sizes(track)
    median = statistics.median(n.pitch for n in track.notes)
    single = sum(s == 1 for s in sizes) / len(sizes)
    where = f"{piece.source} {track.role}"
    if track.role == "chords":
        assert sum(s >= 3 for s in sizes) / len(sizes) >= 0.5, where
    elif track.role == "bass":
        assert median < 55, where
    elif track.role == "melody":
        assert single >= 0.8 and median >= 60, where
    elif track.role == "arp":
        quarters = piece.bars * piece.meter[0] * 4 / piece.meter[1]
        assert single >= 0.8 and len(track.notes) / quarters >= 2, where
        bars = {}
        for n in track.notes:
            bars.setdefault(n.start // piece.steps_per_bar, set()).add(n.pitch % 12)
        assert sum(len(pcs) >= 3 for pcs in bars.values()) > len(bars) / 2, where


def assert_valid(piece: Piece) -> None:
    assert piece.meter[0] * 16 % piece.meter[1] == 0
    assert piece.key_mode in MODES and 0 <= piece.key_tonic < 12
    assert 4 <= piece.bars <= 16 and len(piece.chords) == piece.bars
    assert piece.tracks
    end = piece.bars * piece.steps_per_bar
    for track in piece.tracks:
        assert track.role in PART_ROLES and track.notes, piece.source
        assert 0 <= track.program <= 127
        for n in track.notes:
            assert n.start >= 0 and n.duration >= 1 and n.start + n.duration <= end, (piece.source, n)
            assert 1 <= n.velocity <= 127
            if track.role == "drums":
                assert 35 <= n.pitch <= 81, (piece.source, n)
            else:
                assert 0 <= n.pitch <= 127
        assert_role(track, piece)
    assert piece_problems(piece) == []


# --- idioms ---------------------------------------------------------------------------------------------------------


def test_idiom_pieces_are_valid(idiom_pieces):
    for piece in idiom_pieces:
        assert_valid(piece)
        assert piece.licence == idioms.LICENCE and piece.source.startswith(f"idiom:{piece.genre}/")
        assert all(c is not None and c[0] in c[1] for c in piece.chords), piece.source


def test_idiom_corpus_spreads_over_genres_keys_and_roles(idiom_pieces):
    assert {p.genre for p in idiom_pieces} == {p.genre for p in PROFILES}
    assert {p.key_tonic for p in idiom_pieces} == set(range(12))
    assert {"major", "minor", "dorian"} <= {p.key_mode for p in idiom_pieces}
    assert {t.role for p in idiom_pieces for t in p.tracks} == set(PART_ROLES)
    assert len({p.bars for p in idiom_pieces}) >= 4


def test_every_brief_meter_has_grooves_and_a_genre_that_uses_it():
    assert {g.meter for g in GROOVES.values()} >= BRIEF_METERS
    assert {m for p in PROFILES for m in p.meters} >= BRIEF_METERS
    prog = build_idiom_corpus(seed=3, n_pieces=30, genres=["prog"])
    assert {(5, 4), (7, 8)} <= {p.meter for p in prog}


def test_four_on_the_floor_grooves_keep_a_kick_on_every_beat():
    pieces = build_idiom_corpus(seed=5, n_pieces=60, genres=list(FOUR_ON_THE_FLOOR))
    with_drums = [p for p in pieces if p.track("drums")]
    assert len(with_drums) > 30
    for piece in with_drums:
        kicks = {n.start for n in piece.track("drums").notes if n.pitch in (35, 36)}
        beats = {bar * 16 + beat for bar in range(piece.bars) for beat in (0, 4, 8, 12)}
        assert beats <= kicks, piece.source


def test_trap_has_half_time_snare_and_808():
    pieces = build_idiom_corpus(seed=9, n_pieces=20, genres=["trap"])
    for piece in pieces:
        drums, bass = piece.track("drums"), piece.track("bass")
        if drums:
            backbeat = {n.start % 16 for n in drums.notes if n.pitch in (38, 39, 40)}
            assert 8 in backbeat and 4 not in backbeat, piece.source
        if bass:
            assert bass.program == 38 and statistics.mean(n.duration for n in bass.notes) >= 2


def test_idiom_corpus_is_deterministic_by_seed():
    a = build_idiom_corpus(seed=1, n_pieces=40)
    assert a == build_idiom_corpus(seed=1, n_pieces=40)
    assert a[:10] == build_idiom_corpus(seed=1, n_pieces=10)
    assert a != build_idiom_corpus(seed=2, n_pieces=40)


def test_unknown_genre_is_refused():
    with pytest.raises(ValueError, match="unknown genres"):
        build_idiom_corpus(seed=0, n_pieces=1, genres=["polka-metal"])


def test_blues_uses_the_twelve_bar_form():
    pieces = build_idiom_corpus(seed=4, n_pieces=30, genres=["blues"])
    twelve = [p for p in pieces if "12-bar-blues" in p.source]
    assert twelve
    for piece in twelve:
        roots = [c[0] for c in piece.chords]
        tonic = piece.key_tonic
        assert roots[:4] == [tonic] * 4 and roots[4] == (tonic + 5) % 12 and roots[8] == (tonic + 7) % 12


# --- corpus structure and storage -------------------------------------------------------------------------------------


def test_beat_groups():
    assert beat_groups((4, 4)) == [4, 4, 4, 4]
    assert beat_groups((6, 8)) == [6, 6]
    assert beat_groups((12, 8)) == [6, 6, 6, 6]
    assert beat_groups((7, 8)) == [4, 4, 6]
    assert beat_groups((5, 4)) == [4] * 5
    with pytest.raises(ValueError):
        beat_groups((5, 3))


def test_piece_problems_catches_bad_notes():
    piece = Piece(
        "x",
        "MIT",
        "pop",
        (4, 4),
        0,
        "major",
        120.0,
        1,
        [None],
        [Track("drums", 0, [Note(0, 1, 20, 100)]), Track("bass", 33, [Note(15, 4, 40, 100)])],
    )
    problems = piece_problems(piece)
    assert any("drums" in p for p in problems) and any("bass" in p for p in problems)


@pytest.mark.parametrize("suffix", [".npz", ".json.gz"])
def test_save_load_round_trip_is_exact_and_deterministic(tmp_path, idiom_pieces, suffix):
    pieces = idiom_pieces[:25]
    path = save_corpus(pieces, tmp_path / f"corpus{suffix}")
    assert load_corpus(path) == pieces
    again = save_corpus(pieces, tmp_path / f"again{suffix}")
    assert path.read_bytes() == again.read_bytes()


def test_save_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz or \.json\.gz"):
        save_corpus([], tmp_path / "corpus.pkl")


def test_corpus_stats(idiom_pieces):
    stats = corpus_stats(idiom_pieces)
    assert stats["pieces"] == len(idiom_pieces)
    assert stats["bars"] == sum(p.bars for p in idiom_pieces)
    assert stats["notes"] == sum(stats["notes_per_role"].values())
    assert sum(stats["genres"].values()) == len(idiom_pieces)


# --- music21 ----------------------------------------------------------------------------------------------------------


def test_bar_chord_templates():
    from training.text2midi.music21_corpus import bar_chord

    c_major = [0.0] * 12
    for pc in (0, 4, 7):
        c_major[pc] = 4.0
    c_major[2] = 1.0  # a passing D
    assert bar_chord(c_major, 0) == (0, (0, 4, 7))
    g7 = [0.0] * 12
    for pc in (7, 11, 2, 5):
        g7[pc] = 4.0
    assert bar_chord(g7, 7) == (7, (7, 11, 2, 5))
    assert bar_chord([0.0] * 12, None) is None


def test_small_music21_build(tmp_path, monkeypatch):
    pytest.importorskip("music21")
    from training.text2midi import music21_corpus

    monkeypatch.setenv("PROMPTDAW_CACHE_DIR", str(tmp_path))
    calls = []
    pieces = music21_corpus.build_music21_corpus(limit=5, progress=lambda d, t: calls.append((d, t)), processes=1)
    assert calls and calls[-1] == (5, 5)
    assert pieces
    for piece in pieces:
        assert_valid(piece)
        assert piece.source.startswith("music21:") and "public domain" in piece.licence
    classical = [p for p in pieces if p.genre == "classical"]
    folk = [p for p in pieces if p.genre == "folk"]
    assert classical and folk
    assert any(p.track("melody") for p in classical)
    for piece in classical:
        roles = {t.role for t in piece.tracks}
        assert "bass" in roles and roles & {"chords", "pad"}, piece.source
        assert sum(c is not None for c in piece.chords) >= piece.bars / 2, piece.source
        for c in piece.chords:
            assert c is None or (c[0] == c[1][0] and len(c[1]) >= 3)
    for piece in folk:
        assert [t.role for t in piece.tracks] == ["melody"]
    # The second build comes from the cache, identical.
    assert music21_corpus.build_music21_corpus(limit=5, processes=1) == pieces
    assert list((tmp_path / "text2midi").glob("music21-*.npz"))


def test_noncommercial_collections_need_opt_in():
    from training.text2midi import music21_corpus

    with pytest.raises(ValueError, match="non-commercial"):
        music21_corpus.build_music21_corpus(limit=1, collections=["essen"], use_cache=False)
