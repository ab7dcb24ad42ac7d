"""The project's own idiom library: modern-genre grooves, basslines, progressions, comping,
arpeggios and melodies, written for promptdaw (MIT licence), and the generator that
combines them into training pieces.

Everything musical lives in data tables (:data:`GROOVES`, :data:`PROGRESSIONS`,
:data:`COMP_STYLES`, :data:`BASS_STYLES`, :data:`ARP_STYLES`, :data:`PROFILES`); the
functions below them are small and pure: each takes a ``random.Random`` and returns notes.
:func:`build_idiom_corpus` draws, per piece, a genre profile, key (all 12 tonics, the
profile's modes), meter, length (4-16 bars), tempo, groove, progression and parts, and
varies them (velocity humanisation, fills closing 4- or 8-bar phrases, hi-hat rolls,
ghost notes, note drops and additions, octaves, voicings and inversions).

Grid limits: notes live on a 16th-note grid, so 1/32 hi-hat rolls are written as 16th
runs with a velocity ramp and "triplet" hats as a 3-against-4 dotted-8th grouping; swing
(boom bap, jazz ride, shuffle) is written as the dotted-8th/16th approximation in 4/4 or
exactly in 12/8.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from promptdaw.core.music.theory import (
    MODES,
    Chord,
    chord_symbol,
    parse_chord,
    roman_to_symbol,
    scale_pitch_classes,
    twelve_bar_blues,
)
from training.text2midi.corpus import Note, Piece, Track, beat_groups, piece_problems

__all__ = [
    "ARP_STYLES",
    "BASS_STYLES",
    "COMP_STYLES",
    "GROOVES",
    "LICENCE",
    "PROFILES",
    "PROGRESSIONS",
    "ArpStyle",
    "CompStyle",
    "GenreProfile",
    "Groove",
    "MelodyStyle",
    "arp_track",
    "bass_track",
    "build_idiom_corpus",
    "colour_chord",
    "comp_track",
    "drum_track",
    "generate_piece",
    "melody_track",
    "progression_chords",
    "voice_chord",
]

LICENCE = "MIT (promptdaw idiom library)"

M24, M34, M44, M54, M68, M78, M128 = (2, 4), (3, 4), (4, 4), (5, 4), (6, 8), (7, 8), (12, 8)

# General MIDI percussion keys.
KICK, KICK_AC, RIM, SNARE, CLAP, SNARE_EL = 36, 35, 37, 38, 39, 40
TOM_FLOOR, CHH, TOM_LOW, PHH, TOM_MID, OHH, TOM_HI = 41, 42, 45, 44, 47, 46, 50
CRASH, RIDE, RIDE_BELL, TAMB, COWBELL = 49, 51, 53, 54, 56
BONGO_HI, BONGO_LO, CONGA_MUTE, CONGA_HI, CONGA_LO = 60, 61, 62, 63, 64
TIMBALE_HI, AGOGO_HI, SHAKER, CLAVES, WOODBLOCK = 65, 67, 70, 75, 76
_KICKS = (KICK, KICK_AC)
_HATS = (CHH, PHH, OHH, SHAKER, RIDE, TAMB)

#: Pattern characters: velocity of a hit; anything else ('.', '-') is a rest.
_HIT_VELOCITY = {"X": 118, "x": 96, "o": 52}


# =====================================================================================================================
# Drum grooves
# =====================================================================================================================


@dataclass(frozen=True)
class Groove:
    """A drum pattern: per GM key one character per 16th step ('X' accent, 'x' hit, 'o' ghost).

    Spaces and '|' are ignored; a pattern may span several bars and then cycles.
    """

    name: str
    meter: tuple[int, int]
    lines: tuple[tuple[int, str], ...]
    kick_every_beat: bool = False  # four on the floor: fills and variations keep every beat's kick
    hat_rolls: bool = False  # trap-style 16th runs and 3-against-4 hats
    fill: str = "snare"  # see _FILLS; "none" for no fills

    def line(self, key: int, bar: int, steps: int) -> str:
        for k, pattern in self.lines:
            if k == key:
                clean = _clean(pattern)
                start = (bar % max(1, len(clean) // steps)) * steps
                return clean[start : start + steps]
        return ""


def _clean(pattern: str) -> str:
    return pattern.replace(" ", "").replace("|", "")


def _g(name: str, meter: tuple[int, int], *lines: tuple[int, str], **kw) -> Groove:
    groove = Groove(name, meter, tuple(lines), **kw)
    steps = meter[0] * 16 // meter[1]
    for key, pattern in lines:
        if len(_clean(pattern)) % steps:
            raise ValueError(f"groove {name}: line for key {key} is not a whole number of {steps}-step bars")
    return groove


# fmt: off
_GROOVE_LIST = [
    # --- four on the floor ------------------------------------------------------------------------------------------
    _g("house-1", M44, (KICK, "X... x... X... x..."), (CLAP, ".... x... .... x..."),
       (OHH, "..x. ..x. ..x. ..x."), (CHH, "o.o. o.oo o.o. o.o."), kick_every_beat=True),
    _g("house-2", M44, (KICK, "X... x... X... x..."), (CLAP, ".... x... .... x..."),
       (OHH, "..x. ..x. ..x. ..x."), (SHAKER, "oxox oxox oxox oxox"), (RIM, "...o ..o. .o.. ..o."),
       kick_every_beat=True),
    _g("house-3", M44, (KICK, "X... x... X... x..."), (CLAP, ".... x... .... x..o"),
       (OHH, "..x. ..x. ..x. ..x."), (CHH, "x.xx x.xx x.xx x.xx"), (CONGA_HI, "...x .... ..x. ...."),
       kick_every_beat=True),
    _g("techno-1", M44, (KICK, "X... X... X... X..."), (OHH, "..x. ..x. ..x. ..x."),
       (CHH, "xoxo xoxo xoxo xoxo"), (CLAP, ".... x... .... x..."), kick_every_beat=True, fill="none"),
    _g("techno-2", M44, (KICK, "X... X... X... X..."), (OHH, "..X. ..X. ..X. ..X."),
       (RIM, "...x ..x. ...x .x.."), (CHH, "oooo oooo oooo oooo"), kick_every_beat=True, fill="snare"),
    _g("techno-3", M44, (KICK, "X... X... X... X..."), (CLAP, ".... X... .... X..."),
       (RIDE, "x.x. x.x. x.x. x.x."), (TOM_LOW, "...o .... ..o. ...."), kick_every_beat=True, fill="none"),
    _g("trance-1", M44, (KICK, "X... X... X... X..."), (CLAP, ".... x... .... x..."),
       (OHH, "..x. ..x. ..x. ..x."), (CHH, "o.oo o.oo o.oo o.oo"), kick_every_beat=True, fill="snare"),
    _g("disco-1", M44, (KICK, "X... x... X... x..."), (SNARE, ".... x... .... x..."),
       (OHH, "..x. ..x. ..x. ..x."), (CHH, "xo.o xo.o xo.o xo.o"), (TAMB, ".... x... .... x..."),
       kick_every_beat=True),
    _g("disco-2", M44, (KICK, "X... x... X... x..."), (CLAP, ".... x... .... x..."),
       (OHH, "..x. ..x. ..x. ..x."), (CHH, "xxxx xxxx xxxx xxxx"), kick_every_beat=True),
    _g("edm-1", M44, (KICK, "X... X... X... X..."), (CLAP, ".... X... .... X..."),
       (OHH, "..x. ..x. ..x. ..x."), (CHH, "o... o... o... o..."), kick_every_beat=True, fill="snare"),
    # --- hip hop, trap, r&b ------------------------------------------------------------------------------------------
    _g("trap-1", M44, (KICK, "X... ...x ..x. .... | X... .... ..x. .x.."), (CLAP, ".... .... X... ...."),
       (CHH, "x.x. x.x. x.x. x.x."), hat_rolls=True, fill="roll"),
    _g("trap-2", M44, (KICK, "X..x .... ..X. .... | X... ..x. .... x..."), (SNARE, ".... .... X... ...."),
       (CLAP, ".... .... x... ...."), (CHH, "xxxx xxxx xxxx xxxx"), (OHH, ".... .... .... ..x."),
       hat_rolls=True, fill="roll"),
    _g("trap-3", M44, (KICK, "X... .... x.x. .... | X..x .... ..x. ...."), (CLAP, ".... .... X... ...."),
       (CHH, "x.x. x.xx x.x. x.x."), (RIM, ".... .... .... ...o"), hat_rolls=True, fill="roll"),
    _g("drill-1", M44, (KICK, "X... .... .... .... | X... ..x. .... ...."), (SNARE, ".... .... X... .x.."),
       (CHH, "x..x ..x. x..x ..x."), hat_rolls=True, fill="roll"),
    _g("boombap-1", M44, (KICK, "X... .... ..x. .... | X... ...x ..x. ...."), (SNARE, ".... X... .... X..."),
       (CHH, "x..o x..o x..o x..o"), fill="snare"),
    _g("boombap-2", M44, (KICK, "X... ...x x... .... | X.x. .... ..x. ...o"), (SNARE, ".... X... .... X..o"),
       (CHH, "x.x. x.x. x.x. x.x."), (OHH, ".... .... .... ..x."), fill="snare"),
    _g("lofi-1", M44, (KICK, "x... ...x ..x. .... | x... .... ..x. ...."), (RIM, ".... x... .... x..."),
       (CHH, "o..o o..o o..o o..o"), (SHAKER, "..o. ..o. ..o. ..o."), fill="none"),
    _g("lofi-2", M44, (KICK, "x... .... x... .... | x... ..x. .x.. ...."), (SNARE, ".... x... .... x..."),
       (CHH, "o.o. o.o. o.o. o.o."), fill="none"),
    _g("rnb-1", M44, (KICK, "X... .... ..x. .... | X..x .... .x.. ...."), (CLAP, ".... X... .... X..."),
       (CHH, "x.x. x.xx x.x. x.xx"), (RIM, "...o .... .... ...."), hat_rolls=True, fill="roll"),
    _g("halftime-1", M44, (KICK, "X... .... ..x. .... | X... .... ..x. x..."), (SNARE, ".... .... X... ...."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="snare"),
    # --- breakbeat, dnb, garage, dubstep -----------------------------------------------------------------------------
    _g("dnb-1", M44, (KICK, "X... .... ..x. .... | X... .... ..x. ...."), (SNARE, ".... X... .... X..."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="snare"),
    _g("dnb-2", M44, (KICK, "X.x. .... ..x. .... | X... .... ..xx ...."), (SNARE, ".... X..o .o.. X..o"),
       (CHH, "xxxx xxxx xxxx xxxx"), (RIDE, "x... x... x... x..."), fill="snare"),
    _g("dnb-3", M44, (KICK, "X... .... ..x. ...x | .x.. .... ..x. ...."), (SNARE, ".... X... .... X..."),
       (SHAKER, "oxox oxox oxox oxox"), (OHH, "..x. .... .... ...."), fill="toms"),
    _g("garage-1", M44, (KICK, "X... .... ..x. .... | X... ...x ..x. ...."), (SNARE, ".... X... .... X..."),
       (CHH, "..x. ..x. ..x. ..x."), (SHAKER, "o.oo o.oo o.oo o.oo"), fill="snare"),
    _g("dubstep-1", M44, (KICK, "X... .... .... .... | X... .... ..x. ...."), (SNARE, ".... .... X... ...."),
       (CHH, "x.x. x.x. x.x. x.x."), (OHH, ".... .... .... ..x."), fill="snare"),
    _g("dubstep-2", M44, (KICK, "X... ..x. .... .... | X... .... .... x..."), (SNARE, ".... .... X... ...."),
       (CHH, "x.xx x.x. x.xx x.x."), fill="toms"),
    # --- latin, caribbean, african ------------------------------------------------------------------------------------
    _g("dembow-1", M44, (KICK, "X... x... X... x..."), (SNARE, "...x ..x. ...x ..x."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="snare"),
    _g("dembow-2", M44, (KICK, "X... x... X... x..."), (RIM, "...x ..x. ...x ..x."), (CLAP, "...x .... ...x ...."),
       (SHAKER, "oxox oxox oxox oxox"), (TIMBALE_HI, ".... .... .... ..x."), fill="snare"),
    _g("afrobeats-1", M44, (KICK, "X... ..x. ..x. .... | X... ..x. ..x. .x.."), (RIM, "...x ..x. ...x ..x."),
       (CLAP, ".... x... .... x..."), (SHAKER, "xoxo xoxo xoxo xoxo"), (CONGA_HI, "..x. ...x ..x. x..."),
       fill="none"),
    _g("afrobeat-1", M44, (KICK, "X... ..x. x... ..x."), (SNARE, ".... x..o .o.. x..."),
       (CHH, "xxxx xxxx xxxx xxxx"), (CONGA_LO, "x..x ..x. x..x ..x."), (COWBELL, "x.x. x.xx .x.x x.x."),
       fill="snare"),
    _g("reggae-1", M44, (KICK, ".... .... X... ...."), (RIM, ".... .... X... ...."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="none"),
    _g("ska-1", M44, (KICK, "X... .... X... ...."), (SNARE, ".... X... .... X..."),
       (CHH, "..x. ..x. ..x. ..x."), fill="snare"),
    _g("bossa-1", M44, (KICK, "X..x X..x X..x X..x"), (RIM, "X..x ..x. ..x. .x.. | ..x. .x.. x..x ..x."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="none"),
    _g("son-1", M44, (KICK, "X... ..x. X... ..x."), (CLAVES, "x..x ...x .... x... | ..x. x... .... ...."),
       (CONGA_HI, "..x. ..xx ..x. ..xx"), (COWBELL, "x... x... x... x..."), fill="none"),
    _g("bembe-68", M68, (KICK, "X... .. x... .."), (COWBELL, "x.x.xx .x.x.x"), (SHAKER, "xoxoxo xoxoxo"),
       (CONGA_HI, "...x.. ...x.x"), fill="none"),
    # --- rock, pop, funk, soul, country ----------------------------------------------------------------------------
    _g("rock-1", M44, (KICK, "X... .... X.x. ...."), (SNARE, ".... X... .... X..."), (CHH, "x.x. x.x. x.x. x.x."),
       fill="toms"),
    _g("rock-2", M44, (KICK, "X.x. .... X... .x.."), (SNARE, ".... X... .... X..."), (CHH, "x.x. x.x. x.x. x.x."),
       (CRASH, ".... .... .... ...."), fill="toms"),
    _g("rock-3", M44, (KICK, "X... ..x. X.x. ...."), (SNARE, ".... X... .... X..."), (RIDE, "x.x. x.x. x.x. x.x."),
       fill="snare"),
    _g("punk-1", M44, (KICK, "X... X... X... X..."), (SNARE, "..X. ..X. ..X. ..X."), (CHH, "x.x. x.x. x.x. x.x."),
       fill="snare"),
    _g("metal-1", M44, (KICK, "XxXx XxXx XxXx XxXx"), (SNARE, ".... X... .... X..."), (CHH, "x... x... x... x..."),
       fill="toms"),
    _g("metal-2", M44, (KICK, "X.X. X.X. X.X. X.X."), (SNARE, ".... X... .... X..."), (RIDE, "x.x. x.x. x.x. x.x."),
       fill="toms"),
    _g("pop-1", M44, (KICK, "X... .... X... ...."), (CLAP, ".... X... .... X..."), (CHH, "x.x. x.x. x.x. x.x."),
       fill="snare"),
    _g("pop-2", M44, (KICK, "X... ..x. X... ...."), (SNARE, ".... X... .... X..."), (CHH, "xoxo xoxo xoxo xoxo"),
       (OHH, ".... .... .... ..x."), fill="snare"),
    _g("pop-3", M44, (KICK, "X..x ..x. X... ...."), (CLAP, ".... X... .... X..."), (SHAKER, "oxox oxox oxox oxox"),
       fill="snare"),
    _g("funk-1", M44, (KICK, "X... .... ..x. .x.."), (SNARE, ".... X..o .o.. X..o"),
       (CHH, "xoxo Xoxo xoxo Xoxo"), (OHH, ".... .... .... ..x."), fill="snare"),
    _g("funk-2", M44, (KICK, "X..x .... ..X. .... | X... ..x. ..x. ...."), (SNARE, ".o.. X..o .o.o X..."),
       (CHH, "xxxx xxxx xxxx xxxx"), fill="snare"),
    _g("soul-1", M44, (KICK, "X... .... X.x. ...."), (SNARE, ".... X... .... X..."), (TAMB, ".... x... .... x..."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="snare"),
    _g("gospel-1", M44, (KICK, "X... ...x ..x. ...."), (SNARE, ".... X..o .... X..o"), (CHH, "x.xo x.xo x.xo x.xo"),
       fill="toms"),
    _g("country-1", M44, (KICK, "X... .... X... ...."), (SNARE, "oxox Xxox oxox Xxox"), fill="snare"),
    _g("synthwave-1", M44, (KICK, "X... .... X... ...."), (SNARE, ".... X... .... X..."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="toms"),
    _g("synthwave-2", M44, (KICK, "X... ..x. X... ...."), (SNARE, ".... X... .... X..."),
       (CHH, "xxxx xxxx xxxx xxxx"), fill="toms"),
    _g("chiptune-1", M44, (KICK, "X... ..x. X... ...."), (SNARE, ".... X... .... X..."), (CHH, "x.x. x.x. x.x. x.x."),
       fill="snare"),
    _g("cinematic-1", M44, (KICK, "X... .... X... ...."), (TOM_FLOOR, "x..x ..x. x..x ..x."),
       (TOM_LOW, ".... ..x. .... x.x."), (SNARE, ".... .... .... X..."), fill="toms"),
    _g("march-1", M44, (KICK, "X... x... X... x..."), (SNARE, "x.xx x.x. x.xx x.x."), (CRASH, ".... .... .... ...."),
       fill="snare"),
    # --- widened library: more grooves for thin genres, and new genres ------------------------------------------------
    _g("trance-2", M44, (KICK, "X... X... X... X..."), (OHH, "..x. ..x. ..x. ..x."), (CHH, "xoxx xoxx xoxx xoxx"),
       (CLAP, ".... x... .... x..."), (CRASH, ".... .... .... ...."), kick_every_beat=True, fill="snare"),
    _g("edm-2", M44, (KICK, "X... X... X... X..."), (CLAP, ".... X... .... X..."), (SNARE, ".... x... .... x..."),
       (OHH, "..x. ..x. ..x. ..x."), (SHAKER, "oxox oxox oxox oxox"), kick_every_beat=True, fill="snare"),
    # Four-on-the-floor genres whose grooves differed only in their hats: variants a producer
    # reaches for (ride, percussion, sparse drop, 8th hats), so seeds have real choices.
    _g("trance-3", M44, (KICK, "X... X... X... X..."), (CLAP, ".... x... .... x..."), (RIDE, "..x. ..x. ..x. ..x."),
       (CHH, "x.x. x.x. x.x. x.x."), kick_every_beat=True, fill="snare"),
    _g("trance-4", M44, (KICK, "X... X... X... X..."), (SNARE, ".... x... .... x..."), (OHH, "..x. ..x. ..x. ..x."),
       (SHAKER, "oooo oooo oooo oooo"), (TAMB, ".... .... .... x..."), kick_every_beat=True, fill="snare"),
    _g("edm-3", M44, (KICK, "X... X... X... X..."), (CLAP, ".... X... .... X..."), (OHH, "..x. ..x. ..x. ..x."),
       (CRASH, "x... .... .... ...."), kick_every_beat=True, fill="snare"),
    _g("edm-4", M44, (KICK, "X... X... X... X..."), (SNARE, ".... x... .... x..."), (CHH, "x.x. x.x. x.x. x.x."),
       (OHH, "..x. ..x. ..x. ..x."), (TAMB, "..x. ..x. ..x. ..x."), kick_every_beat=True, fill="snare"),
    _g("disco-3", M44, (KICK, "X... x... X... x..."), (SNARE, ".... x... .... x..."), (OHH, "..x. ..x. ..x. ..x."),
       (CONGA_HI, "..x. .x.. ..x. x..."), (CONGA_LO, "x... ...x x... ..x."), (CHH, "x.x. x.x. x.x. x.x."),
       kick_every_beat=True),
    _g("disco-4", M44, (KICK, "X... x... X... x..."), (CLAP, ".... x... .... x..."), (SHAKER, "oxox oxox oxox oxox"),
       (OHH, "..x. ..x. ..x. ..x."), (COWBELL, "...x .... ..x. ...."), kick_every_beat=True),
    _g("garage-4", M44, (KICK, "X... .... .x.. .... | X... ..x. .... ...."), (SNARE, ".... X... .... X..."),
       (RIM, "..o. .... o... ..o."), (CHH, "..x. ..xx ..x. ..x."), fill="snare"),
    _g("drill-2", M44, (KICK, "X... ...x .... .... | ..x. .... x... ...."),
       (SNARE, ".... .... X... .... | .... .... X... ..x."),
       (CHH, "x..x ..x. x..x ..x."), (OHH, ".... .... .... .x.."), hat_rolls=True, fill="roll"),
    _g("drill-3", M44, (KICK, "X... .... ..x. .... | .... ..x. x... ...."),
       (CLAP, ".... .... X... .... | .... .... X... .x.."),
       (SNARE, ".... .... x... ...."), (CHH, "x.xx ..x. x.x. ..x."), hat_rolls=True, fill="roll"),
    _g("phonk-1", M44, (KICK, "X... .... ..x. .... | X..x .... ..x. ...."), (CLAP, ".... .... X... ...."),
       (CHH, "x.x. x.x. x.x. x.x."), (COWBELL, "x..x ..x. .x.. x..."), hat_rolls=True, fill="roll"),
    _g("phonk-2", M44, (KICK, "X..x .... ..x. .... | X... ..x. .x.. ...."), (SNARE, ".... .... X... ...."),
       (CLAP, ".... .... x... ...."), (CHH, "xxxx xxxx xxxx xxxx"), (COWBELL, "x... ..x. ..x. ...."), hat_rolls=True,
       fill="roll"),
    _g("grime-1", M44, (KICK, "X... .... .... ..x. | .x.. .... x... ...."), (SNARE, ".... .... X... ...."),
       (CHH, "x... x... x... x..."), (CLAP, ".... .... .... ...."), fill="snare"),
    _g("grime-2", M44, (KICK, "X..x ..x. .... .... | X... ..x. ..x. ...."), (CLAP, ".... .... X... ...."),
       (CHH, "x.x. x.x. x.x. x.xx"), (RIM, "...o .... .... .o.."), fill="roll"),
    _g("futurebass-1", M44, (KICK, "X... .... ..x. .... | X... ..x. .... ...."), (SNARE, ".... .... X... ...."),
       (CLAP, ".... .... X... ...."), (CHH, "x.x. x.x. x.x. x.x."), hat_rolls=True, fill="roll"),
    _g("futurebass-2", M44, (KICK, "X... .... .... ..x. | ..x. .... .... ...."), (SNARE, ".... .... X... ...."),
       (CHH, "xoxo xoxo xoxo xoxo"), (OHH, ".... .... .... ..x."), hat_rolls=True, fill="roll"),
    _g("garage-2", M44, (KICK, "X... ...x .... ..x. | X... .... ..x. ...."), (SNARE, ".... X... .... X..."),
       (CHH, "..x. .x.x ..x. .x.x"), (RIM, "...o .... .o.. ...."), fill="snare"),
    _g("garage-3", M44, (KICK, "X... .... ..x. ...x | .... .... X... ...."), (CLAP, ".... X... .... X..."),
       (SHAKER, "oxox oxox oxox oxox"), (OHH, "..x. ..x. ..x. ..x."), fill="snare"),
    _g("dancehall-1", M44, (KICK, "X..x ..x. X..x ..x."), (RIM, ".... x... .... x..."), (CLAP, ".... x... .... x..."),
       (CHH, "x.x. x.x. x.x. x.x."), fill="snare"),
    _g("dancehall-2", M44, (KICK, "X... ..x. X... ..x."), (SNARE, ".... X... .... X..."),
       (SHAKER, "oxox oxox oxox oxox"), (RIM, "...x .... ...x ...."), fill="snare"),
    _g("dancehall-3", M44, (KICK, "X..x ..x. ..x. x..."), (SNARE, ".... X... .... X..."), (CHH, "xoxo xoxo xoxo xoxo"),
       (TIMBALE_HI, ".... .... .... .xx."), fill="toms"),
    _g("amapiano-1", M44, (KICK, "X... x... X... x..."), (CLAP, ".... x... .... x..."), (SHAKER, "oxox oxox oxox oxox"),
       (RIM, "..x. ...x ..x. .x.."), kick_every_beat=True, fill="none"),
    _g("amapiano-2", M44, (KICK, "X... .... X... ...."), (CLAP, ".... x... .... x..."), (SHAKER, "xoxx xoxx xoxx xoxx"),
       (RIM, "...x ..x. ...x ..x."), (CONGA_HI, "..x. .... .x.. ...."), fill="none"),
    _g("amapiano-3", M44, (KICK, "X... x... X... x..."), (CLAP, ".... X... .... X..."), (OHH, "..x. ..x. ..x. ..x."),
       (SHAKER, "oxox oxox oxox oxox"), (WOODBLOCK, "...x .... ..x. ...."), kick_every_beat=True, fill="none"),
    _g("jersey-1", M44, (KICK, "X... X... X..X .X.."), (CLAP, ".... X... .... X..."), (CHH, "..x. ..x. ..x. ..x."),
       fill="snare"),
    _g("jersey-2", M44, (KICK, "X..X ..X. X..X ..X."), (CLAP, ".... X... .... X..."), (SNARE, ".... .... .... ..x."),
       (OHH, "..x. ..x. ..x. ..x."), fill="snare"),
    _g("hardstyle-1", M44, (KICK, "X... X... X... X..."), (CLAP, ".... X... .... X..."), (OHH, "..x. ..x. ..x. ..x."),
       kick_every_beat=True, fill="snare"),
    _g("hardstyle-2", M44, (KICK, "X... X... X... X..."), (SNARE, ".... X... .... X..."), (RIDE, "..x. ..x. ..x. ..x."),
       (CHH, "o.o. o.o. o.o. o.o."), kick_every_beat=True, fill="snare"),
    _g("psy-1", M44, (KICK, "X... X... X... X..."), (OHH, "..x. ..x. ..x. ..x."), (CHH, "oxoo oxoo oxoo oxoo"),
       kick_every_beat=True, fill="none"),
    _g("psy-2", M44, (KICK, "X... X... X... X..."), (OHH, "..x. ..x. ..x. ..x."), (CLAP, ".... x... .... x..."),
       (RIDE, "x.x. x.x. x.x. x.x."), kick_every_beat=True, fill="none"),
    _g("electro-1", M44, (KICK, "X... .... ..X. .... | X... .... ..X. ..X."), (CLAP, ".... X... .... X..."),
       (CHH, "xxxx xxxx xxxx xxxx"), (COWBELL, "..x. .... ..x. ...."), fill="snare"),
    _g("electro-2", M44, (KICK, "X..X .... ..X. .... | X... ..X. ..X. ...."), (SNARE, ".... X... .... X..."),
       (CHH, "x.x. x.x. x.x. x.x."), (OHH, ".... .... .... ..x."), fill="toms"),
    _g("triphop-1", M44, (KICK, "X... .... ..x. ...x | X... ...x ..x. ...."), (SNARE, ".... X... .... X..."),
       (CHH, "x..o x..o x..o x..o"), fill="none"),
    _g("triphop-2", M44, (KICK, "X... ..x. .... ..x."), (SNARE, ".... X... .... X..."), (RIDE, "x.x. x.x. x.x. x.x."),
       (RIM, ".... .... ...o ...."), fill="none"),
    _g("bossa-2", M44, (KICK, "X..x X..x X..x X..x"), (RIM, "..x. .x.. x..x ..x. | x..x ..x. ..x. .x.."),
       (SHAKER, "xoxo xoxo xoxo xoxo"), fill="none"),
    _g("samba-1", M44, (KICK, "x..X x..X x..X x..X"), (TAMB, "x.xx .x.x x.xx .x.x"), (SHAKER, "xxxx xxxx xxxx xxxx"),
       (AGOGO_HI, "x.x. .x.x .x.x x.x."), fill="none"),
    _g("salsa-1", M44, (CLAVES, "x... ..x. ...x .... | ..x. x... .... ...."), (COWBELL, "x.x. x.x. x.x. x.x."),
       (CONGA_HI, "...x ..xx ...x ..xx"), (CONGA_LO, ".... .... .... x..."), (KICK, "...x .... .... ...."),
       fill="none"),
    _g("salsa-2", M44, (CLAVES, "..x. x... .... .... | x... ..x. ...x ...."), (TIMBALE_HI, "x.xx x.x. x.xx x.x."),
       (CONGA_HI, "..xx ...x ..xx ...x"), (BONGO_HI, "x.x. x.x. x.x. x.x."), fill="none"),
    _g("cumbia-1", M44, (KICK, "X... .... X... ...."), (SHAKER, "x.xx x.xx x.xx x.xx"), (RIM, "..x. ..x. ..x. ..x."),
       (CONGA_HI, ".... ..x. .... ..xx"), fill="none"),
    _g("cumbia-2", M44, (KICK, "X... .... X... ...."), (SNARE, ".... x... .... x..."), (SHAKER, "xxxx xxxx xxxx xxxx"),
       (CONGA_LO, "..x. ...x ..x. ...x"), fill="none"),
    _g("baile-1", M44, (KICK, "X..x ..x. ..x. x..."), (CLAP, "...x ..x. .x.. x..."), (CHH, "x.x. x.x. x.x. x.x."),
       fill="none"),
    _g("baile-2", M44, (KICK, "X..x ..x. X..x ..x."), (SNARE, ".... X... .... X..."), (CLAP, "...x .... .x.. ...."),
       (SHAKER, "oxox oxox oxox oxox"), fill="snare"),
    _g("citypop-1", M44, (KICK, "X... ..x. X... ...."), (SNARE, ".... X... .... X..."), (CHH, "xoxo xoxo xoxo xoxo"),
       (TAMB, ".... x... .... x..."), fill="snare"),
    _g("citypop-2", M44, (KICK, "X... .... X.x. ...."), (SNARE, ".... X..o .... X..."), (CHH, "x.x. x.x. x.x. x.x."),
       (OHH, ".... .... .... ..x."), fill="toms"),
    _g("bluegrass-1", M44, (KICK, "X... .... X... ...."), (SNARE, ".... x... .... x..."), fill="none"),
    _g("bluegrass-2", M24, (KICK, "X... ...."), (SNARE, ".... x..."), (SHAKER, "x.x. x.x."), fill="none"),
    _g("newjack-1", M44, (KICK, "X... ..x. .x.. x..."), (SNARE, ".... X... .... X..."), (CHH, "x.xx x.xx x.xx x.xx"),
       fill="snare"),
    _g("newjack-2", M44, (KICK, "X..x ..x. ..x. ...."), (CLAP, ".... X... .... X..."), (SNARE, ".... x... .... x..."),
       (CHH, "x..x x..x x..x x..x"), fill="snare"),
    _g("afrobeats-2", M44, (KICK, "X... ..x. X... ..x."), (CLAP, ".... x... .... x..."), (RIM, "..x. ..x. .x.. x..."),
       (SHAKER, "oxox oxox oxox oxox"), fill="none"),
    _g("afrobeat-2", M44, (KICK, "X..x ..x. X... ..x."), (SNARE, ".... x... ..o. x..."), (OHH, "..x. ..x. ..x. ..x."),
       (COWBELL, "x.x. x.x. x.x. x.x."), (CONGA_HI, "..x. .xx. ..x. .xx."), fill="snare"),
    _g("reggae-2", M44, (KICK, "X... X... X... X..."), (RIM, ".... .... X... ...."), (CHH, "x.xx x.xx x.xx x.xx"),
       fill="none"),
    _g("reggae-3", M44, (KICK, "X... .... X... ...."), (SNARE, ".... .... X... ...."), (CHH, "..x. ..x. ..x. ..x."),
       fill="snare"),
    _g("ska-2", M44, (KICK, "X... .... X... ...."), (SNARE, ".... X... .... X..."), (RIDE, "..x. ..x. ..x. ..x."),
       (CHH, "x... x... x... x..."), fill="snare"),
    _g("chiptune-2", M44, (KICK, "X... .... X.X. ...."), (SNARE, ".... X... .... X..."), (CHH, "xxxx xxxx xxxx xxxx"),
       fill="snare"),
    _g("cinematic-2", M44, (TOM_FLOOR, "X..x ..x. X..x ..x."), (KICK, "X... .... X... ...."),
       (SNARE, ".... X... .... X..."), (CRASH, ".... .... .... ...."), fill="toms"),
    # --- swing, shuffle ----------------------------------------------------------------------------------------------
    _g("jazz-ride", M44, (RIDE, "x... x..x x... x..x"), (PHH, ".... x... .... x..."), (KICK_AC, "o... o... o... o..."),
       (SNARE, ".... .... ...o ...."), fill="none"),
    _g("jazz-ride-2", M44, (RIDE, "x... x..x x... x..x"), (PHH, ".... x... .... x..."),
       (SNARE, "...o .... ..o. ...o"), fill="snare"),
    _g("shuffle-44", M44, (KICK, "X... .... X... ...."), (SNARE, ".... X... .... X..."), (CHH, "x..x x..x x..x x..x"),
       fill="snare"),
    _g("shuffle-128", M128, (KICK, "X..... ...... X..... ......"), (SNARE, "...... X..... ...... X....."),
       (CHH, "x...x. x...x. x...x. x...x."), fill="snare"),
    _g("ballad-128", M128, (KICK, "X..... ...... X...x. ......"), (SNARE, "...... X..... ...... X....."),
       (CHH, "x.x.x. x.x.x. x.x.x. x.x.x."), fill="toms"),
    # --- triple and compound meters -----------------------------------------------------------------------------------
    _g("waltz-34", M34, (KICK, "X... .... ...."), (SNARE, ".... o... o..."), (CHH, "x... x... x..."), fill="none"),
    _g("waltz-34b", M34, (KICK, "X... .... ...."), (RIM, ".... x... x..."), (RIDE, "x... x..x x..."), fill="snare"),
    _g("jazzwaltz-34", M34, (RIDE, "x... x..x x..x"), (PHH, ".... x... ...."), (KICK_AC, "o... .... ...."),
       fill="none"),
    _g("pop-34", M34, (KICK, "X... .... ..x."), (SNARE, ".... X... ...."), (CHH, "x.x. x.x. x.x."), fill="snare"),
    _g("ballad-68", M68, (KICK, "X..... ......"), (SNARE, "...... X....."), (CHH, "x.x.x. x.x.x."), fill="toms"),
    _g("jig-68", M68, (KICK, "X..... x....."), (SNARE, "..o.o. ..o.o."), (TAMB, "x...x. x...x."), fill="none"),
    _g("rock-68", M68, (KICK, "X...x. ......"), (SNARE, "...... X....."), (CHH, "x.x.x. x.x.x."), fill="toms"),
    # --- duple and odd meters -----------------------------------------------------------------------------------------
    _g("polka-24", M24, (KICK, "X... x..."), (SNARE, "..x. ..x."), fill="snare"),
    _g("march-24", M24, (KICK, "X... x..."), (SNARE, "x.xx x.x."), (CRASH, "x... ...."), fill="snare"),
    _g("five-54", M54, (KICK, "X... .... X... .... ...."), (SNARE, ".... .... .... X... X..."),
       (RIDE, "x... x..x x... x..x x..."), fill="snare"),
    _g("five-54b", M54, (KICK, "X... ..x. .... X... ...."), (SNARE, ".... X... .... .... X..."),
       (CHH, "x.x. x.x. x.x. x.x. x.x."), fill="toms"),
    _g("seven-78", M78, (KICK, "X... .... X.x..."), (SNARE, ".... X... ..X..."), (CHH, "x.x. x.x. x.x.x."),
       fill="snare"),
    _g("seven-78b", M78, (KICK, "X... ..x. x....."), (SNARE, ".... X... ....X."), (RIDE, "x.x. x.x. x.x.x."),
       fill="toms"),
]
# fmt: on

#: All grooves by name.
GROOVES: dict[str, Groove] = {g.name: g for g in _GROOVE_LIST}


def _fill_notes(kind: str, start: int, length: int, rng: random.Random) -> list[tuple[int, int, int]]:
    """(step, key, velocity) of a fill covering ``length`` steps from ``start``."""
    hits = []
    if kind == "toms":
        toms = (TOM_HI, TOM_MID, TOM_LOW, TOM_FLOOR)
        for i in range(length):
            hits.append((start + i, toms[min(3, i * 4 // length)], 80 + 30 * i // length))
    elif kind == "roll":
        for i in range(length):
            hits.append((start + i, CHH, 50 + 60 * i // length))
        hits.append((start + length - 1, SNARE, 100))
    else:  # snare: 16ths, or 8ths then 16ths, rising
        for i in range(length):
            if i < length // 2 and i % 2 and rng.random() < 0.6:
                continue
            hits.append((start + i, SNARE, 60 + 55 * i // length))
    return hits


def drum_track(
    groove: Groove, bars: int, rng: random.Random, *, fill_every: int = 8, crash_start: bool = False
) -> list[Note]:
    """Play ``groove`` for ``bars`` bars with variations.

    Velocities are humanised; hats and ghost notes are sometimes dropped and ghost snares
    added; trap grooves get 16th runs and 3-against-4 hats; the last bar of every
    ``fill_every`` bars gets a fill (keeping the kicks of four-on-the-floor grooves) and the
    bar after it a crash.
    """
    steps = groove.meter[0] * 16 // groove.meter[1]
    groups = beat_groups(groove.meter)
    keys = [k for k, _ in groove.lines]
    notes: list[Note] = []
    for bar in range(bars):
        hits: dict[tuple[int, int], int] = {}
        for key in keys:
            for i, ch in enumerate(groove.line(key, bar, steps)):
                if ch in _HIT_VELOCITY:
                    hits[(i, key)] = _HIT_VELOCITY[ch]
        # Variation: drop some soft hats and ghosts, add a ghost snare now and then.
        for (i, key), vel in list(hits.items()):
            if key in _HATS and vel < 90 and rng.random() < 0.06:
                del hits[(i, key)]
        if SNARE in keys and groove.fill != "roll" and rng.random() < 0.25:
            hits.setdefault((rng.randrange(1, steps, 2), SNARE), 45)  # a ghost on an off-beat 16th
        if groove.hat_rolls and rng.random() < 0.7:
            _add_hat_roll(hits, groups, rng)
        phrase_end = (bar + 1) % fill_every == 0 or (bar == bars - 1 and bars % fill_every and bars > 2)
        if groove.fill != "none" and phrase_end and rng.random() < 0.85:
            length = groups[-1] + (groups[-2] if len(groups) > 1 and rng.random() < 0.4 else 0)
            start = steps - length
            for i, key in list(hits):
                if i < start:
                    continue
                if key in _KICKS and (groove.kick_every_beat or rng.random() < 0.5):
                    continue  # four-on-the-floor kicks always survive a fill, others sometimes
                del hits[(i, key)]
            kind = groove.fill if groove.fill != "snare" or rng.random() < 0.7 else "toms"
            for i, key, vel in _fill_notes(kind, start, length, rng):
                hits[(i, key)] = vel
        phrase_start = (bar > 0 and bar % fill_every == 0) or (bar == 0 and crash_start)
        if phrase_start and groove.fill != "none" and rng.random() < 0.8:
            hits[(0, CRASH)] = 110
        if groove.kick_every_beat:
            for i in _group_starts(groups):
                hits.setdefault((i, KICK), 100)
        for (i, key), vel in sorted(hits.items()):
            length = {OHH: 2, CRASH: 8, RIDE: 2}.get(key, 1)
            start = bar * steps + i
            notes.append(Note(start, max(1, min(length, bars * steps - start)), key, _humanise(vel, rng, 6)))
    return notes


def _group_starts(groups: Sequence[int]) -> list[int]:
    starts, pos = [], 0
    for g in groups:
        starts.append(pos)
        pos += g
    return starts


def _add_hat_roll(hits: dict[tuple[int, int], int], groups: Sequence[int], rng: random.Random) -> None:
    """Replace the hats of one or two beats with a 16th run (velocity ramp) or 3-against-4 hits."""
    starts = _group_starts(groups)
    b = rng.randrange(len(groups))
    span = groups[b] + (groups[b + 1] if b + 1 < len(groups) and rng.random() < 0.4 else 0)
    start = starts[b]
    for i, key in list(hits):
        if key in (CHH, OHH) and start <= i < start + span:
            del hits[(i, key)]
    stride = 3 if rng.random() < 0.35 else 1
    run = list(range(start, start + span, stride))
    for j, i in enumerate(run):
        hits[(i, CHH)] = 55 + 50 * j // max(1, len(run) - 1) if stride == 1 else 90


# =====================================================================================================================
# Harmony: progressions as roman numerals, resolved with theory.roman_to_symbol
# =====================================================================================================================

#: Progressions by tag, then mode: one numeral per bar, cycled over the piece.
# fmt: off
PROGRESSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "pop": {
        "major": ("I V vi IV", "vi IV I V", "I vi IV V", "IV I V vi", "I IV vi V", "I V IV V", "I iii IV V",
                  "IV V iii vi", "I IV I V", "vi V IV V", "I V vi iii IV I IV V", "I Isus4 IV V"),
        "minor": ("i VI III VII", "i iv VI V", "i VII VI VII", "i VI VII i", "VI VII i i", "i iv VII III",
                  "i III VII VI", "i VI iv V"),
    },
    "edm": {
        "minor": ("i VI III VII", "VI VII i i", "i VII VI VII", "VI III VII i", "i VI VII v", "iv VI i VII"),
        "major": ("IV V vi vi", "vi IV I V", "I V vi IV", "IV I V vi"),
    },
    "dark": {
        "minor": ("i i VI V", "i iv i V", "i VI iv V", "i i iv iv", "i VII VI V", "i v VI iv", "i i VI VI",
                  "i iv VI V"),
        "phrygian": ("i II i II", "i II VII i", "i i II II", "i II iv i"),
        "dorian": ("i IV i IV", "i i IV IV", "i VII IV i"),
    },
    "trap": {
        "minor": ("i VI i VII", "i iv VI v", "i i VI VI", "i VI iv V", "i VII VI VII", "i iv i VI", "VI iv i V"),
        "phrygian": ("i II i II", "i i II i"),
        "major": ("I iii vi IV", "vi IV I V"),
    },
    "jazz": {
        "major": ("ii7 V7 Imaj7 Imaj7", "Imaj7 vi7 ii7 V7", "iii7 vi7 ii7 V7", "Imaj7 IVmaj7 iii7 vi7",
                  "ii7 V7 iii7 vi7", "Imaj7 I7 IVmaj7 iv6", "ii7 ii7 V7 V7 Imaj7 Imaj7 vi7 V7"),
        "minor": ("iiø7 V7 i7 i7", "i7 iv7 VII7 IIImaj7", "i7 iv7 iiø7 V7", "i6 i6 iiø7 V7"),
        "dorian": ("i7 IV7 i7 IV7", "i7 i7 ii7 ii7"),
    },
    "soul": {
        "major": ("IVmaj7 iii7 ii7 Imaj7", "ii7 iii7 IVmaj7 V7", "Imaj7 iii7 IVmaj7 iv6", "vi7 ii7 V7 Imaj7",
                  "IVmaj7 V7 iii7 vi7", "Imaj7 vi7 ii7 V7", "ii7 V7 Imaj7 vi7"),
        "minor": ("i7 iv7 VII7 IIImaj7", "i7 VImaj7 iiø7 V7", "i7 iv7 i7 v7", "VImaj7 v7 i7 i7"),
        "dorian": ("i7 IV7 i7 IV7", "i7 ii7 i7 ii7"),
    },
    "gospel": {
        "major": ("I IV I V", "IVmaj7 V7 iii7 vi7", "ii7 V7 Imaj7 IV", "I iii7 IV iv6", "vi7 ii7 V7 I", "I I7 IV iv",
                  "IV V iii vi", "I vi7 ii7 V7"),
        "minor": ("i iv VII III", "i7 iv7 V7 i7"),
    },
    "rock": {
        "major": ("I IV V IV", "I bVII IV I", "I V IV IV", "I IV I V", "vi IV I V", "I V vi IV", "IV I V V"),
        "minor": ("i VII VI VII", "i VI VII i", "i iv VII III", "i VI III VII", "i VII i VII"),
        "mixolydian": ("I VII IV I", "I VII I VII", "I v IV I", "I IV VII IV"),
    },
    "house": {
        "minor": ("i7 iv7 i7 v7", "i VII VI VII", "i iv i iv", "i7 i7 iv7 iv7", "i VI III VII"),
        "major": ("ii7 V7 Imaj7 vi7", "IVmaj7 V7 iii7 vi7", "I vi IV V", "vi7 IVmaj7 Imaj7 V7"),
        "dorian": ("i7 IV7 i7 IV7", "i7 ii7 i7 ii7"),
    },
    "techno": {
        "minor": ("i i i i", "i i VI VI", "i VII i VII", "i i iv iv"),
        "phrygian": ("i i II i", "i II i i"),
        "dorian": ("i i IV i",),
    },
    "funk": {
        "dorian": ("i7 IV7", "i7 i7 IV7 IV7", "i7 i7 i7 IV7", "i9 i9 IV9 IV9"),
        "mixolydian": ("I7 I7 IV7 I7", "I9 I9 I9 I9", "I7 IV7 I7 IV7"),
        "minor": ("i7 i7 iv7 iv7", "i7 VII7 VI7 V7"),
    },
    "latin": {
        "major": ("Imaj7 Imaj7 ii7 V7", "Imaj7 vi7 ii7 V7", "ii7 V7 Imaj7 IVmaj7"),
        "minor": ("i7 iv7 V7 i7", "i iv V i", "i VII VI V", "iiø7 V7 i i"),
    },
    "afro": {
        "major": ("I IV vi V", "ii V I I", "vi IV I V", "I V vi IV", "IV V I vi", "I ii IV I"),
        "minor": ("i iv VII III", "i VI VII i"),
        "dorian": ("i IV i IV", "i7 IV7 i7 IV7"),
    },
    "reggae": {
        "major": ("I IV I V", "I V IV I", "I vi IV V", "I IV V IV"),
        "minor": ("i iv i iv", "i VII i VII", "i VI VII i"),
        "dorian": ("i IV i IV",),
    },
    "synthwave": {
        "minor": ("i VI III VII", "i VI VII i", "VI VII i i", "i III VII VI", "i iv VI V", "i VII VI VII"),
        "major": ("vi IV I V", "I V vi IV", "IV V vi vi"),
    },
    "cinematic": {
        "minor": ("i VI III VII", "i VI iv V", "i iv VI V", "VI VII i i", "i VII VI V", "i v VI III", "i i VI VI",
                  "i III VI VII"),
        "major": ("I V vi IV", "IV I V vi", "I iii IV iv", "vi IV I V"),
        "lydian": ("I II I II", "I II vii IV"),
    },
    "ambient": {
        "major": ("Imaj7 IVmaj7", "I IV", "Imaj7 vi7 IVmaj7 IVmaj7", "IVmaj7 Imaj7"),
        "minor": ("i7 VImaj7", "i i VI VI", "i VI III VII"),
        "lydian": ("I II I II", "Imaj7 II Imaj7 II"),
        "dorian": ("i7 IV7", "i IV"),
    },
    "waltz": {
        "major": ("I I V V", "I IV V I", "I vi ii V", "I V7 V7 I", "I I IV V", "I IV I V7"),
        "minor": ("i iv V i", "i VI iv V", "i i V V", "i iv VII III"),
    },
    "folk": {
        "major": ("I IV I V", "I V I V", "I IV V I", "I vi IV V", "I I IV V"),
        "minor": ("i VII i VII", "i iv VII i", "i VI VII i"),
        "dorian": ("i VII i VII", "i IV i VII"),
        "mixolydian": ("I VII I VII", "I I VII IV"),
    },
    "country": {
        "major": ("I IV I V", "I I IV IV I I V V", "I V IV I", "I IV V I", "I vi IV V"),
    },
    "march": {
        "major": ("I V I V", "I IV V I", "I I V V", "I IV I V"),
        "minor": ("i V i V", "i iv V i"),
    },
    "odd": {
        "minor": ("i VII VI VII", "i iv i v", "i VI III VII", "i i VII VII"),
        "dorian": ("i IV i IV", "i ii i IV"),
        "major": ("I IV I V", "I V vi IV"),
    },
    "lament": {
        "minor": ("i VII VI V", "i v iv V", "i VII VI VII"),
    },
}
# fmt: on

#: 4- and 8-bar blues forms by mode; 12-bar comes from theory.twelve_bar_blues.
# fmt: off
_SHORT_BLUES = {
    "major": ("I7 IV7 I7 V7", "I7 V7 IV7 IV7 I7 V7 I7 V7", "I7 IV7 I7 I7 IV7 IV7 I7 V7"),
    "minor": ("i7 iv7 i7 V7", "i7 V7 iv7 iv7 i7 V7 i7 V7", "i7 iv7 i7 i7 iv7 iv7 i7 V7"),
}
# fmt: on

# fmt: off
_QUALITY_BY_INTERVALS = {
    parse_chord(chord_symbol(0, q)).intervals: q
    for q in ("", "m", "dim", "aug", "5", "sus2", "sus4", "6", "m6", "7", "maj7", "m7", "mmaj7", "m7b5", "dim7",
              "7sus4", "9", "maj9", "m9", "add9", "madd9")
}
# fmt: on


def progression_chords(numerals: str, tonic: int, mode: str) -> list[Chord]:
    """Resolve space-separated roman numerals (one per bar) to chords in a key."""
    return [parse_chord(roman_to_symbol(n, tonic, mode)) for n in numerals.split()]


def colour_chord(chord: Chord, colour: str, scale: Sequence[int]) -> Chord:
    """Re-colour a chord for a comping style, keeping its root.

    ``"seventh"`` adds the diatonic seventh to a triad, ``"ninth"`` also turns sevenths
    into ninths when the ninth is in the scale, ``"power"`` keeps root and fifth; anything
    else returns the chord unchanged.
    """
    quality = _QUALITY_BY_INTERVALS.get(chord.intervals)
    if quality is None or colour not in ("seventh", "ninth", "power"):
        return chord
    if colour == "power":
        return parse_chord(chord_symbol(chord.root, "5")) if quality in ("", "m", "5", "sus2", "sus4") else chord
    in_scale = set(scale)
    if quality in ("", "m", "dim"):
        minor_seventh = (chord.root + 10) % 12 in in_scale
        quality = {
            "": "7" if minor_seventh else "maj7",
            "m": "m7" if minor_seventh else "m",
            "dim": "m7b5" if minor_seventh else "dim",
        }[quality]
    if colour == "ninth" and (chord.root + 2) % 12 in in_scale:
        quality = {"7": "9", "maj7": "maj9", "m7": "m9"}.get(quality, quality)
    return parse_chord(chord_symbol(chord.root, quality))


# =====================================================================================================================
# Chord voicings and comping rhythms
# =====================================================================================================================


def _interval(chord: Chord, candidates: Sequence[int], default: int) -> int:
    return next((i for i in candidates if i in chord.intervals), default)


def _third(chord: Chord, scale: Sequence[int]) -> int:
    iv = _interval(chord, (4, 3, 5, 2), -1)
    if iv < 0:  # power chord: take the scale's third
        iv = 4 if (chord.root + 4) % 12 in scale else 3
    return iv


def _fifth(chord: Chord) -> int:
    return _interval(chord, (7, 6, 8), 7)


def _seventh(chord: Chord, scale: Sequence[int]) -> int:
    iv = _interval(chord, (10, 11, 9), -1)
    if iv < 0:
        iv = 10 if (chord.root + 10) % 12 in scale else 12
    return iv


def chord_tone_intervals(chord: Chord, scale: Sequence[int], at_least: int = 3) -> list[int]:
    """The chord's intervals above the root (root first), with the scale's third added to power chords."""
    ivs = sorted({i % 12 for i in chord.intervals})
    if len(ivs) < at_least:
        ivs = sorted({*ivs, _third(chord, scale), _fifth(chord)})
    return ivs


def _stack(pcs: Sequence[int], bottom: int) -> list[int]:
    """Pitch classes stacked upwards in the given order, the first at or above ``bottom``."""
    out: list[int] = []
    for pc in pcs:
        floor = out[-1] + 1 if out else bottom
        out.append(floor + (pc - floor) % 12)
    return out


def voice_chord(
    chord: Chord, kind: str, prev: Sequence[int] | None, rng: random.Random, *, low: int = 52, high: int = 80
) -> list[int]:
    """MIDI pitches (3 or more) realising a chord.

    ``kind``: ``"close"`` (triad or seventh chord, inversion chosen by voice leading from
    ``prev``), ``"full"`` (every chord tone, extensions on top), ``"spread"`` (root and fifth
    low, the rest above), ``"power"`` (root, fifth, octave), ``"shell"`` (root, third,
    seventh), ``"gospel"`` (low root, close upper structure, doubled top).
    """
    root, ivs = chord.root, list(chord.intervals)
    tones = [(root + i) % 12 for i in ivs]
    if kind == "power":
        r = 40 + (root - 40) % 12
        return [r, r + 7, r + 12]
    if kind == "shell":
        r = 43 + (root - 43) % 12
        third = (root + _interval(chord, (4, 3, 5, 2), 7)) % 12
        seventh = (root + _interval(chord, (10, 11, 9), 7)) % 12
        upper = _stack([third, seventh] if rng.random() < 0.5 else [seventh, third], r + 3)
        return [r, *upper]
    if kind == "spread":
        r = 41 + (root - 41) % 12
        rest = [t for t in tones[1:] if t != (root + 7) % 12] or tones[1:]
        return [r, r + 7, *_stack(rest, r + 12)]
    if kind == "gospel":
        r = 36 + (root - 36) % 12
        upper_pcs = [t for t in tones[1:] if t != (root + 7) % 12] + [root]
        upper = _best_inversion(upper_pcs, prev[1:] if prev else None, 55, rng)
        return [r, *upper, upper[0] + 12] if len(upper) < 4 else [r, *upper]
    # close / full
    if kind == "close" and len(tones) > 4:
        tones = tones[:4]  # root, third, fifth, seventh; extensions dropped
    if len(tones) < 3:
        tones = [*tones, (root + 12) % 12]  # power chord doubled root on top: stays 3 notes
    voiced = _best_inversion(tones, prev, low, rng)
    if voiced[-1] > high:
        voiced = [p - 12 for p in voiced]
    return voiced


def _best_inversion(pcs: Sequence[int], prev: Sequence[int] | None, low: int, rng: random.Random) -> list[int]:
    """The rotation of ``pcs`` stacked above ``low`` that moves least from ``prev`` (random when None)."""
    candidates = []
    for k in range(len(pcs)):
        order = list(pcs[k:]) + list(pcs[:k])
        for bottom in (low, low + 6):
            candidates.append(_stack(order, bottom))
    if not prev:
        return rng.choice(candidates)
    centre = sum(prev) / len(prev)

    def cost(v: list[int]) -> float:
        return abs(sum(v) / len(v) - centre) + 0.5 * abs(v[-1] - max(prev))

    candidates.sort(key=cost)
    return candidates[1] if len(candidates) > 1 and rng.random() < 0.15 else candidates[0]


@dataclass(frozen=True)
class CompStyle:
    """A comping part: rhythm patterns per meter ('x' strike, '-' hold, '.' rest), a voicing, a colour.

    Meters without a written pattern use ``fallback``: "sustain", "beats", "offbeats" or "eighths".
    """

    name: str
    patterns: dict[tuple[int, int], tuple[str, ...]]
    voicing: str = "close"
    colour: str = "keep"
    fallback: str = "beats"


def _rhythm(pattern: str) -> list[tuple[int, int]]:
    """'x--.x-' -> [(0, 3), (4, 2)]: onsets and lengths in steps."""
    clean = _clean(pattern)
    out = []
    for i, ch in enumerate(clean):
        if ch in "xX":
            length = 1
            while i + length < len(clean) and clean[i + length] == "-":
                length += 1
            out.append((i, length))
    return out


def _fallback_rhythm(kind: str, groups: Sequence[int]) -> list[tuple[int, int]]:
    starts = _group_starts(groups)
    steps = sum(groups)
    if kind == "sustain":
        return [(0, steps)]
    if kind == "offbeats":
        return [(s + g // 2, g - g // 2) for s, g in zip(starts, groups, strict=True)]
    if kind == "eighths":
        return [(i, 2) for i in range(0, steps - 1, 2)]
    if kind == "afterbeats":
        return [(s, g) for s, g in zip(starts[1:], groups[1:], strict=True)] or [(0, steps)]
    return [(s, g) for s, g in zip(starts, groups, strict=True)]


# fmt: off
COMP_STYLES: dict[str, CompStyle] = {
    s.name: s
    for s in [
        CompStyle("sustain", {}, "close", fallback="sustain"),
        CompStyle("pad", {}, "spread", fallback="sustain"),
        CompStyle("halves", {M44: ("x------.x------.", "x-------x-------"), M128: ("x-----------x-----------",),
                             M68: ("x-----x-----",)}, fallback="sustain"),
        CompStyle("piano-pulse", {M44: ("x--.x--.x--.x--.", "x-------x--.x--.", "x--.x--.x-------"),
                                  M34: ("x--.x--.x--.", "x-------x--.")}),
        CompStyle("piano-ballad", {M44: ("x-------x---x---", "x-----x-x-------", "x---x---x-------"),
                                   M34: ("x---x---x---", "x-------x---"), M68: ("x-----x-----", "x---x-x---x-")},
                  fallback="sustain"),
        CompStyle("house-stabs",
                  {M44: ("..x-..x-..x-..x-", "x-.x-.x-..x-.x-.", "...x-.x-...x-.x-", "..x-..x-..x-.xx-")},
                  "close", "seventh", "offbeats"),
        CompStyle("techno-stab", {M44: ("x-..............", "x-....x-........", "...x-......x-...")}, "close", "keep",
                  "offbeats"),
        CompStyle("syncopated", {M44: ("x-.x-.x-..x-.x-.", "x-....x-..x-.x-.", "x-.x--.x-.x-....", "x--x--x---x--x--")},
                  "close", "keep", "beats"),
        CompStyle("strum", {M44: ("x---x-x---x-x-x-", "x-x-x-x-x-x-x-x-", "x---x-x-x-x-x---"),
                            M34: ("x---x-x-x-x-", "x---x---x---"), M68: ("x---x-x---x-", "x-x-x-x-x-x-"),
                            M24: ("x---x-x-",), M128: ("x-x-x-x-x-x-x-x-x-x-x-x-",),
                            M54: ("x---x-x---x-x-x---x-",), M78: ("x---x---x-x-x-",)},
                  "close", "keep", "eighths"),
        CompStyle("power", {M44: ("x-x-x-x-x-x-x-x-", "x-------x-x-x---", "x--x--x-x--x--x-")}, "power", "power",
                  "eighths"),
        CompStyle("pulse8", {}, "close", "keep", "eighths"),
        CompStyle("funk-stabs", {M44: (".x.x..x-.x.x..x-", "x-.x..x..x..x-..", "..x-.x.x..x-.x.x")}, "close", "ninth",
                  "offbeats"),
        CompStyle("neo-soul", {M44: ("x-------...x----", "x-----x---------", "x--------x------"),
                               M34: ("x-----x-----",)}, "full", "ninth", "sustain"),
        CompStyle("gospel", {M44: ("x-------x-----x-", "x------x-x------", "x---x---x---x-x-"),
                             M128: ("x-x-x-x-x-x-x-x-x-x-x-x-", "x-----x-----x-----x-x-x-")}, "gospel", "seventh",
                  "beats"),
        CompStyle("jazz-comp", {M44: ("x-----x---------", "...x------x-----", "x----------x----", "......x-----x---",
                                      "x-.x------......")}, "shell", "seventh", "beats"),
        CompStyle("jazz-piano", {M44: ("x-----x---------", "...x------x-----", "x----------x----"),
                                 M34: ("x---x---x---", "....x---x---", "x-.....x----")}, "full", "seventh", "beats"),
        CompStyle("waltz-pah", {M34: ("....x-..x-..", "....x---x---"), M68: ("..x-x-..x-x-",)}, "close", "keep",
                  "afterbeats"),
        CompStyle("oompah", {M24: ("..x-..x-",), M44: ("..x-..x-..x-..x-",), M68: ("..x-x-..x-x-",)}, "close", "keep",
                  "offbeats"),
        CompStyle("triplets", {M128: ("x-x-x-x-x-x-x-x-x-x-x-x-",), M68: ("x-x-x-x-x-x-",)}, "close", "keep",
                  "eighths"),
        CompStyle("skank", {M44: ("....x-......x-..", "..x-..x-..x-..x-")}, "close", "keep", "offbeats"),
        CompStyle("bossa", {M44: ("x--x--x---x--x--", "x-.x-.x-.x--x-..", "..x--x--x--x--x-")}, "close", "seventh",
                  "beats"),
        CompStyle("sidechain", {M44: ("x-.x-.x-.x-.x-x-", ".x-x.x-x.x-x.x-x", "x-x-.x-x-.x-x-..")}, "close", "keep",
                  "eighths"),
        CompStyle("afro-guitar", {M44: ("..x-.x..x-.x..x-", "x-.x.x-..x.x.x..")}, "close", "keep", "offbeats"),
        CompStyle("organ-swell", {}, "gospel", "seventh", "sustain"),
        # salsa's piano montuno, as block-chord syncopations
        CompStyle("montuno", {M44: ("x-.x-.x-.x-.x-.x", "..x-.x-..x-.x-.x", "x-.x..x-.x..x-.x")}, "close", "keep",
                  "offbeats"),
        CompStyle("chop", {M44: ("....x-......x-..",), M24: ("....x-..",)}, "close", "keep", "afterbeats"),
        CompStyle("amapiano-keys", {M44: ("x-----.x--.x----", "...x--.x-----x--", "x-------..x-----")}, "full",
                  "ninth", "sustain"),
    ]
}
# fmt: on
for _style in COMP_STYLES.values():
    for _meter, _patterns in _style.patterns.items():
        for _p in _patterns:
            if len(_clean(_p)) != _meter[0] * 16 // _meter[1]:
                raise ValueError(f"comp style {_style.name}: pattern {_p!r} does not fill a {_meter} bar")


def comp_track(
    chords: Sequence[Chord], meter: tuple[int, int], style: CompStyle, rng: random.Random, velocity: int = 80
) -> list[Note]:
    """Strike each bar's chord on the style's rhythm, voice-leading from bar to bar."""
    steps = meter[0] * 16 // meter[1]
    groups = beat_groups(meter)
    choices = style.patterns.get(meter)
    main = _rhythm(rng.choice(choices)) if choices else _fallback_rhythm(style.fallback, groups)
    notes: list[Note] = []
    prev: list[int] | None = None
    for bar, chord in enumerate(chords):
        rhythm = main
        if choices and rng.random() < 0.2:
            rhythm = _rhythm(rng.choice(choices))
        voicing = voice_chord(chord, style.voicing, prev, rng)
        optional = set(chord.pitch_classes) - set(chord.required)
        droppable = [p for p in voicing if p % 12 in optional]
        if len(voicing) >= 4 and droppable and rng.random() < 0.15:
            voicing = [p for p in voicing if p != droppable[-1]]  # note drop: an optional tone (fifth, extension)
        prev = voicing
        for j, (start, length) in enumerate(rhythm):
            accent = 10 if start in _group_starts(groups) else 0
            for pitch in voicing:
                notes.append(Note(bar * steps + start, length, pitch, _humanise(velocity + accent - 4 * (j % 2), rng)))
    return notes


# =====================================================================================================================
# Basslines
# =====================================================================================================================


@dataclass(frozen=True)
class BarContext:
    """What a bass figure needs to know about one bar."""

    chord: Chord
    next_chord: Chord
    scale: tuple[int, ...]
    meter: tuple[int, int]
    kicks: tuple[int, ...]  # kick onsets of the piece's groove in this bar

    @property
    def steps(self) -> int:
        return self.meter[0] * 16 // self.meter[1]

    @property
    def groups(self) -> list[int]:
        return beat_groups(self.meter)


def _low(pc: int, floor: int) -> int:
    return floor + (pc - floor) % 12


def _scale_step(pitch: int, scale: Sequence[int], n: int) -> int:
    """The pitch ``n`` scale steps above (n > 0) or below (n < 0) ``pitch``."""
    p, moved = pitch, 0
    while moved < abs(n):
        p += 1 if n > 0 else -1
        if p % 12 in scale:
            moved += 1
    return p


def _token(tok: str, ctx: BarContext, root: int) -> int:
    """Resolve a bass figure token: R root, 8 octave, 3 third, 5 fifth, 7 seventh, b7, 2/6 scale steps above
    the root, -2 the scale step below, A an approach to the next chord's root."""
    c = ctx.chord
    if tok == "R":
        return root
    if tok == "8":
        return root + 12
    if tok == "3":
        return root + _third(c, ctx.scale)
    if tok == "5":
        return root + _fifth(c)
    if tok == "7":
        return root + _seventh(c, ctx.scale)
    if tok == "b7":
        return root + 10
    if tok == "2":
        return _scale_step(root, ctx.scale, 1)
    if tok == "6":
        return _scale_step(root, ctx.scale, 5)
    if tok == "-2":
        return _scale_step(root, ctx.scale, -1)
    if tok == "A":
        target = root + ((ctx.next_chord.root - root + 6) % 12 - 6)
        return target - 1 if target >= root else target + 1
    raise ValueError(f"unknown bass token {tok!r}")


