"""The prompt parser's rules, without the embedding model: every explicit value is obeyed exactly."""

from __future__ import annotations

import pytest

from promptdaw.core.music import lexicon as lx
from promptdaw.core.music.lexicon import GENRES, INSTRUMENTS, gm_family
from promptdaw.core.music.prompt import key_from_chords, parse_key, parse_meter, parse_prompt, read_number
from promptdaw.core.music.spec import PART_ROLES, MusicSpec
from promptdaw.core.music.theory import parse_pitch_class
from promptdaw.inference_server.errors import InvalidInput


def roles(spec: MusicSpec) -> set[str]:
    return {p.role for p in spec.parts}


def bar_symbols(spec: MusicSpec) -> list[str]:
    """The chord sounding at the start of each bar."""
    starts = [(c.bar * spec.beats_per_bar + c.beat, c.symbol) for c in spec.chords]
    return [[s for t, s in starts if t <= bar * spec.beats_per_bar][-1] for bar in range(spec.bars)]


# --------------------------------------------------------------------------- tempo


@pytest.mark.parametrize(
    ("prompt", "bpm"),
    [
        ("moody garage groove, 132 bpm", 132),
        ("trap hats at 150BPM", 150),
        ("ambient wash, BPM: 64", 64),
        ("bpm=96 funk bassline", 96),
        ("boom bap, tempo 87", 87),
        ("a waltz at tempo of 160.5", 160.5),
        ("disco strings ~118", 118),
        ("jungle break at 172", 172),
        ("reggae skank around 76 please", 76),
        ("house 124, 16 bars", 124),
        ("♩ = 66, a slow chorale", 66),
        ("q=108 march", 108),
        ("anywhere from 120-130 bpm", 125),
        ("90 beats per minute, lofi", 90),
    ],
)
def test_tempo_numbers_are_obeyed(prompt: str, bpm: float) -> None:
    spec = parse_prompt(prompt)
    assert spec.bpm == bpm
    assert "bpm" in spec.explicit


@pytest.mark.parametrize(
    ("prompt", "low", "high"),
    [
        ("a Largo for strings", 40, 60),
        ("Adagio cello line", 66, 76),
        ("andante flute tune", 76, 108),
        ("Moderato piano study", 108, 120),
        ("allegro violin melody", 120, 156),
        ("Presto harpsichord run", 168, 200),
        ("vivace string quartet", 156, 176),
    ],
)
def test_tempo_markings_fall_in_their_range(prompt: str, low: float, high: float) -> None:
    spec = parse_prompt(prompt)
    assert low <= spec.bpm <= high
    assert "bpm" in spec.explicit


def test_relative_tempo_words_scale_the_genre_tempo() -> None:
    house = GENRES["house"].bpm
    assert parse_prompt("slow house chords").bpm < house - 10
    assert parse_prompt("fast house chords").bpm > house + 10
    assert parse_prompt("uptempo house chords").bpm > house + 10


@pytest.mark.parametrize(
    ("prompt", "bpm"),
    [
        ("one hundred and ten bpm house", 110),
        ("a hundred and twenty beats per minute, techno", 120),
        ("ninety-five bpm trap", 95),
        ("lofi at seventy two bpm", 72),
        ("one hundred to one hundred and twenty bpm", 110),
    ],
)
def test_tempos_in_words_are_obeyed(prompt: str, bpm: float) -> None:
    spec = parse_prompt(prompt)
    assert spec.bpm == bpm
    assert "bpm" in spec.explicit


def test_number_words_are_a_tempo_only_before_a_tempo_unit() -> None:
    spec = parse_prompt("mid tempo one drop reggae")  # read as 1 bpm, "one" would be an error
    assert abs(spec.bpm - GENRES["reggae"].bpm) <= 2


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), ("seven", 7), ("seventeen", 17), ("sixty", 60), ("twenty four", 24), ("ninety-five", 95),
     ("one hundred and ten", 110), ("a hundred", 100), ("nine hundred and ninety nine", 999), ("a few", 3)],
)  # fmt: skip
def test_read_number(text: str, value: int) -> None:
    assert read_number(text) == value


def test_numbers_that_are_not_tempos_are_not_read_as_tempos() -> None:
    spec = parse_prompt("808 bass with 1/16 hats, 12 bars, in 7/8")
    assert "bpm" not in spec.explicit
    assert spec.meter == (7, 8) and spec.bars == 12