#: 4/4 bass figures: (step, length, token, velocity mark) with marks as in drum patterns.
# fmt: off
_FIGURES_44: dict[str, tuple[tuple[tuple[int, int, str, str], ...], ...]] = {
    "funk": (
        ((0, 2, "R", "X"), (3, 1, "8", "o"), (4, 1, "R", "x"), (6, 2, "8", "x"), (10, 1, "R", "x"),
         (11, 1, "R", "o"), (12, 2, "5", "x"), (14, 1, "7", "x"), (15, 1, "8", "o")),
        ((0, 3, "R", "X"), (3, 1, "R", "o"), (6, 1, "8", "x"), (7, 1, "R", "o"), (8, 2, "R", "x"), (10, 1, "7", "x"),
         (11, 1, "8", "x"), (14, 2, "5", "x")),
        ((0, 1, "R", "X"), (2, 1, "8", "x"), (3, 1, "R", "o"), (5, 1, "R", "x"), (6, 1, "8", "x"), (8, 2, "5", "x"),
         (11, 1, "R", "x"), (12, 1, "8", "x"), (13, 1, "7", "o"), (14, 2, "R", "x")),
    ),
    "hiphop": (
        ((0, 6, "R", "X"), (7, 2, "R", "x"), (10, 4, "5", "x"), (14, 2, "7", "x")),
        ((0, 3, "R", "X"), (3, 3, "R", "x"), (10, 2, "5", "x"), (12, 4, "3", "x")),
        ((0, 8, "R", "X"), (10, 2, "8", "x"), (11, 5, "7", "x")),
    ),
    "reggaeton": (
        ((0, 3, "R", "X"), (3, 3, "R", "x"), (6, 2, "5", "x"), (8, 3, "R", "x"), (11, 3, "R", "x"), (14, 2, "8", "x")),
        ((0, 6, "R", "X"), (6, 6, "R", "x"), (12, 4, "5", "x")),
    ),
    "bossa": (((0, 6, "R", "X"), (6, 2, "5", "x"), (8, 6, "5", "x"), (14, 2, "A", "x")),),
    "reggae": (
        ((0, 3, "R", "X"), (4, 2, "R", "x"), (6, 2, "3", "x"), (8, 4, "5", "x"), (12, 2, "3", "x"), (14, 2, "2", "x")),
        ((2, 2, "R", "x"), (4, 4, "R", "X"), (10, 2, "5", "x"), (12, 4, "8", "x")),
    ),
    "reese": (((0, 10, "R", "X"), (10, 6, "R", "x")), ((0, 6, "R", "X"), (6, 4, "R", "x"), (10, 6, "7", "x"))),
    "wobble": (
        ((0, 4, "R", "X"), (4, 2, "R", "x"), (6, 2, "8", "x"), (8, 6, "R", "X"), (14, 2, "5", "x")),
        ((0, 2, "R", "X"), (2, 2, "R", "x"), (4, 1, "R", "x"), (5, 1, "R", "x"), (6, 2, "8", "x"), (8, 8, "R", "X")),
    ),
    "afro": (
        ((0, 3, "R", "X"), (3, 3, "5", "x"), (6, 2, "8", "x"), (10, 2, "R", "x"), (12, 4, "5", "x")),
        ((0, 2, "R", "X"), (3, 1, "R", "o"), (6, 2, "5", "x"), (8, 2, "6", "x"), (10, 2, "5", "x"), (12, 2, "3", "x"),
         (14, 2, "R", "x")),
    ),
    "metal": (
        tuple((i, 1, "R", "X" if i % 4 == 0 else "x") for i in range(16)),
        ((0, 1, "R", "X"), (1, 1, "R", "x"), (2, 2, "R", "x"), (4, 1, "R", "x"), (5, 1, "R", "x"), (6, 2, "5", "X"),
         (8, 1, "R", "x"), (9, 1, "R", "x"), (10, 2, "R", "x"), (12, 2, "8", "X"), (14, 2, "b7", "x")),
    ),
    "country": (((0, 4, "R", "X"), (8, 4, "5", "x")), ((0, 4, "R", "X"), (8, 2, "5", "x"), (12, 2, "6", "x"),
                                                        (14, 2, "A", "x"))),
    # salsa's anticipated bass: the "and" of two and beat four, tied over into the next bar's chord
    "tumbao": (((6, 6, "5", "X"), (12, 4, "A", "x")), ((0, 2, "R", "x"), (6, 6, "R", "X"), (12, 4, "A", "x"))),
    # amapiano's log drum: short syncopated hits with octave jumps
    "log-drum": (
        ((0, 2, "R", "X"), (3, 2, "R", "x"), (6, 2, "8", "x"), (10, 2, "R", "x"), (12, 2, "5", "x"), (14, 2, "8", "x")),
        ((0, 3, "R", "X"), (3, 3, "R", "x"), (8, 2, "5", "x"), (11, 2, "R", "x"), (14, 2, "b7", "x")),
        ((0, 2, "R", "X"), (2, 2, "8", "x"), (6, 2, "R", "x"), (9, 3, "5", "x"), (12, 4, "R", "x")),
    ),
    "dancehall": (
        ((0, 3, "R", "X"), (3, 3, "R", "x"), (6, 2, "5", "x"), (8, 3, "R", "X"), (11, 3, "R", "x"), (14, 2, "5", "x")),
        ((0, 6, "R", "X"), (6, 4, "5", "x"), (10, 2, "b7", "x"), (12, 4, "8", "x")),
    ),
}
# fmt: on

# fmt: off
_SYNTHWAVE_SEQUENCES = (("R", "R", "8", "R", "R", "8", "R", "5"), ("R", "8", "R", "8", "R", "8", "R", "8"),
                        ("R", "5", "8", "5", "R", "5", "8", "5"), ("R", "R", "R", "R", "8", "8", "5", "5"))
# fmt: on
_BOOGIE = ("R", "3", "5", "6", "b7", "6", "5", "3")
_WALK_TEMPLATES = (
    ("R", "3", "5", "A"),
    ("R", "2", "3", "A"),
    ("R", "8", "5", "A"),
    ("R", "5", "6", "A"),
    ("R", "-2", "5", "A"),
)

BassFigure = Callable[[BarContext, random.Random], list[tuple[int, int, int, int]]]


def _figure(ctx: BarContext, figure: Sequence[tuple[int, int, str, str]], root: int) -> list[tuple[int, int, int, int]]:
    return [(s, d, _token(t, ctx, root), {"X": 108, "x": 94, "o": 48}[v]) for s, d, t, v in figure]


def _per_group(
    ctx: BarContext, tokens: Sequence[str], root: int, legato: float = 1.0
) -> list[tuple[int, int, int, int]]:
    out, pos = [], 0
    for i, g in enumerate(ctx.groups):
        out.append((pos, max(1, round(g * legato)), _token(tokens[i % len(tokens)], ctx, root), 100 if i == 0 else 88))
        pos += g
    return out