@pytest.mark.parametrize(
    ("prompt", "feel"), [("half-time dubstep", "half-time"), ("double time dnb drums", "double-time")]
)
def test_half_and_double_time_are_feels_not_tempos(prompt: str, feel: str) -> None:
    spec = parse_prompt(prompt + ", 140 bpm")
    assert spec.feel == feel and spec.bpm == 140 and "feel" in spec.explicit


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("prompt", "tonic", "mode"),
    [
        ("trap melody in C#m", "C#", "minor"),
        ("sad piano in F sharp minor", "F#", "minor"),
        ("gospel chords in E♭ major", "Eb", "major"),
        ("dark bass in Bbm", "Bb", "minor"),
        ("funk vamp in D dorian", "D", "dorian"),
        ("folk tune in A", "A", "major"),
        ("blues in the key of G", "G", "major"),
        ("key: F#m, house stabs", "F#", "minor"),
        ("Ab major ballad", "Ab", "major"),
        ("piano chords in a minor", "A", "minor"),
        ("sludgy riff in G-flat major", "Gb", "major"),
        ("cello in e minor", "E", "minor"),
        ("horns in B flat major", "Bb", "major"),
        ("key of Eb, smooth jazz", "Eb", "major"),
        ("celtic air in E aeolian", "E", "minor"),
        ("spooky harp in C harmonic minor", "C", "minor"),
        ("surf melody in A mixolydian", "A", "mixolydian"),
    ],
)
def test_keys_in_every_spelling(prompt: str, tonic: str, mode: str) -> None:
    spec = parse_prompt(prompt)
    assert (spec.key_tonic, spec.key_mode) == (parse_pitch_class(tonic), mode)
    assert {"key_tonic", "key_mode"} <= spec.explicit


def test_a_minor_key_names_only_the_mode() -> None:
    spec = parse_prompt("a piano piece in a minor key")
    assert spec.key_mode == "minor"
    assert "key_mode" in spec.explicit and "key_tonic" not in spec.explicit


def test_bare_key_takes_a_mode_word_elsewhere() -> None:
    spec = parse_prompt("twelve bar shuffle in E, minor feel")
    assert (spec.key_tonic, spec.key_mode) == (4, "minor")


@pytest.mark.parametrize("text", ["F minor", "C#m", "Eb major", "D dorian", "Bb", "f# minor", "G sharp minor"])
def test_parse_key_reads_whole_key_names(text: str) -> None:
    tonic, mode = parse_key(text)
    assert 0 <= tonic < 12 and mode in ("major", "minor", "dorian")


@pytest.mark.parametrize("text", ["H minor", "minor", "C major 7", ""])
def test_parse_key_rejects_non_keys_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"^key: "):
        parse_key(text)


@pytest.mark.parametrize(("name", "key"), [("Am", (9, "minor")), ("F#", (6, "major")), ("Bbm", (10, "minor"))])
def test_parse_key_reads_midi_key_signatures(name: str, key: tuple[int, str]) -> None:
    assert parse_key(name) == key  # as mido names a file's key signature


# --------------------------------------------------------------------------- meter and bars


@pytest.mark.parametrize(
    ("prompt", "meter"),
    [
        ("marching snare in 2/4", (2, 4)),
        ("piano waltz, 3/4 time", (3, 4)),
        ("odd prog riff in 5/4", (5, 4)),
        ("time signature 6/8, folk guitar", (6, 8)),
        ("balkan groove 7/8", (7, 8)),
        ("slip jig melody in 9/8", (9, 8)),
        ("slow blues ballad in 12/8", (12, 8)),
        ("a waltz for music box", (3, 4)),
        ("an irish jig on tin whistle", (6, 8)),
        ("a jig but in 4/4", (4, 4)),
        ("common time rock beat", (4, 4)),
    ],
)
def test_meters(prompt: str, meter: tuple[int, int]) -> None:
    spec = parse_prompt(prompt)
    assert spec.meter == meter and "meter" in spec.explicit


def test_meter_defaults_to_four_four_and_is_not_explicit() -> None:
    spec = parse_prompt("techno bassline")
    assert spec.meter == (4, 4) and "meter" not in spec.explicit


@pytest.mark.parametrize(
    ("prompt", "bars"),
    [
        ("a 4 bar loop of rhodes chords", 4),
        ("16-bar trance lead", 16),
        ("four bars of funk drums", 4),
        ("eight-bar phrase on cello", 8),
        ("bars: 32, ambient pad", 32),
        ("twelve measures of bass", 12),
        ("12 bar blues in C", 12),
        ("a twelve-bar blues, 24 bars", 24),
        ("a single bar of hats", 1),
        ("twenty five bars of techno", 25),
        ("twenty-four bars, house", 24),
        ("twentyfour bars of house", 24),
        ("one hundred bars of ambient", 100),
        ("a couple of bars of funk", 2),
    ],
)
def test_bars(prompt: str, bars: int) -> None:
    spec = parse_prompt(prompt)
    assert spec.bars == bars and "bars" in spec.explicit


# --------------------------------------------------------------------------- progressions


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("jazzy keys Dm7 G7 Cmaj7 A7, 4 bars", ["Dm7", "G7", "Cmaj7", "A7"]),
        ("chords: Em - C - G - D, 8 bars", ["Em", "C", "G", "D"] * 2),
        ("F#m7b5 B7 Em, 3 bars", ["F#m7b5", "B7", "Em"]),
        ("Bbmaj7 | Gm7 | Cm7 | F7 piano, 4 bars", ["Bbmaj7", "Gm7", "Cm7", "F7"]),
        ("Am to F to C to G, 4 bars", ["Am", "F", "C", "G"]),
    ],
)
def test_chord_symbols_are_kept_verbatim_one_per_bar(prompt: str, expected: list[str]) -> None:
    spec = parse_prompt(prompt)
    assert bar_symbols(spec) == expected
    assert "chords" in spec.explicit


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("I-V-vi-IV in D major, 4 bars", ["D", "A", "Bm", "G"]),
        ("I V vi IV in Eb major, 4 bars", ["Eb", "Bb", "Cm", "Ab"]),
        ("i-VI-III-VII in A minor, 4 bars", ["Am", "F", "C", "G"]),
        ("ii V I in Bb, 3 bars", ["Cm", "F", "Bb"]),
        ("ii7 V7 Imaj7 in C major, 3 bars", ["Dm7", "G7", "Cmaj7"]),
        ("i iv v in E minor, 3 bars", ["Em", "Am", "Bm"]),
        ("I\u2013IV\u2013V in G, 3 bars", ["G", "C", "D"]),  # en dashes
    ],
)
def test_roman_numerals_resolve_in_the_key(prompt: str, expected: list[str]) -> None:
    assert bar_symbols(parse_prompt(prompt)) == expected


def test_roman_numerals_without_a_key_take_the_mode_from_the_tonic_numeral() -> None:
    assert parse_prompt("i-VI-III-VII, sad").key_mode == "minor"
    assert parse_prompt("I-V-vi-IV, happy").key_mode == "major"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("12 bar blues in E", ["E7"] * 4 + ["A7"] * 2 + ["E7"] * 2 + ["B7", "A7", "E7", "B7"]),
        ("twelve-bar blues in Bb, shuffle", ["Bb7"] * 4 + ["Eb7"] * 2 + ["Bb7"] * 2 + ["F7", "Eb7", "Bb7", "F7"]),
        ("12-bar minor blues in A minor", ["Am7"] * 4 + ["Dm7"] * 2 + ["Am7"] * 2 + ["E7", "Dm7", "Am7", "E7"]),
    ],
)
def test_twelve_bar_blues(prompt: str, expected: list[str]) -> None:
    spec = parse_prompt(prompt)
    assert spec.bars == 12 and bar_symbols(spec) == expected and spec.genre == "blues"


def test_progression_repeats_to_fill_the_bars() -> None:
    spec = parse_prompt("Am F C G, 16 bars")
    assert bar_symbols(spec) == ["Am", "F", "C", "G"] * 4


def test_progression_without_bars_repeats_to_eight() -> None:
    spec = parse_prompt("Am F C G")
    assert spec.bars == 8 and "bars" not in spec.explicit


def test_progression_without_bars_prefers_a_multiple_of_four() -> None:
    assert parse_prompt("ii V I in F").bars == 12
    assert parse_prompt("12 bar blues in G").bars == 12


@pytest.mark.parametrize("rate", ["two chords per bar", "2 chords a bar", "half a bar each"])
def test_two_chords_per_bar(rate: str) -> None:
    spec = parse_prompt(f"Am F C G, {rate}, 2 bars")
    assert [(c.symbol, c.bar, c.beat, c.duration_beats) for c in spec.chords] == [
        ("Am", 0, 0.0, 2.0), ("F", 0, 2.0, 2.0), ("C", 1, 0.0, 2.0), ("G", 1, 2.0, 2.0)
    ]  # fmt: skip