def _bass_root_fifth(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    return _per_group(ctx, ("R", "5"), _low(ctx.chord.root, 31), 0.9)


def _bass_root_fifth_octave(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    tokens = rng.choice((("R", "5", "8", "5"), ("R", "8", "5", "8"), ("R", "R", "5", "8")))
    return _per_group(ctx, tokens, _low(ctx.chord.root, 28), 0.85)


def _bass_sustain(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    root = _low(ctx.chord.root, 28)
    if rng.random() < 0.3 and len(ctx.groups) > 1:
        half = sum(ctx.groups[: len(ctx.groups) // 2])
        return [(0, half, root, 96), (half, ctx.steps - half, _token("5", ctx, root), 86)]
    return [(0, ctx.steps, root, 96)]


def _bass_walking(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    template = list(rng.choice(_WALK_TEMPLATES))
    n = len(ctx.groups)
    tokens = [*(template[:1] + template[1:-1] * n)[: n - 1], "A"] if n > 1 else ["R"]
    return _per_group(ctx, tokens, _low(ctx.chord.root, 31), 0.95)


def _bass_offbeat(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    root = _low(ctx.chord.root, 33)
    out, pos = [], 0
    for g in ctx.groups:
        tok = "8" if rng.random() < 0.15 else "R"
        out.append((pos + g // 2, g - g // 2, _token(tok, ctx, root), 100))
        pos += g
    if ctx.steps == 16 and rng.random() < 0.3:
        out.append((15, 1, root + 12, 80))
    return out


def _bass_rolling(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    root = _low(ctx.chord.root, 33)
    octave_top = rng.random() < 0.4
    out, pos = [], 0
    for g in ctx.groups:
        for i in range(1, g):
            pitch = root + 12 if octave_top and i == g - 1 else root
            out.append((pos + i, 1, pitch, 100 if i == g // 2 else 82))
        pos += g
    return out


def _bass_pulse8(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    root = _low(ctx.chord.root, 28)
    out = [(i, 2, root, 104 if i % 4 == 0 else 90) for i in range(0, ctx.steps - 1, 2)]
    if rng.random() < 0.35 and len(out) >= 3:
        out[-1] = (out[-1][0], 2, _token(rng.choice(("5", "8", "A")), ctx, root), 92)
    return out


def _bass_sequence(ctx: BarContext, tokens: Sequence[str], root: int) -> list[tuple[int, int, int, int]]:
    """Eighths (quarters' halves, or compound beats' long-short) cycling through tokens."""
    out, pos, k = [], 0, 0
    for g in ctx.groups:
        parts = (g // 2, g - g // 2) if g % 3 else (2 * g // 3, g // 3)
        for j, length in enumerate(parts):
            out.append((pos, length, _token(tokens[k % len(tokens)], ctx, root), 100 if j == 0 else 86))
            pos += length
            k += 1
    return out


def _bass_synthwave(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    return _bass_sequence(ctx, rng.choice(_SYNTHWAVE_SEQUENCES), _low(ctx.chord.root, 31))


def _bass_octaves(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    return _bass_sequence(ctx, ("R", "8"), _low(ctx.chord.root, 28))


def _bass_boogie(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    return _bass_sequence(ctx, _BOOGIE, _low(ctx.chord.root, 28))


def _bass_808(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    """Long notes on the groove's kicks, held to the next kick; some octave jumps and a last long glide note."""
    root = _low(ctx.chord.root, 26)
    onsets = sorted(set(ctx.kicks)) or [0, 10]
    if 0 not in onsets:
        onsets = [0, *onsets]
    out = []
    for j, s in enumerate(onsets):
        end = onsets[j + 1] if j + 1 < len(onsets) else ctx.steps
        tok = "R"
        if j and rng.random() < 0.25:
            tok = rng.choice(("8", "5", "-2", "b7"))
        out.append((s, end - s, _token(tok, ctx, root), 110 if j == 0 else 96))
    return out


def _bass_psy(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    """Psytrance's rolling bass: the three 16ths after each beat's kick, never on it."""
    root = _low(ctx.chord.root, 33)
    out, pos = [], 0
    for g in ctx.groups:
        out.extend((pos + i, 1, root, 104 if i == 1 else 86) for i in range(1, g))
        pos += g
    return out


def _bass_descending(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
    """A stepwise scale descent from the root, one note per beat."""
    pitch = _low(ctx.chord.root, 38)
    out, pos = [], 0
    for i, g in enumerate(ctx.groups):
        out.append((pos, g, pitch, 100 if i == 0 else 88))
        pitch = _scale_step(pitch, ctx.scale, -1)
        pos += g
    return out


def _from_table(name: str, floor: int, fallback: BassFigure) -> BassFigure:
    def figure(ctx: BarContext, rng: random.Random) -> list[tuple[int, int, int, int]]:
        if ctx.steps != 16:
            return fallback(ctx, rng)
        return _figure(ctx, rng.choice(_FIGURES_44[name]), _low(ctx.chord.root, floor))

    return figure


#: Bass figures by name: each returns (step in bar, length, pitch, velocity) for one bar.
BASS_STYLES: dict[str, BassFigure] = {
    "root-fifth": _bass_root_fifth,
    "root-fifth-octave": _bass_root_fifth_octave,
    "sustain": _bass_sustain,
    "walking": _bass_walking,
    "offbeat": _bass_offbeat,
    "rolling": _bass_rolling,
    "pulse8": _bass_pulse8,
    "synthwave": _bass_synthwave,
    "octaves": _bass_octaves,
    "boogie": _bass_boogie,
    "808": _bass_808,
    "descending": _bass_descending,
    "funk": _from_table("funk", 28, _bass_root_fifth_octave),
    "hiphop": _from_table("hiphop", 28, _bass_root_fifth),
    "reggaeton": _from_table("reggaeton", 28, _bass_root_fifth),
    "bossa": _from_table("bossa", 31, _bass_root_fifth),
    "reggae": _from_table("reggae", 31, _bass_root_fifth),
    "reese": _from_table("reese", 26, _bass_sustain),
    "wobble": _from_table("wobble", 26, _bass_sustain),
    "afro": _from_table("afro", 31, _bass_root_fifth_octave),
    "metal": _from_table("metal", 28, _bass_pulse8),
    "country": _from_table("country", 31, _bass_root_fifth),
    "psy": _bass_psy,
    "tumbao": _from_table("tumbao", 31, _bass_root_fifth),
    "log-drum": _from_table("log-drum", 28, _bass_offbeat),
    "dancehall": _from_table("dancehall", 28, _bass_root_fifth),
}


def bass_track(
    chords: Sequence[Chord],
    meter: tuple[int, int],
    scale: tuple[int, ...],
    style: str,
    kicks: Sequence[Sequence[int]],
    rng: random.Random,
) -> list[Note]:
    """Play a bass figure over each bar's chord (and the next, for approach notes)."""
    steps = meter[0] * 16 // meter[1]
    notes = []
    for bar, chord in enumerate(chords):
        ctx = BarContext(chord, chords[(bar + 1) % len(chords)], scale, meter, tuple(kicks[bar]) if kicks else ())
        for start, length, pitch, vel in BASS_STYLES[style](ctx, rng):
            length = min(length, steps - start)
            if length >= 1 and 0 <= start < steps:
                notes.append(Note(bar * steps + start, length, max(21, pitch), _humanise(vel, rng)))
    return notes


# =====================================================================================================================
# Arpeggios
# =====================================================================================================================


@dataclass(frozen=True)
class ArpStyle:
    """An arpeggio: step between notes (1 = 16ths, 2 = 8ths), index order over the chord tones
    stacked through ``octaves`` octaves from the bottom note, and the bottom register."""

    name: str
    rate: int
    order: str  # "up", "down", "updown", "broken", "pedal", "alberti"
    octaves: int = 1
    low: int = 57


ARP_STYLES: dict[str, ArpStyle] = {
    s.name: s
    for s in [
        ArpStyle("up-16", 1, "up", 1, 60),
        ArpStyle("up-8", 2, "up", 2, 57),
        ArpStyle("down-16", 1, "down", 1, 62),
        ArpStyle("updown-16", 1, "updown", 2, 57),
        ArpStyle("updown-8", 2, "updown", 1, 60),
        ArpStyle("broken-8", 2, "broken", 2, 55),
        ArpStyle("broken-16", 1, "broken", 1, 60),
        ArpStyle("trance-16", 1, "updown", 2, 60),
        ArpStyle("trance-pedal-16", 1, "pedal", 2, 60),
        ArpStyle("synthwave-8", 2, "broken", 2, 52),
        ArpStyle("synthwave-16", 1, "up", 2, 52),
        ArpStyle("alberti-16", 1, "alberti", 1, 55),
        ArpStyle("alberti-8", 2, "alberti", 1, 55),
    ]
}


def _arp_order(order: str, n: int) -> list[int]:
    if order == "down":
        return list(range(n - 1, -1, -1))
    if order == "updown":
        return list(range(n)) + list(range(n - 2, 0, -1))
    if order == "broken":
        return [0, 2, 1, 2] if n <= 3 else [i for k in range(n - 2) for i in (k, k + 2)]
    if order == "pedal":
        top = n - 1
        return [i for k in range(top) for i in (k, top)]
    if order == "alberti":
        return [0, min(2, n - 1), 1, min(2, n - 1)]
    return list(range(n))


def arp_track(
    chords: Sequence[Chord],
    meter: tuple[int, int],
    scale: tuple[int, ...],
    style: ArpStyle,
    rng: random.Random,
    velocity: int = 84,
) -> list[Note]:
    """Arpeggiate each bar's chord: one note every ``style.rate`` steps, always 3+ pitch classes."""
    steps = meter[0] * 16 // meter[1]
    starts = set(_group_starts(beat_groups(meter)))
    notes = []
    carry = 0
    for bar, chord in enumerate(chords):
        ivs = chord_tone_intervals(chord, scale)[:4]
        base = _low(chord.root, style.low)
        tones = [base + iv + 12 * o for o in range(style.octaves) for iv in ivs]
        if style.octaves > 1 or rng.random() < 0.5:
            tones.append(base + 12 * style.octaves)
        order = _arp_order(style.order, len(tones))
        k = 0 if rng.random() < 0.7 else carry
        for s in range(0, steps, style.rate):
            pitch = tones[order[k % len(order)]]
            k += 1
            notes.append(
                Note(
                    bar * steps + s,
                    min(style.rate, steps - s),
                    pitch,
                    _humanise(velocity + (12 if s in starts else 0), rng),
                )
            )
        carry = k
    return notes


# =====================================================================================================================
# Melodies: a 1-2 bar motif, repeated with variation, answered, cadencing on the tonic
# =====================================================================================================================

#: One-beat rhythm cells by beat length in steps, from sparse to dense: (offset, length) pairs.
# fmt: off
_CELLS: dict[int, tuple[tuple[tuple[int, int], ...], ...]] = {
    4: (((0, 4),), ((2, 2),), ((0, 3), (3, 1)), ((0, 2), (2, 2)), ((0, 2), (2, 1), (3, 1)),
        ((0, 1), (1, 1), (2, 2)), ((0, 1), (1, 1), (2, 1), (3, 1))),
    6: (((0, 6),), ((0, 4), (4, 2)), ((0, 2), (2, 4)), ((0, 3), (3, 1), (4, 2)), ((0, 2), (2, 2), (4, 2)),
        ((0, 1), (1, 1), (2, 2), (4, 2))),
}
# fmt: on
_STEP_WEIGHTS = {0: 2, 1: 6, -1: 6, 2: 3, -2: 3, 3: 1, -3: 1, 4: 1, -4: 1}


@dataclass(frozen=True)
class MelodyStyle:
    density: float = 0.5  # 0 long notes .. 1 busy 16ths
    pentatonic: float = 0.0  # probability of keeping to the pentatonic subset of the scale
    low: int = 62  # the tonic sits in [low, low + 11]


def _cells_for(group: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    if group in _CELLS:
        return _CELLS[group]
    return (((0, group),),)


def _motif_rhythm(groups: Sequence[int], bars: int, density: float, rng: random.Random) -> list[tuple[int, int]]:
    """Onsets and lengths (steps from the motif start) for ``bars`` bars."""
    out: list[tuple[int, int]] = []
    pos = 0
    for _ in range(bars):
        for g in groups:
            cells = _cells_for(g)
            centre = density * (len(cells) - 1)
            weights = [1.0 / (1.0 + abs(i - centre)) ** 2 for i in range(len(cells))]
            cell = rng.choices(cells, weights)[0]
            for off, length in cell:
                out.append((pos + off, length))
            pos += g
    if not out:
        out = [(0, groups[0])]
    # A held last note makes the motif breathe.
    last_start, _ = out[-1]
    out[-1] = (last_start, max(1, min(pos - last_start, 8)))
    return out


def _scale_pitches(scale: Sequence[int], pentatonic: bool, mode: str, tonic: int) -> list[int]:
    pcs = set(scale)
    if pentatonic:
        family = (0, 1, 2, 4, 5) if 4 in MODES[mode] else (0, 2, 3, 4, 6)
        pcs = {(tonic + MODES[mode][d]) % 12 for d in family}
    return [p for p in range(36, 100) if p % 12 in pcs]


def melody_track(
    chords: Sequence[Chord],
    meter: tuple[int, int],
    tonic: int,
    mode: str,
    style: MelodyStyle,
    rng: random.Random,
    velocity: int = 92,
) -> list[Note]:
    """A monophonic melody above C4 built from a motif (1 or 2 bars) in the form A A' B A'' (and so on),
    strong beats on chord tones, the middle phrase ending open and the last on the tonic."""
    steps = meter[0] * 16 // meter[1]
    groups = beat_groups(meter)
    bars = len(chords)
    scale = scale_pitch_classes(tonic, mode)
    ladder = _scale_pitches(scale, rng.random() < style.pentatonic, mode, tonic)
    tonic_pitch = _low(tonic, style.low)
    anchor = ladder.index(tonic_pitch)
    # About an octave and a half around the tonic, whatever the ladder's step size.
    lo = min(i for i, p in enumerate(ladder) if p >= tonic_pitch - 5)
    hi = max(i for i, p in enumerate(ladder) if p <= tonic_pitch + 14)
    motif_bars = 2 if bars >= 8 and bars % 2 == 0 and rng.random() < 0.6 else 1
    units = bars // motif_bars
    plan = rng.choice(("AA'BA''", "ABAC", "AA'BC", "ABA'C"))
    letters = _plan_letters(plan, units)
    strong = set(_group_starts(groups))

    rhythm = _motif_rhythm(groups, motif_bars, style.density, rng)
    contour = _random_walk(len(rhythm), rng)
    answer_rhythm = _mutate_rhythm(rhythm, rng)
    answer_contour = [-c for c in _random_walk(len(answer_rhythm), rng)]

    notes: list[Note] = []
    for u, letter in enumerate(letters):
        unit_start = u * motif_bars * steps
        answer = letter.startswith("B") or (letter == "C" and rng.random() < 0.5)
        r, c = (answer_rhythm, answer_contour) if answer else (rhythm, contour)
        if letter == "A":
            shift = 0
        elif "'" in letter:
            shift = rng.choice((-2, -1, 1, 2))  # the motif moved, then fitted to the new chords
        else:
            shift = rng.choice((0, 2, 4))
        start_deg = anchor + shift + (2 if letter.startswith("B") else 0)
        idxs = [_fold(start_deg + d, lo, hi) for d in c]
        unit: list[tuple[int, int, int]] = []
        for (s, length), idx in zip(r, idxs, strict=True):
            bar = u * motif_bars + s // steps
            if bar >= bars:
                break
            if (s % steps) in strong:
                idx = _nearest_chord_tone(ladder, idx, chords[bar], lo, hi)
            unit.append((unit_start + s, length, ladder[idx]))
        if "'" in letter and len(unit) > 2 and rng.random() < 0.5:
            j = rng.randrange(1, len(unit) - 1)  # vary one inner note by a step
            s, length, p = unit[j]
            unit[j] = (s, length, ladder[max(lo, min(hi, ladder.index(p) + rng.choice((-1, 1))))])
        final = u == units - 1
        half = u == units // 2 - 1 and units >= 2
        if (final or half) and unit:
            unit_end = unit_start + motif_bars * steps
            land = unit_end - steps + _group_starts(groups)[len(groups) // 2]  # the last bar's middle beat
            unit = _cadence(unit, ladder, tonic if final else None, scale, unit_end, land, lo, hi)
        notes.extend(
            Note(s, length, p, _humanise(velocity + (8 if (s % steps) in strong else 0), rng)) for s, length, p in unit
        )
    notes = _monophonic(notes, bars * steps)
    if rng.random() < 0.15 and len(notes) > 6:  # drop a weak note for breathing room
        weak = [n for n in notes if (n.start % steps) not in strong]
        if weak:
            notes.remove(rng.choice(weak))
    return notes


def _plan_letters(plan: str, units: int) -> list[str]:
    letters = []
    i = 0
    while i < len(plan):
        j = i + 1
        while j < len(plan) and plan[j] == "'":
            j += 1
        letters.append(plan[i:j])
        i = j
    return [letters[u % len(letters)] for u in range(units)]


def _random_walk(n: int, rng: random.Random, low: int = -3, high: int = 5) -> list[int]:
    """Scale-step offsets of a melodic line: mostly steps, some leaps, turning back at the bounds."""
    steps, weights = zip(*_STEP_WEIGHTS.items(), strict=True)
    pos, out = 0, []
    for _ in range(n):
        out.append(pos)
        move = rng.choices(steps, weights)[0]
        if not low <= pos + move <= high:
            move = -move
        pos += move
    return out


def _fold(idx: int, lo: int, hi: int) -> int:
    """Reflect an index back into [lo, hi] (keeps the line moving where clamping would repeat notes)."""
    while not lo <= idx <= hi:
        idx = 2 * lo - idx if idx < lo else 2 * hi - idx
    return idx


def _mutate_rhythm(rhythm: list[tuple[int, int]], rng: random.Random) -> list[tuple[int, int]]:
    """Answer rhythm: split one long note or merge two short ones."""
    out = list(rhythm)
    longs = [i for i, (_, length) in enumerate(out) if length >= 2]
    if longs and rng.random() < 0.5:
        i = rng.choice(longs)
        s, length = out[i]
        out[i : i + 1] = [(s, length // 2), (s + length // 2, length - length // 2)]
    elif len(out) > 2:
        i = rng.randrange(len(out) - 1)
        s, _ = out[i]
        s2, length2 = out[i + 1]
        out[i : i + 2] = [(s, s2 + length2 - s)]
    return out


def _nearest_chord_tone(ladder: Sequence[int], idx: int, chord: Chord, lo: int, hi: int) -> int:
    pcs = set(chord.pitch_classes)
    for d in (0, 1, -1, 2, -2, 3, -3):
        j = idx + d
        if lo <= j <= hi and ladder[j] % 12 in pcs:
            return j
    return idx


def _cadence(
    unit: list[tuple[int, int, int]],
    ladder: Sequence[int],
    tonic: int | None,
    scale: Sequence[int],
    end: int,
    land: int,
    lo: int,
    hi: int,
) -> list[tuple[int, int, int]]:
    """End a phrase: the last note starting by ``land`` (a strong beat of the last bar) moves to the
    tonic (closed) or to scale degree 2 or 5 (open) and is held to the phrase end; later notes go."""
    targets = {tonic} if tonic is not None else {scale[1], scale[4]}
    keep = [n for n in unit if n[0] <= land] or unit[:1]
    s, _, p = keep[-1]
    idx = ladder.index(p)
    best = min((j for j in range(lo, hi + 1) if ladder[j] % 12 in targets), key=lambda j: abs(j - idx))
    keep[-1] = (s, max(1, end - s), ladder[best])
    return keep


def _monophonic(notes: list[Note], end: int) -> list[Note]:
    notes = sorted(notes, key=lambda n: n.start)
    out: list[Note] = []
    for i, n in enumerate(notes):
        nxt = notes[i + 1].start if i + 1 < len(notes) else end
        if out and out[-1].start == n.start:
            continue
        length = min(n.duration, nxt - n.start, end - n.start)
        if length >= 1:
            out.append(Note(n.start, length, n.pitch, n.velocity))
    return out


# =====================================================================================================================
# Genre profiles
# =====================================================================================================================


@dataclass(frozen=True)
class GenreProfile:
    """How one genre is drawn: tempo, meters, modes and the idioms its parts use.

    ``meters`` and ``modes`` map to weights; ``grooves`` are names in :data:`GROOVES` (those
    in the drawn meter are used); ``parts`` maps each role to its chance of being played;
    ``programs`` maps each role to GM programs to draw from.
    """

    genre: str
    bpm: tuple[int, int]
    meters: dict[tuple[int, int], float]
    modes: dict[str, float]
    grooves: tuple[str, ...]
    progressions: tuple[str, ...]
    bass: tuple[str, ...]
    comp: tuple[str, ...]
    programs: dict[str, tuple[int, ...]]
    parts: dict[str, float]
    arp: tuple[str, ...] = ("up-16", "updown-8")
    melody: MelodyStyle = field(default_factory=MelodyStyle)
    fill_every: tuple[int, ...] = (4, 8)
    bars: tuple[int, ...] = ()  # fixed choices of length, else the default spread
    blues: float = 0.0  # chance of a blues form instead of a listed progression


_FOUR = {M44: 1.0}
_SYNTH_LEADS = (80, 81, 84, 87)
_PADS = (88, 89, 90, 91, 94, 95)

# fmt: off
PROFILES: tuple[GenreProfile, ...] = (
    GenreProfile(
        "house", (118, 128), _FOUR, {"minor": 4, "dorian": 2, "major": 2}, ("house-1", "house-2", "house-3"),
        ("house", "pop"), ("offbeat", "offbeat", "funk", "octaves"), ("house-stabs", "sustain", "piano-pulse"),
        {"bass": (38, 39, 33), "chords": (0, 4, 16, 81, 90), "melody": (80, 81, 0, 11), "arp": (81, 84, 11),
         "pad": _PADS}, {"drums": 0.95, "bass": 0.8, "chords": 0.75, "melody": 0.35, "arp": 0.2, "pad": 0.25},
        arp=("up-16", "broken-16", "updown-8"), melody=MelodyStyle(0.55, 0.3)),
    GenreProfile(
        "techno", (124, 140), _FOUR, {"minor": 4, "phrygian": 2, "dorian": 1}, ("techno-1", "techno-2", "techno-3"),
        ("techno", "dark"), ("rolling", "offbeat", "rolling"), ("techno-stab", "sustain"),
        {"bass": (38, 39), "chords": (81, 90, 62), "melody": (81, 80), "arp": (81, 84, 38, 80), "pad": _PADS},
        {"drums": 1.0, "bass": 0.8, "chords": 0.45, "melody": 0.15, "arp": 0.45, "pad": 0.25},
        arp=("up-16", "trance-pedal-16", "broken-16", "down-16"), melody=MelodyStyle(0.6, 0.2), fill_every=(8,)),
    GenreProfile(
        "trance", (132, 140), _FOUR, {"minor": 5, "major": 2},
        ("trance-1", "trance-2", "trance-3", "trance-4", "edm-1"), ("edm", "pop"),
        ("rolling", "offbeat"), ("sustain", "sidechain", "house-stabs"),
        {"bass": (38, 39), "chords": (81, 90, 50, 91), "melody": (81, 80, 84), "arp": (81, 80, 84, 90),
         "pad": _PADS}, {"drums": 0.9, "bass": 0.8, "chords": 0.6, "melody": 0.4, "arp": 0.7, "pad": 0.45},
        arp=("trance-16", "trance-pedal-16", "updown-16", "up-16"), melody=MelodyStyle(0.6, 0.1), fill_every=(8,)),
    GenreProfile(
        "edm", (124, 130), _FOUR, {"minor": 3, "major": 3}, ("edm-1", "edm-2", "edm-3", "edm-4", "house-1"),
        ("edm", "pop"),
        ("offbeat", "octaves", "pulse8"), ("sidechain", "house-stabs", "sustain"),
        {"bass": (38, 39, 87), "chords": (81, 90, 0, 62), "melody": (81, 80, 84, 85), "arp": (81, 80, 90),
         "pad": _PADS}, {"drums": 0.9, "bass": 0.8, "chords": 0.7, "melody": 0.5, "arp": 0.35, "pad": 0.3},
        arp=("up-16", "updown-16", "broken-8"), melody=MelodyStyle(0.6, 0.3)),
    GenreProfile(
        "disco", (112, 124), _FOUR, {"major": 3, "minor": 2, "dorian": 1}, ("disco-1", "disco-2", "disco-3", "disco-4"),
        ("pop", "soul", "funk"), ("octaves", "octaves", "funk"), ("syncopated", "strum", "funk-stabs"),
        {"bass": (33, 38, 34), "chords": (48, 0, 27, 4, 49), "melody": (48, 56, 61, 81, 0), "arp": (48, 45, 81),
         "pad": (48, 49, 50)}, {"drums": 0.95, "bass": 0.85, "chords": 0.75, "melody": 0.4, "arp": 0.2, "pad": 0.3},
        arp=("up-16", "updown-8"), melody=MelodyStyle(0.55, 0.3)),
    GenreProfile(
        "trap", (130, 160), _FOUR, {"minor": 6, "phrygian": 2, "major": 1}, ("trap-1", "trap-2", "trap-3"),
        ("trap", "dark"), ("808",), ("sustain", "piano-ballad", "pad"),
        {"bass": (38,), "chords": (0, 88, 89, 48, 4), "melody": (14, 11, 8, 9, 10, 73, 0, 80),
         "arp": (11, 8, 10, 14, 0), "pad": (88, 89, 91, 48)},
        {"drums": 0.95, "bass": 0.85, "chords": 0.5, "melody": 0.6, "arp": 0.25, "pad": 0.35},
        arp=("up-8", "broken-8", "updown-8", "up-16"), melody=MelodyStyle(0.55, 0.4)),
    GenreProfile(
        "boom-bap", (84, 98), _FOUR, {"minor": 4, "dorian": 3, "major": 1}, ("boombap-1", "boombap-2"),
        ("soul", "jazz", "dark"), ("hiphop", "hiphop", "sustain"), ("sustain", "jazz-piano", "syncopated"),
        {"bass": (33, 32, 38, 35), "chords": (4, 0, 5, 11, 48), "melody": (4, 11, 0, 73, 65, 56),
         "arp": (4, 11, 0), "pad": (48, 89)}, {"drums": 1.0, "bass": 0.8, "chords": 0.7, "melody": 0.35, "arp": 0.15,
                                              "pad": 0.2},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.45, 0.4)),
    GenreProfile(
        "lofi", (70, 90), _FOUR, {"major": 3, "minor": 2, "dorian": 2}, ("lofi-1", "lofi-2"), ("soul", "jazz"),
        ("hiphop", "sustain", "root-fifth"), ("neo-soul", "sustain", "jazz-piano"),
        {"bass": (33, 32, 35), "chords": (4, 0, 5, 11, 26), "melody": (4, 11, 73, 0, 26, 65, 10), "arp": (4, 11, 26),
         "pad": (89, 88, 48)}, {"drums": 0.9, "bass": 0.7, "chords": 0.85, "melody": 0.45, "arp": 0.2, "pad": 0.2},
        arp=("broken-8", "up-8", "alberti-8"), melody=MelodyStyle(0.4, 0.5)),
    GenreProfile(
        "r&b", (62, 80), _FOUR, {"minor": 3, "major": 3, "dorian": 1}, ("rnb-1", "halftime-1"), ("soul",),
        ("808", "sustain", "hiphop"), ("neo-soul", "sustain", "piano-ballad"),
        {"bass": (38, 33, 35), "chords": (4, 5, 0, 89), "melody": (4, 11, 0, 73, 54, 85), "arp": (4, 11, 0),
         "pad": (89, 88, 52)}, {"drums": 0.9, "bass": 0.8, "chords": 0.8, "melody": 0.45, "arp": 0.15, "pad": 0.3},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.45, 0.3)),
    GenreProfile(
        "neo-soul", (64, 92), _FOUR, {"major": 3, "minor": 2, "dorian": 2}, ("lofi-2", "rnb-1", "boombap-1"),
        ("soul",), ("hiphop", "walking", "sustain"), ("neo-soul", "neo-soul", "jazz-piano"),
        {"bass": (33, 35, 32), "chords": (4, 5, 0, 26), "melody": (4, 11, 65, 66, 26), "arp": (4, 11),
         "pad": (89, 48)}, {"drums": 0.8, "bass": 0.75, "chords": 0.95, "melody": 0.35, "arp": 0.15, "pad": 0.2},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.45, 0.3)),
    GenreProfile(
        "dnb", (170, 176), _FOUR, {"minor": 5, "dorian": 1}, ("dnb-1", "dnb-2", "dnb-3"), ("dark", "edm"),
        ("reese", "reese", "sustain"), ("sustain", "pad"),
        {"bass": (38, 39, 87), "chords": (89, 90, 0, 4), "melody": (81, 80, 11, 73), "arp": (81, 11, 84),
         "pad": (88, 89, 91, 94)}, {"drums": 1.0, "bass": 0.85, "chords": 0.5, "melody": 0.3, "arp": 0.3, "pad": 0.5},
        arp=("up-16", "updown-8", "broken-8"), melody=MelodyStyle(0.5, 0.3), fill_every=(8,)),
    GenreProfile(
        "garage", (130, 136), _FOUR, {"minor": 3, "dorian": 2}, ("garage-1", "garage-2", "garage-3", "garage-4"),
        ("soul", "house"),
        ("hiphop", "offbeat"), ("house-stabs", "neo-soul"),
        {"bass": (38, 39), "chords": (4, 0, 90), "melody": (54, 85, 81, 11), "arp": (11, 81), "pad": (89, 90)},
        {"drums": 1.0, "bass": 0.85, "chords": 0.7, "melody": 0.3, "arp": 0.2, "pad": 0.3},
        melody=MelodyStyle(0.55, 0.3)),
    GenreProfile(
        "dubstep", (138, 150), _FOUR, {"minor": 4, "phrygian": 3}, ("dubstep-1", "dubstep-2"), ("dark",),
        ("wobble", "wobble", "reese"), ("sustain", "pad"),
        {"bass": (38, 39, 87), "chords": (90, 81, 89), "melody": (81, 80, 84), "arp": (81, 80), "pad": _PADS},
        {"drums": 1.0, "bass": 0.9, "chords": 0.4, "melody": 0.3, "arp": 0.3, "pad": 0.45},
        arp=("up-16", "broken-16"), melody=MelodyStyle(0.55, 0.4), fill_every=(8,)),
    GenreProfile(
        "reggaeton", (88, 100), _FOUR, {"minor": 5, "major": 2}, ("dembow-1", "dembow-2", "dancehall-1"),
        ("pop", "edm"),
        ("reggaeton", "reggaeton", "808"), ("syncopated", "sustain", "afro-guitar"),
        {"bass": (38, 39, 33), "chords": (0, 24, 81, 90, 25), "melody": (81, 0, 24, 73, 85), "arp": (0, 24, 81),
         "pad": (89, 90)}, {"drums": 1.0, "bass": 0.8, "chords": 0.7, "melody": 0.45, "arp": 0.2, "pad": 0.2},
        arp=("broken-8", "up-16"), melody=MelodyStyle(0.55, 0.3)),
    GenreProfile(
        "afrobeats", (98, 112), _FOUR, {"major": 4, "minor": 2, "dorian": 1},
        ("afrobeats-1", "afrobeats-2", "amapiano-2"), ("afro", "pop"),
        ("afro", "afro", "hiphop"), ("afro-guitar", "syncopated", "sustain"),
        {"bass": (38, 33, 39), "chords": (24, 27, 0, 4, 12), "melody": (12, 73, 0, 81, 11, 85), "arp": (12, 11, 24),
         "pad": (89, 90)}, {"drums": 1.0, "bass": 0.8, "chords": 0.75, "melody": 0.45, "arp": 0.25, "pad": 0.2},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.55, 0.5)),
    GenreProfile(
        "afrobeat", (100, 118), _FOUR, {"dorian": 3, "minor": 2, "mixolydian": 2}, ("afrobeat-1", "afrobeat-2"),
        ("afro", "funk"),
        ("afro", "funk"), ("afro-guitar", "funk-stabs"),
        {"bass": (33, 34), "chords": (27, 28, 16, 17), "melody": (61, 56, 66, 65, 16), "arp": (27, 28),
         "pad": (16, 61)}, {"drums": 1.0, "bass": 0.9, "chords": 0.8, "melody": 0.5, "arp": 0.2, "pad": 0.2},
        arp=("broken-8", "up-16"), melody=MelodyStyle(0.55, 0.5)),
    GenreProfile(
        "reggae", (68, 86), _FOUR, {"major": 3, "minor": 3, "dorian": 1}, ("reggae-1", "reggae-2", "reggae-3"),
        ("reggae",),
        ("reggae",), ("skank", "skank", "sustain"),
        {"bass": (33, 34, 38), "chords": (27, 16, 17, 0), "melody": (56, 61, 16, 0, 65), "arp": (17, 27),
         "pad": (16, 17)}, {"drums": 1.0, "bass": 0.9, "chords": 0.85, "melody": 0.35, "arp": 0.1, "pad": 0.25},
        arp=("broken-8",), melody=MelodyStyle(0.45, 0.5)),
    GenreProfile(
        "ska", (150, 176), _FOUR, {"major": 4, "minor": 2}, ("ska-1", "ska-2"), ("reggae", "pop"),
        ("walking", "pulse8"),
        ("skank",), {"bass": (33, 34), "chords": (27, 16, 0), "melody": (56, 61, 57, 65, 66), "arp": (27,),
                     "pad": (16, 61)},
        {"drums": 1.0, "bass": 0.85, "chords": 0.9, "melody": 0.45, "arp": 0.05, "pad": 0.15},
        melody=MelodyStyle(0.55, 0.4)),
    GenreProfile(
        "latin", (90, 140), {M44: 4, M68: 1.5}, {"minor": 3, "major": 3},
        ("bossa-1", "son-1", "salsa-1", "cumbia-1", "bembe-68"), ("latin",), ("bossa", "bossa", "root-fifth"),
        ("bossa", "strum"),
        {"bass": (32, 33, 35), "chords": (24, 0, 26), "melody": (73, 65, 66, 56, 0, 24, 11), "arp": (24, 0, 46),
         "pad": (48, 49)}, {"drums": 0.85, "bass": 0.8, "chords": 0.85, "melody": 0.45, "arp": 0.15, "pad": 0.15},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.5, 0.2)),
    GenreProfile(
        "rock", (96, 150), {M44: 8, M68: 1}, {"major": 3, "minor": 3, "mixolydian": 2},
        ("rock-1", "rock-2", "rock-3", "rock-68"), ("rock", "pop"), ("pulse8", "pulse8", "root-fifth-octave"),
        ("power", "strum", "power", "pulse8"),
        {"bass": (33, 34, 29), "chords": (29, 30, 25, 27, 18), "melody": (29, 30, 27, 81, 85), "arp": (27, 25, 29),
         "pad": (18, 16, 48)}, {"drums": 1.0, "bass": 0.85, "chords": 0.85, "melody": 0.4, "arp": 0.15, "pad": 0.15},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.5, 0.6)),
    GenreProfile(
        "punk", (160, 200), _FOUR, {"major": 3, "minor": 2}, ("punk-1", "rock-1", "rock-2"), ("rock",), ("pulse8",),
        ("power", "pulse8"), {"bass": (34, 33), "chords": (30, 29), "melody": (30, 29, 85), "arp": (29,),
                              "pad": (30,)},
        {"drums": 1.0, "bass": 0.9, "chords": 0.9, "melody": 0.3, "arp": 0.05, "pad": 0.05},
        melody=MelodyStyle(0.5, 0.6)),
    GenreProfile(
        "metal", (100, 180), {M44: 6, M68: 1}, {"minor": 3, "phrygian": 3, "dorian": 1},
        ("metal-1", "metal-2", "rock-68"),
        ("dark", "rock"), ("metal", "pulse8"), ("power", "power", "pulse8"),
        {"bass": (34, 33), "chords": (30, 29), "melody": (30, 29, 81), "arp": (30, 29), "pad": (48, 19, 52)},
        {"drums": 1.0, "bass": 0.9, "chords": 0.9, "melody": 0.35, "arp": 0.2, "pad": 0.15},
        arp=("up-16", "broken-16", "down-16"), melody=MelodyStyle(0.6, 0.5)),
    GenreProfile(
        "pop", (90, 128), {M44: 10, M34: 1, M68: 1}, {"major": 6, "minor": 3}, ("pop-1", "pop-2", "pop-3", "pop-34",
                                                                              "ballad-68"),
        ("pop",), ("root-fifth-octave", "pulse8", "sustain", "octaves"),
        ("piano-pulse", "strum", "piano-ballad", "sustain", "syncopated"),
        {"bass": (33, 38, 34, 32), "chords": (0, 1, 4, 24, 25, 48, 90), "melody": (0, 80, 81, 73, 11, 85, 54, 40),
         "arp": (0, 81, 11, 24, 46), "pad": (48, 49, 89, 90)},
        {"drums": 0.85, "bass": 0.8, "chords": 0.85, "melody": 0.6, "arp": 0.25, "pad": 0.3},
        arp=("broken-8", "up-16", "updown-8", "alberti-8"), melody=MelodyStyle(0.5, 0.3)),
    GenreProfile(
        "k-pop", (100, 132), _FOUR, {"major": 4, "minor": 3}, ("pop-1", "pop-3", "edm-1", "trap-1"), ("pop", "edm"),
        ("octaves", "808", "root-fifth-octave"), ("syncopated", "sidechain", "piano-pulse"),
        {"bass": (38, 39, 33), "chords": (0, 81, 90, 4), "melody": (80, 81, 85, 0, 11), "arp": (81, 0, 11),
         "pad": (89, 90)}, {"drums": 0.9, "bass": 0.8, "chords": 0.8, "melody": 0.65, "arp": 0.3, "pad": 0.25},
        arp=("up-16", "broken-8"), melody=MelodyStyle(0.6, 0.2)),
    GenreProfile(
        "funk", (95, 116), _FOUR, {"dorian": 4, "mixolydian": 3, "minor": 1}, ("funk-1", "funk-2"), ("funk",),
        ("funk",), ("funk-stabs", "funk-stabs", "syncopated"),
        {"bass": (36, 37, 33), "chords": (28, 27, 7, 4, 16), "melody": (61, 56, 65, 66, 7, 81), "arp": (7, 28),
         "pad": (16, 61)}, {"drums": 1.0, "bass": 0.95, "chords": 0.85, "melody": 0.4, "arp": 0.1, "pad": 0.15},
        arp=("broken-16",), melody=MelodyStyle(0.6, 0.6)),
    GenreProfile(
        "soul", (70, 110), {M44: 4, M128: 1}, {"major": 4, "minor": 2}, ("soul-1", "ballad-128"),
        ("soul", "gospel", "pop"), ("root-fifth-octave", "walking", "hiphop"), ("piano-ballad", "gospel", "triplets"),
        {"bass": (33, 32), "chords": (0, 4, 16, 18), "melody": (65, 66, 56, 61, 0, 52), "arp": (0, 4),
         "pad": (48, 16, 61)}, {"drums": 0.9, "bass": 0.85, "chords": 0.85, "melody": 0.45, "arp": 0.1, "pad": 0.3},
        melody=MelodyStyle(0.45, 0.4)),
    GenreProfile(
        "gospel", (68, 100), {M44: 4, M128: 2}, {"major": 5, "minor": 1}, ("gospel-1", "ballad-128"),
        ("gospel",), ("root-fifth-octave", "walking", "sustain"), ("gospel", "gospel", "organ-swell"),
        {"bass": (33, 38, 32), "chords": (16, 17, 19, 0, 4), "melody": (0, 16, 52, 65, 56), "arp": (0, 16),
         "pad": (16, 19, 52)}, {"drums": 0.8, "bass": 0.8, "chords": 0.95, "melody": 0.35, "arp": 0.1, "pad": 0.25},
        melody=MelodyStyle(0.45, 0.5)),
    GenreProfile(
        "jazz", (100, 200), {M44: 8, M34: 2, M54: 1}, {"major": 4, "minor": 2, "dorian": 1},
        ("jazz-ride", "jazz-ride-2", "jazzwaltz-34", "five-54"), ("jazz",), ("walking",),
        ("jazz-comp", "jazz-piano"),
        {"bass": (32,), "chords": (0, 26, 11, 4), "melody": (65, 66, 56, 64, 11, 0, 73, 57), "arp": (0, 11, 26),
         "pad": (48,)}, {"drums": 0.9, "bass": 0.9, "chords": 0.85, "melody": 0.55, "arp": 0.1, "pad": 0.1},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.55, 0.1)),
    GenreProfile(
        "blues", (70, 124), {M128: 3, M44: 2}, {"major": 4, "minor": 2}, ("shuffle-128", "shuffle-44"), ("rock",),
        ("boogie", "walking", "boogie"), ("strum", "piano-pulse", "triplets", "organ-swell"),
        {"bass": (33, 32, 34), "chords": (0, 16, 18, 25, 26, 27), "melody": (22, 27, 29, 65, 66, 0),
         "arp": (0, 27), "pad": (16, 18)},
        {"drums": 0.9, "bass": 0.9, "chords": 0.9, "melody": 0.45, "arp": 0.05, "pad": 0.15},
        melody=MelodyStyle(0.5, 0.8), bars=(12, 12, 12, 4, 8), blues=0.9),
    GenreProfile(
        "country", (90, 132), {M44: 5, M34: 1, M24: 1}, {"major": 6, "mixolydian": 1},
        ("country-1", "waltz-34", "polka-24"), ("country", "folk"), ("country", "root-fifth"), ("strum", "strum",
                                                                                                "piano-pulse"),
        {"bass": (32, 33), "chords": (25, 24, 0, 105), "melody": (40, 22, 25, 105, 73), "arp": (25, 105, 46),
         "pad": (48, 21)}, {"drums": 0.85, "bass": 0.85, "chords": 0.9, "melody": 0.5, "arp": 0.15, "pad": 0.15},
        arp=("broken-8",), melody=MelodyStyle(0.5, 0.6)),
    GenreProfile(
        "synthwave", (84, 118), _FOUR, {"minor": 6, "dorian": 1, "major": 1}, ("synthwave-1", "synthwave-2"),
        ("synthwave",), ("synthwave", "synthwave", "octaves", "pulse8"), ("sustain", "pulse8", "pad"),
        {"bass": (38, 39, 87), "chords": (90, 89, 81, 50, 62), "melody": (81, 80, 84, 62, 85), "arp": (81, 80, 84, 90),
         "pad": (89, 90, 94, 50)}, {"drums": 0.9, "bass": 0.85, "chords": 0.6, "melody": 0.45, "arp": 0.6,
                                    "pad": 0.45},
        arp=("synthwave-8", "synthwave-16", "up-16", "broken-8"), melody=MelodyStyle(0.5, 0.3)),
    GenreProfile(
        "chiptune", (120, 170), {M44: 6, M34: 1}, {"major": 5, "minor": 3}, ("chiptune-1", "chiptune-2", "pop-34"),
        ("pop", "edm"),
        ("octaves", "pulse8", "root-fifth-octave"), ("pulse8", "piano-pulse"),
        {"bass": (38, 80, 81), "chords": (80, 81), "melody": (80, 81), "arp": (80, 81), "pad": (80,)},
        {"drums": 0.8, "bass": 0.85, "chords": 0.4, "melody": 0.8, "arp": 0.5, "pad": 0.05},
        arp=("up-16", "updown-16", "broken-16"), melody=MelodyStyle(0.65, 0.3)),
    GenreProfile(
        "ambient", (56, 90), {M44: 4, M34: 1}, {"major": 3, "lydian": 2, "minor": 2, "dorian": 1}, (),
        ("ambient",), ("sustain",), ("pad", "sustain"),
        {"bass": (38, 89, 32), "chords": (88, 89, 92, 94, 95, 48), "melody": (11, 14, 10, 8, 98, 75, 0),
         "arp": (11, 8, 10, 46, 98), "pad": (88, 89, 92, 94, 95, 91)},
        {"drums": 0.0, "bass": 0.5, "chords": 0.85, "melody": 0.45, "arp": 0.4, "pad": 0.6},
        arp=("up-8", "broken-8", "updown-8"), melody=MelodyStyle(0.2, 0.5), fill_every=(8,)),
    GenreProfile(
        "cinematic", (60, 150), {M44: 6, M34: 2, M68: 1}, {"minor": 6, "major": 2, "lydian": 1},
        ("cinematic-1", "cinematic-2", "pop-34", "ballad-68"), ("cinematic", "lament"),
        ("sustain", "pulse8", "descending"),
        ("pad", "sustain", "pulse8"),
        {"bass": (42, 43, 48, 58, 32), "chords": (48, 49, 61, 60, 52, 0), "melody": (61, 60, 56, 40, 73, 71, 48, 57),
         "arp": (48, 49, 45, 40, 0, 46), "pad": (48, 49, 52, 89)},
        {"drums": 0.5, "bass": 0.75, "chords": 0.8, "melody": 0.5, "arp": 0.5, "pad": 0.45},
        arp=("up-16", "broken-16", "updown-16", "broken-8", "alberti-16"), melody=MelodyStyle(0.4, 0.1)),
    GenreProfile(
        "classical", (60, 140), {M44: 3, M34: 3, M68: 1, M24: 1}, {"major": 4, "minor": 3}, (),
        ("waltz", "cinematic", "march"), ("sustain", "root-fifth", "walking", "descending"),
        ("piano-ballad", "halves", "sustain"),
        {"bass": (0, 42, 43, 32), "chords": (0, 48, 6, 19), "melody": (0, 40, 73, 71, 68, 48, 6), "arp": (0, 46, 6),
         "pad": (48, 49, 19)}, {"drums": 0.0, "bass": 0.8, "chords": 0.7, "melody": 0.7, "arp": 0.45, "pad": 0.2},
        arp=("alberti-16", "alberti-8", "broken-16", "up-16"), melody=MelodyStyle(0.45, 0.0)),
    GenreProfile(
        "waltz", (90, 180), {M34: 5, M68: 2}, {"major": 4, "minor": 3}, ("waltz-34", "waltz-34b", "ballad-68"),
        ("waltz",), ("root-fifth", "sustain"), ("waltz-pah", "waltz-pah", "oompah"),
        {"bass": (32, 33, 58, 0, 42), "chords": (0, 21, 48, 24, 46), "melody": (40, 21, 73, 0, 71, 68),
         "arp": (0, 46, 24), "pad": (48, 49)}, {"drums": 0.4, "bass": 0.9, "chords": 0.9, "melody": 0.6, "arp": 0.2,
                                                "pad": 0.2},
        arp=("broken-8", "up-8", "alberti-8"), melody=MelodyStyle(0.45, 0.1)),
    GenreProfile(
        "folk", (90, 160), {M68: 4, M34: 2, M24: 2, M44: 2}, {"major": 4, "minor": 2, "dorian": 2, "mixolydian": 1},
        ("jig-68", "waltz-34", "polka-24", "country-1"), ("folk",), ("root-fifth", "sustain"),
        ("strum", "oompah", "waltz-pah"),
        {"bass": (32, 33, 42), "chords": (25, 24, 21, 0, 46), "melody": (73, 40, 78, 72, 21, 22, 75, 71),
         "arp": (25, 24, 46), "pad": (21, 48)},
        {"drums": 0.45, "bass": 0.7, "chords": 0.85, "melody": 0.8, "arp": 0.2, "pad": 0.1},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.6, 0.3)),
    GenreProfile(
        "march", (100, 124), {M24: 3, M44: 2}, {"major": 4, "minor": 1}, ("march-24", "march-1", "polka-24"),
        ("march",), ("root-fifth",), ("oompah", "piano-pulse"),
        {"bass": (58, 57, 32), "chords": (61, 60, 0, 57), "melody": (56, 61, 72, 73, 60), "arp": (72, 0),
         "pad": (61, 48)}, {"drums": 0.85, "bass": 0.9, "chords": 0.8, "melody": 0.65, "arp": 0.1, "pad": 0.1},
        melody=MelodyStyle(0.55, 0.2)),
    GenreProfile(
        "prog", (90, 160), {M54: 2, M78: 2, M44: 1}, {"minor": 3, "dorian": 2, "major": 1},
        ("five-54", "five-54b", "seven-78", "seven-78b", "rock-1"), ("odd", "lament"),
        ("pulse8", "root-fifth-octave", "descending"), ("strum", "pulse8", "sustain", "piano-pulse"),
        {"bass": (33, 34, 38), "chords": (0, 4, 18, 27, 29, 90), "melody": (81, 29, 0, 73, 65), "arp": (0, 81, 27, 11),
         "pad": (89, 90, 48)}, {"drums": 0.9, "bass": 0.85, "chords": 0.75, "melody": 0.45, "arp": 0.3, "pad": 0.2},
        arp=("up-16", "broken-8", "updown-16"), melody=MelodyStyle(0.5, 0.3)),
    # --- widened library: genres a producer names that the lexicon now tells apart -----------------------------------
    GenreProfile(
        "drill", (138, 146), _FOUR, {"minor": 5, "phrygian": 2}, ("drill-2", "drill-3", "drill-1"), ("trap", "dark"),
        ("808",), ("sustain", "pad", "piano-ballad"),
        {"bass": (38,), "chords": (48, 0, 89, 52), "melody": (0, 11, 14, 73, 48), "arp": (0, 11, 45),
         "pad": (48, 89, 52)}, {"drums": 1.0, "bass": 0.9, "chords": 0.45, "melody": 0.55, "arp": 0.2, "pad": 0.35},
        arp=("up-8", "broken-8"), melody=MelodyStyle(0.5, 0.2)),
    GenreProfile(
        "phonk", (126, 150), _FOUR, {"minor": 5, "phrygian": 3}, ("phonk-1", "phonk-2", "trap-1"), ("trap", "dark"),
        ("808", "808", "sustain"), ("sustain", "pad"),
        {"bass": (38,), "chords": (0, 89, 48), "melody": (113, 115, 11, 0, 80), "arp": (113, 11, 0),
         "pad": (89, 52)}, {"drums": 1.0, "bass": 0.9, "chords": 0.3, "melody": 0.7, "arp": 0.3, "pad": 0.3},
        arp=("up-16", "broken-8"), melody=MelodyStyle(0.6, 0.2)),
    GenreProfile(
        "grime", (138, 142), _FOUR, {"minor": 4, "phrygian": 2}, ("grime-1", "grime-2"), ("dark", "trap"),
        ("808", "sustain", "wobble"), ("techno-stab", "sustain"),
        {"bass": (38, 39), "chords": (80, 81, 48, 45), "melody": (80, 81, 45, 11), "arp": (80, 81, 45),
         "pad": (89, 90)}, {"drums": 1.0, "bass": 0.85, "chords": 0.45, "melody": 0.55, "arp": 0.3, "pad": 0.2},
        arp=("up-16", "broken-16"), melody=MelodyStyle(0.6, 0.3)),
    GenreProfile(
        "future bass", (140, 160), _FOUR, {"major": 4, "minor": 3}, ("futurebass-1", "futurebass-2"), ("edm", "pop"),
        ("808", "sustain", "octaves"), ("sidechain", "sidechain", "sustain"),
        {"bass": (38, 39), "chords": (81, 90, 62), "melody": (81, 80, 85, 11), "arp": (81, 11, 80), "pad": _PADS},
        {"drums": 0.95, "bass": 0.8, "chords": 0.9, "melody": 0.5, "arp": 0.35, "pad": 0.3},
        arp=("up-16", "updown-16", "broken-8"), melody=MelodyStyle(0.6, 0.2)),
    GenreProfile(
        "dancehall", (90, 104), _FOUR, {"minor": 5, "major": 2}, ("dancehall-1", "dancehall-2", "dancehall-3"),
        ("reggae", "pop", "afro"), ("dancehall", "dancehall", "reggaeton"), ("skank", "syncopated", "sustain"),
        {"bass": (38, 33, 39), "chords": (0, 81, 90, 16, 27), "melody": (81, 0, 73, 85, 11), "arp": (0, 81, 11),
         "pad": (89, 90)}, {"drums": 1.0, "bass": 0.85, "chords": 0.7, "melody": 0.45, "arp": 0.2, "pad": 0.2},
        arp=("broken-8", "up-16"), melody=MelodyStyle(0.55, 0.4)),
    GenreProfile(
        "amapiano", (108, 116), _FOUR, {"minor": 4, "dorian": 2, "major": 2}, ("amapiano-1", "amapiano-2",
                                                                              "amapiano-3"),
        ("soul", "jazz", "house"), ("log-drum", "log-drum", "offbeat"), ("amapiano-keys", "neo-soul", "sustain"),
        {"bass": (38, 39), "chords": (0, 4, 5, 89), "melody": (0, 4, 73, 11, 85), "arp": (0, 4, 11),
         "pad": (89, 88, 48)}, {"drums": 1.0, "bass": 0.9, "chords": 0.85, "melody": 0.35, "arp": 0.25, "pad": 0.4},
        arp=("broken-8", "up-16"), melody=MelodyStyle(0.5, 0.3), fill_every=(8,)),
    GenreProfile(
        "jersey club", (130, 145), _FOUR, {"minor": 4, "major": 2}, ("jersey-1", "jersey-2"), ("edm", "pop", "trap"),
        ("808", "octaves", "offbeat"), ("sidechain", "syncopated", "sustain"),
        {"bass": (38, 39), "chords": (81, 90, 0, 4), "melody": (81, 80, 85, 11, 0), "arp": (81, 11),
         "pad": (89, 90)}, {"drums": 1.0, "bass": 0.75, "chords": 0.6, "melody": 0.5, "arp": 0.25, "pad": 0.25},
        arp=("up-16", "broken-16"), melody=MelodyStyle(0.6, 0.3)),
    GenreProfile(
        "hardstyle", (145, 158), _FOUR, {"minor": 6, "major": 1}, ("hardstyle-1", "hardstyle-2"), ("edm", "dark"),
        ("offbeat", "offbeat", "rolling"), ("sustain", "sidechain", "techno-stab"),
        {"bass": (38, 39, 87), "chords": (81, 90, 62), "melody": (81, 80, 84), "arp": (81, 84), "pad": _PADS},
        {"drums": 1.0, "bass": 0.85, "chords": 0.55, "melody": 0.55, "arp": 0.3, "pad": 0.35},
        arp=("up-16", "trance-16"), melody=MelodyStyle(0.6, 0.1), fill_every=(8,)),
    GenreProfile(
        "psytrance", (138, 148), _FOUR, {"minor": 4, "phrygian": 4}, ("psy-1", "psy-2"), ("techno", "dark"),
        ("psy",), ("techno-stab", "sustain"),
        {"bass": (38, 39), "chords": (81, 90), "melody": (81, 80, 84), "arp": (81, 84, 80, 38), "pad": _PADS},
        {"drums": 1.0, "bass": 0.95, "chords": 0.2, "melody": 0.35, "arp": 0.6, "pad": 0.3},
        arp=("up-16", "trance-pedal-16", "broken-16", "down-16"), melody=MelodyStyle(0.6, 0.2), fill_every=(8,)),
    GenreProfile(
        "electro", (118, 132), _FOUR, {"minor": 5, "dorian": 1}, ("electro-1", "electro-2"), ("dark", "funk", "techno"),
        ("808", "synthwave", "funk"), ("techno-stab", "funk-stabs", "sustain"),
        {"bass": (38, 39), "chords": (81, 90, 62), "melody": (81, 80, 84), "arp": (81, 80), "pad": (89, 90)},
        {"drums": 1.0, "bass": 0.9, "chords": 0.45, "melody": 0.4, "arp": 0.45, "pad": 0.25},
        arp=("up-16", "broken-16", "synthwave-16"), melody=MelodyStyle(0.6, 0.3)),
    GenreProfile(
        "trip hop", (70, 96), _FOUR, {"minor": 6, "dorian": 2}, ("triphop-1", "triphop-2", "boombap-1"),
        ("dark", "soul", "cinematic"), ("hiphop", "sustain", "reese"), ("sustain", "pad", "neo-soul"),
        {"bass": (33, 38, 32), "chords": (4, 48, 89, 0), "melody": (0, 11, 48, 73, 71), "arp": (0, 11, 46),
         "pad": (48, 89, 88, 52)}, {"drums": 0.95, "bass": 0.8, "chords": 0.6, "melody": 0.4, "arp": 0.2, "pad": 0.5},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.4, 0.3)),
    GenreProfile(
        "bossa nova", (110, 140), _FOUR, {"major": 4, "minor": 3, "dorian": 1}, ("bossa-1", "bossa-2", "samba-1"),
        ("latin", "jazz"), ("bossa", "bossa", "root-fifth"), ("bossa", "bossa", "jazz-piano"),
        {"bass": (32, 33), "chords": (24, 0, 26), "melody": (73, 65, 66, 0, 24, 11), "arp": (24, 0, 46),
         "pad": (48, 49)}, {"drums": 0.85, "bass": 0.85, "chords": 0.9, "melody": 0.45, "arp": 0.15, "pad": 0.15},
        arp=("broken-8", "up-8"), melody=MelodyStyle(0.45, 0.2)),
    GenreProfile(
        "salsa", (160, 200), _FOUR, {"minor": 5, "major": 3}, ("salsa-1", "salsa-2", "son-1"), ("latin",),
        ("tumbao", "tumbao", "root-fifth"), ("montuno", "montuno", "syncopated"),
        {"bass": (32, 33, 35), "chords": (0, 1, 2), "melody": (56, 61, 57, 73, 65, 66), "arp": (0, 1),
         "pad": (61, 48)}, {"drums": 1.0, "bass": 0.95, "chords": 0.9, "melody": 0.5, "arp": 0.1, "pad": 0.15},
        arp=("broken-8",), melody=MelodyStyle(0.55, 0.3)),
    GenreProfile(
        "cumbia", (85, 104), _FOUR, {"minor": 4, "major": 4}, ("cumbia-1", "cumbia-2"), ("latin", "pop"),
        ("root-fifth", "root-fifth", "reggaeton"), ("skank", "syncopated", "strum"),
        {"bass": (33, 32, 38), "chords": (21, 24, 0, 16), "melody": (21, 73, 56, 22, 80), "arp": (24, 21),
         "pad": (16, 21)}, {"drums": 1.0, "bass": 0.9, "chords": 0.85, "melody": 0.55, "arp": 0.15, "pad": 0.15},
        arp=("broken-8",), melody=MelodyStyle(0.55, 0.4)),
    GenreProfile(
        "baile funk", (125, 135), _FOUR, {"minor": 5, "major": 1}, ("baile-1", "baile-2"), ("dark", "trap", "edm"),
        ("808", "offbeat", "reggaeton"), ("techno-stab", "sidechain"),
        {"bass": (38, 39), "chords": (81, 90, 61), "melody": (81, 80, 61, 85), "arp": (81, 80), "pad": (89, 90)},
        {"drums": 1.0, "bass": 0.85, "chords": 0.35, "melody": 0.5, "arp": 0.25, "pad": 0.2},
        arp=("up-16", "broken-8"), melody=MelodyStyle(0.6, 0.3)),
    GenreProfile(
        "moombahton", (106, 114), _FOUR, {"minor": 5, "major": 2}, ("dembow-1", "dembow-2", "dancehall-1"),
        ("edm", "pop"), ("reggaeton", "808", "offbeat"), ("sidechain", "syncopated", "sustain"),
        {"bass": (38, 39), "chords": (81, 90, 0, 24), "melody": (81, 84, 85, 24, 73), "arp": (81, 24),
         "pad": (89, 90)}, {"drums": 1.0, "bass": 0.85, "chords": 0.65, "melody": 0.5, "arp": 0.25, "pad": 0.25},
        arp=("broken-8", "up-16"), melody=MelodyStyle(0.55, 0.3)),
    GenreProfile(
        "city pop", (98, 122), _FOUR, {"major": 5, "dorian": 2, "minor": 1}, ("citypop-1", "citypop-2", "disco-1"),
        ("soul", "pop", "jazz"), ("funk", "octaves", "root-fifth-octave"), ("neo-soul", "syncopated", "funk-stabs"),
        {"bass": (36, 33, 38), "chords": (4, 5, 0, 27), "melody": (81, 65, 66, 0, 11, 61), "arp": (4, 11, 81),
         "pad": (48, 89, 61)}, {"drums": 1.0, "bass": 0.9, "chords": 0.9, "melody": 0.5, "arp": 0.2, "pad": 0.3},
        arp=("broken-8", "up-16"), melody=MelodyStyle(0.55, 0.4)),
    GenreProfile(
        "bluegrass", (100, 150), {M44: 3, M24: 2, M34: 1}, {"major": 6, "mixolydian": 2},
        ("bluegrass-1", "bluegrass-2", "waltz-34"), ("country", "folk"), ("country", "root-fifth", "walking"),
        ("chop", "chop", "strum"),
        {"bass": (32,), "chords": (25, 105, 24), "melody": (40, 105, 25, 22), "arp": (105, 25), "pad": (21, 48)},
        {"drums": 0.3, "bass": 0.9, "chords": 0.9, "melody": 0.65, "arp": 0.45, "pad": 0.05},
        arp=("broken-16", "up-8", "broken-8"), melody=MelodyStyle(0.65, 0.5)),
    GenreProfile(
        "new jack swing", (96, 112), _FOUR, {"minor": 4, "dorian": 2, "major": 2}, ("newjack-1", "newjack-2"),
        ("soul", "funk", "pop"), ("funk", "hiphop", "octaves"), ("funk-stabs", "syncopated", "neo-soul"),
        {"bass": (38, 36, 33), "chords": (4, 5, 61, 81, 0), "melody": (81, 61, 4, 11, 0), "arp": (4, 11),
         "pad": (89, 61)}, {"drums": 1.0, "bass": 0.9, "chords": 0.85, "melody": 0.45, "arp": 0.15, "pad": 0.2},
        arp=("broken-16",), melody=MelodyStyle(0.55, 0.3)),
)
# fmt: on


# =====================================================================================================================
# Putting a piece together
# =====================================================================================================================

_DEFAULT_BARS = (4, 4, 4, 8, 8, 8, 8, 8, 16, 16, 16, 12, 6, 10)
_ROLE_VELOCITY = {"bass": 96, "chords": 80, "melody": 92, "arp": 82, "pad": 66}


def _humanise(velocity: int, rng: random.Random, spread: int = 8) -> int:
    return max(1, min(127, velocity + rng.randint(-spread, spread)))


def _weighted(options: dict, rng: random.Random):
    keys = list(options)
    return rng.choices(keys, [options[k] for k in keys])[0]


def _choose_parts(profile: GenreProfile, rng: random.Random) -> list[str]:
    """Which roles play: usually each by its chance, sometimes a focused one- or two-part piece."""
    available = [r for r, p in profile.parts.items() if p > 0]
    if rng.random() < 0.3:
        weights = [profile.parts[r] for r in available]
        first = rng.choices(available, weights)[0]
        parts = {first}
        if rng.random() < 0.4:
            parts.add(rng.choices(available, weights)[0])
        return sorted(parts, key=_role_order)
    parts = [r for r in available if rng.random() < profile.parts[r]]
    while len(parts) < 2:
        extra = rng.choices(available, [profile.parts[r] for r in available])[0]
        if extra not in parts:
            parts.append(extra)
    return sorted(parts, key=_role_order)


def _role_order(role: str) -> int:
    return ("drums", "bass", "chords", "pad", "arp", "melody").index(role)


def _draw_progression(
    profile: GenreProfile, mode: str, tonic: int, bars: int, rng: random.Random
) -> tuple[str, list[Chord]]:
    if profile.blues and rng.random() < profile.blues and mode in ("major", "minor"):
        if bars % 12 == 0 or bars > 8:
            symbols = twelve_bar_blues(tonic, mode)
            name = "12-bar-blues"
        else:
            numerals = rng.choice(_SHORT_BLUES[mode])
            symbols = [roman_to_symbol(n, tonic, mode) for n in numerals.split()]
            name = f"{len(symbols)}-bar-blues"
        chords = [parse_chord(s) for s in symbols]
    else:
        pools = [PROGRESSIONS[tag][mode] for tag in profile.progressions if mode in PROGRESSIONS[tag]]
        if not pools:
            pools = [p[mode] for p in PROGRESSIONS.values() if mode in p]
        numerals = rng.choice(rng.choice(pools))
        name = numerals.replace(" ", "-")
        chords = progression_chords(numerals, tonic, mode)
    return name, [chords[b % len(chords)] for b in range(bars)]


def generate_piece(profile: GenreProfile, rng: random.Random, index: int = 0) -> Piece:
    """Draw one piece of ``profile``'s genre (key, meter, length, tempo, idioms, parts) from ``rng``."""
    meter = _weighted(profile.meters, rng)
    mode = _weighted(profile.modes, rng)
    tonic = rng.randrange(12)
    scale = scale_pitch_classes(tonic, mode)
    bars = rng.choice(profile.bars or _DEFAULT_BARS)
    bpm = float(rng.randint(*profile.bpm))
    steps = meter[0] * 16 // meter[1]
    prog_name, base_chords = _draw_progression(profile, mode, tonic, bars, rng)

    grooves = [GROOVES[g] for g in profile.grooves if GROOVES[g].meter == meter]
    groove = rng.choice(grooves) if grooves else None
    kicks: list[list[int]] = [[] for _ in range(bars)]
    drum_notes: list[Note] = []
    if groove is not None:
        drum_notes = drum_track(
            groove, bars, rng, fill_every=rng.choice(profile.fill_every), crash_start=rng.random() < 0.3
        )
        for n in drum_notes:
            if n.pitch in _KICKS:
                kicks[n.start // steps].append(n.start % steps)

    parts = _choose_parts(profile, rng)
    if groove is None and "drums" in parts:
        parts.remove("drums")
    if not parts:
        parts = ["chords"]
    comp = COMP_STYLES[rng.choice(profile.comp)]
    colour = comp.colour
    bar_chords = [colour_chord(c, colour, scale) for c in base_chords]

    tracks: list[Track] = []
    for role in parts:
        program = rng.choice(profile.programs.get(role, (0,)))
        if role == "drums":
            tracks.append(Track("drums", 0, drum_notes))
        elif role == "bass":
            style = rng.choice(profile.bass)
            tracks.append(Track("bass", program, bass_track(bar_chords, meter, scale, style, kicks, rng)))
        elif role == "chords":
            tracks.append(Track("chords", program, comp_track(bar_chords, meter, comp, rng, _ROLE_VELOCITY["chords"])))
        elif role == "pad":
            pad = COMP_STYLES["pad"] if rng.random() < 0.7 else COMP_STYLES["sustain"]
            tracks.append(Track("pad", program, comp_track(bar_chords, meter, pad, rng, _ROLE_VELOCITY["pad"])))
        elif role == "arp":
            style = ARP_STYLES[rng.choice(profile.arp)]
            tracks.append(Track("arp", program, arp_track(bar_chords, meter, scale, style, rng)))
        elif role == "melody":
            tracks.append(Track("melody", program, melody_track(bar_chords, meter, tonic, mode, profile.melody, rng)))
    groove_name = groove.name if groove else "no-drums"
    return Piece(
        source=f"idiom:{profile.genre}/{groove_name}/{prog_name}/{index}",
        licence=LICENCE,
        genre=profile.genre,
        meter=meter,
        key_tonic=tonic,
        key_mode=mode,
        bpm=bpm,
        bars=bars,
        chords=[(c.root, c.pitch_classes) for c in bar_chords],
        tracks=tracks,
    )


def build_idiom_corpus(
    seed: int,
    n_pieces: int,
    *,
    genres: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Piece]:
    """Generate ``n_pieces`` valid pieces, spread evenly over the genre profiles.

    Piece ``i`` depends only on ``(seed, i)``, so a larger ``n_pieces`` extends a smaller
    one. A draw that fails :func:`corpus.piece_problems` is redrawn.

    Args:
        seed: any integer.
        n_pieces: how many pieces.
        genres: keep only these profiles (names as in :data:`PROFILES`); all when None.
        progress: called as ``progress(done, total)`` after each piece.

    Raises:
        ValueError: an unknown genre name or a negative count.
    """
    if n_pieces < 0:
        raise ValueError(f"n_pieces must be >= 0, got {n_pieces}")
    profiles = list(PROFILES)
    if genres is not None:
        known = {p.genre for p in PROFILES}
        unknown = sorted(set(genres) - known)
        if unknown:
            raise ValueError(f"unknown genres {unknown}; choose from {sorted(known)}")
        profiles = [p for p in PROFILES if p.genre in set(genres)]
    pieces = []
    for i in range(n_pieces):
        profile = profiles[i % len(profiles)]
        for attempt in range(20):
            rng = random.Random(f"promptdaw-idioms/{seed}/{i}/{attempt}")
            piece = generate_piece(profile, rng, i)
            if not piece_problems(piece):
                break
        else:
            raise RuntimeError(f"idiom piece {i} ({profile.genre}) failed validation 20 times: {piece_problems(piece)}")
        pieces.append(piece)
        if progress:
            progress(i + 1, n_pieces)
    return pieces