@pytest.mark.parametrize("rate", ["2 bars each", "two bars per chord", "a chord every two bars"])
def test_chords_lasting_two_bars(rate: str) -> None:
    spec = parse_prompt(f"Dm Bb, {rate}, 8 bars")
    assert bar_symbols(spec) == ["Dm", "Dm", "Bb", "Bb"] * 2
    assert spec.bars == 8 and all(c.duration_beats == 8 for c in spec.chords)


def test_chord_durations_follow_the_meter() -> None:
    spec = parse_prompt("C G in 3/4, 2 bars")
    assert [(c.bar, c.duration_beats) for c in spec.chords] == [(0, 3.0), (1, 3.0)]


@pytest.mark.parametrize(
    ("symbols", "tonic", "mode"),
    [
        (["Am7", "Dm9", "G7", "Cmaj7"], "A", "minor"),
        (["Fmaj9", "Em7", "Dm7", "Cmaj7"], "C", "major"),
        (["G", "D", "Em", "C"], "G", "major"),
        (["Em", "C", "G", "D"], "E", "minor"),
        (["Dm", "Gm", "A7", "Dm"], "D", "minor"),
    ],
)
def test_key_from_chords(symbols: list[str], tonic: str, mode: str) -> None:
    assert key_from_chords(symbols) == (parse_pitch_class(tonic), mode)


def test_chords_without_a_key_give_the_key_but_not_as_explicit() -> None:
    spec = parse_prompt("Em C G D, 4 bars")
    assert (spec.key_tonic, spec.key_mode) == (4, "minor")
    assert "key_tonic" not in spec.explicit


def test_a_single_chord_name_is_a_key_not_a_progression() -> None:
    spec = parse_prompt("vamp in Gm, 4 bars")
    assert spec.chords == () and (spec.key_tonic, spec.key_mode) == (7, "minor")


# --------------------------------------------------------------------------- parts and instruments


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a drum groove", {"drums"}),
        ("walking bass line", {"bass"}),
        ("comping for a jazz trio", {"chords"}),
        ("strumming pattern", {"chords"}),
        ("a catchy topline", {"melody"}),
        ("the hook", {"melody"}),
        ("arpeggiated synth", {"arp"}),
        ("string ostinato", {"arp"}),
        ("evolving pads", {"pad"}),
        ("kick, snare and hats", {"drums"}),
        ("bassline and arpeggio", {"bass", "arp"}),
        ("melody over chords with a bass line", {"melody", "chords", "bass"}),
    ],
)
def test_part_words(prompt: str, expected: set[str]) -> None:
    spec = parse_prompt(prompt)
    assert roles(spec) == expected and "parts" in spec.explicit


def test_no_part_words_give_the_genre_defaults() -> None:
    for genre in ("trap", "jazz", "ambient", "folk"):
        spec = parse_prompt(f"{genre}, 8 bars")
        assert [p.role for p in spec.parts] == [r for r in PART_ROLES if r in GENRES[genre].parts]
        assert "parts" not in spec.explicit


def test_a_genre_track_is_the_genres_parts_plus_those_named() -> None:
    spec = parse_prompt("a synthwave track with a lead melody")
    assert roles(spec) == set(GENRES["synthwave"].parts) | {"melody"}
    assert roles(parse_prompt("a song on solo piano")) == {"chords"}  # no genre named: only what is said


def test_a_beat_is_drums_and_the_genre_bass() -> None:
    assert roles(parse_prompt("a house beat")) == {"drums", "bass"}
    assert roles(parse_prompt("a house groove")) == {"drums"}
    assert roles(parse_prompt("a techno loop")) == {"drums"}
    assert roles(parse_prompt("lofi beat with piano chords")) == {"drums", "bass", "chords"}


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("lofi hip hop, no drums", set(GENRES["lofi"].parts) - {"drums"}),
        ("house track without bass", set(GENRES["house"].parts) - {"bass"}),
        ("trap, no drums or bass", set(GENRES["trap"].parts) - {"drums", "bass"}),
        ("drumless jazz", set(GENRES["jazz"].parts) - {"drums"}),
        ("house, just the bassline", {"bass"}),
        ("trap beat, drums only", {"drums"}),
        ("only drums and bass, techno", {"drums", "bass"}),
        ("nothing but pads, ambient", {"pad"}),
        ("solo piano ballad", {"chords"}),
    ],
)
def test_exclusions(prompt: str, expected: set[str]) -> None:
    spec = parse_prompt(prompt)
    assert roles(spec) == expected and "parts" in spec.explicit


def test_excluding_every_part_is_an_error_naming_parts() -> None:
    with pytest.raises(InvalidInput, match=r"^parts: "):
        parse_prompt("drums only, no drums")


@pytest.mark.parametrize(
    ("prompt", "role", "family"),
    [
        ("piano melody", "melody", "piano"),
        ("melody on a violin", "melody", "strings"),
        ("a flute line over the top", "melody", "pipe"),
        ("organ chords", "chords", "organ"),
        ("rhodes comping", "chords", "piano"),
        ("808 bass", "bass", "bass"),
        ("slap bass groove", "bass", "bass"),
        ("acoustic guitar strumming", "chords", "guitar"),
        ("square lead", "melody", "synth_lead"),
        ("trumpet solo", "melody", "brass"),
        ("sax riff", "melody", "reed"),
        ("harp arpeggio", "arp", "strings"),
        ("music box melody", "melody", "chromatic"),
        ("warm pad", "pad", "synth_pad"),
        ("pad progression", "chords", "synth_pad"),
        ("cello", "melody", "strings"),
        ("upright bass", "bass", "bass"),
        ("marimba arp", "arp", "chromatic"),
    ],
)
def test_instruments_become_programs_in_roles(prompt: str, role: str, family: str) -> None:
    part = parse_prompt(prompt).part(role)
    assert part is not None and gm_family(part.program) == family


def test_piano_and_strings_with_a_progression_split_chords_and_pad() -> None:
    spec = parse_prompt("I IV V I in C, piano and strings")
    assert gm_family(spec.part("chords").program) == "piano"
    assert gm_family(spec.part("pad").program) == "strings"
    assert roles(spec) == {"chords", "pad"}


def test_generic_instrument_words_take_the_genres_sound() -> None:
    assert gm_family(parse_prompt("metal guitar chords").part("chords").program) == "guitar"
    assert parse_prompt("metal guitar chords").part("chords").program == GENRES["metal"].programs["chords"][0]
    assert parse_prompt("folk guitar chords").part("chords").program == GENRES["folk"].programs["chords"][0]


def test_a_list_of_instruments_gets_one_role_each() -> None:
    spec = parse_prompt("featuring piano, acoustic guitar, alto saxophone, string ensemble, and electric bass")
    families = {p.role: gm_family(p.program) for p in spec.parts}
    assert families["chords"] == "piano" and families["melody"] == "reed"
    assert families["bass"] == "bass" and families["pad"] == "strings"
    assert "guitar" in families.values()


def test_genre_names_made_of_part_words_are_not_parts() -> None:
    spec = parse_prompt("drum and bass, chords only")
    assert spec.genre == "dnb" and roles(spec) == {"chords"}


def test_every_instrument_program_is_valid() -> None:
    for word, instrument in INSTRUMENTS.items():
        assert 0 <= instrument.program <= 127, word
        assert instrument.role in PART_ROLES, word


# --------------------------------------------------------------------------- genre, mood, feel


@pytest.mark.parametrize(
    ("prompt", "genre"),
    [
        ("lofi hip hop chords", "lofi"),
        ("lo-fi keys", "lofi"),
        ("drum & bass roller", "dnb"),
        ("boom-bap drums", "hiphop"),
        ("k-pop chorus", "kpop"),
        ("neo-soul keys", "rnb"),
        ("bossa nova guitar", "bossanova"),
        ("8-bit arps", "chiptune"),
        ("epic orchestral strings", "cinematic"),
        ("irish fiddle", "folk"),
        ("deep house stabs", "house"),
        ("pop punk guitars", "rock"),
    ],
)
def test_genre_keywords(prompt: str, genre: str) -> None:
    spec = parse_prompt(prompt)
    assert spec.genre == genre and "genre" in spec.explicit


def test_misspelt_genres_match_by_spelling_without_the_model() -> None:
    assert parse_prompt("tecno loop").genre == "techno"
    assert parse_prompt("melancolic piano").mood == "sad"


@pytest.mark.parametrize(
    ("prompt", "swing"), [("hip hop drums with swing", 0.55), ("shuffle blues", 0.6), ("straight eighths jazz", 0.0)]
)
def test_swing(prompt: str, swing: float) -> None:
    spec = parse_prompt(prompt)
    assert spec.swing == swing and "swing" in spec.explicit


def test_density_words() -> None:
    assert parse_prompt("sparse piano").density < 0.3
    assert parse_prompt("minimal techno").density == GENRES["techno"].density  # a genre name, not density
    assert parse_prompt("busy drums").density > 0.7


def test_mood_sets_the_mode_when_no_key_is_given() -> None:
    assert parse_prompt("sad piano").key_mode == "minor"
    assert parse_prompt("happy ukulele").key_mode == "major"
    assert parse_prompt("sad piano in C major").key_mode == "major"


# --------------------------------------------------------------------------- overrides, explicit, errors


def test_overrides_win_and_are_explicit() -> None:
    spec = parse_prompt(
        "trap in F minor, 140 bpm, 8 bars, 3/4",
        overrides={"bpm": 90, "key": "C#m", "meter": "6/8", "bars": 4, "seed": 7},
    )
    assert (spec.bpm, spec.key_tonic, spec.key_mode, spec.meter, spec.bars, spec.seed) == (90, 1, "minor", (6, 8), 4, 7)
    assert {"bpm", "key_tonic", "key_mode", "meter", "bars", "seed"} <= spec.explicit


def test_overrides_fill_what_the_prompt_leaves_open() -> None:
    spec = parse_prompt("I V vi IV piano", overrides={"key": "A major", "bars": 4})
    assert bar_symbols(spec) == ["A", "E", "F#m", "D"]


def test_explicit_lists_exactly_what_was_said() -> None:
    spec = parse_prompt("dark trap beat in F minor at 140 bpm, 8 bars")
    assert spec.explicit == {"bpm", "key_tonic", "key_mode", "bars", "genre", "mood", "parts"}
    assert parse_prompt("something nice").explicit == frozenset()


@pytest.mark.parametrize(
    ("prompt", "overrides", "field"),
    [
        ("piano melody, 0 bars", None, "bars"),
        ("piano melody, 300 bars", None, "bars"),
        ("techno at 900 bpm", None, "bpm"),
        ("drone at 5 bpm", None, "bpm"),
        ("prog riff in 99/4", None, "meter"),
        ("weird 7/5 groove", None, "meter"),
        ("", None, "prompt"),
        ("   ", None, "prompt"),
        ("x" * 2001, None, "prompt"),
        ("piano", {"bars": 0}, "bars"),
        ("piano", {"bpm": 1000}, "bpm"),
        ("piano", {"key": "H major"}, "key"),
        ("piano", {"meter": "17/4"}, "meter"),
        ("piano", {"tempo": 120}, "overrides"),
    ],
)
def test_impossible_values_raise_naming_the_field(prompt: str, overrides: dict | None, field: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^{field}: "):
        parse_prompt(prompt, overrides=overrides)


def test_parse_meter() -> None:
    assert parse_meter("12/8") == (12, 8)
    with pytest.raises(InvalidInput, match=r"^meter: "):
        parse_meter("4/3")


def test_same_seed_same_spec_and_seeds_vary_the_defaults() -> None:
    prompt = "chill lofi beat"
    assert parse_prompt(prompt, seed=3) == parse_prompt(prompt, seed=3)
    keys = {(s.key_tonic, s.key_mode, s.bpm) for s in (parse_prompt(prompt, seed=n) for n in range(8))}
    assert len(keys) > 1


def test_defaults_come_from_the_genre() -> None:
    spec = parse_prompt("techno", seed=5)
    genre = GENRES["techno"]
    assert spec.key_tonic in genre.tonics and spec.key_mode in genre.modes
    assert abs(spec.bpm - genre.bpm) <= 2


def test_spec_round_trips_through_a_dict() -> None:
    spec = parse_prompt("12 bar blues in A, shuffle, piano and bass")
    assert MusicSpec.from_dict(spec.to_dict()) == spec


def test_a_style_inside_a_genre_changes_its_sound_unless_the_prompt_names_one() -> None:
    deep = parse_prompt("deep house groove in A minor, 122 bpm", seed=1)
    assert deep.genre == "house" and deep.parts[-1].role == "chords"
    assert deep.parts[-1].program in lx.SUSTAINED_PROGRAMS  # held pad chords, not piano stabs
    assert parse_prompt("house groove in A minor", seed=1).parts[-1].program == lx.GENRES["house"].programs["chords"][0]
    assert parse_prompt("deep house chords on a piano", seed=1).parts[0].program == 0  # the prompt's own piano


@pytest.mark.parametrize("prompt", ["a funky drummer style break, 100 bpm", "funk break", "amen break at 170 bpm"])
def test_a_break_is_drums(prompt: str) -> None:
    assert [p.role for p in parse_prompt(prompt, seed=1).parts] == ["drums"]
