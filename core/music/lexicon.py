"""The prompt vocabulary as data: genres, moods, instruments, part words, tempo and feel words.

Only tables and the small records that hold them live here; ``music.prompt`` owns the
parsing. Keywords are lower case; a space in a keyword also matches a hyphen, an underscore
or nothing ("lo fi" matches "lo-fi" and "lofi"), and a trailing "s" is always allowed, so
plurals need no entries. GM programs are 0-based (0 = Acoustic Grand Piano).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from promptdaw.core.music.spec import PART_ROLES

__all__ = [
    "BACKBEAT",
    "BASS_FOLLOWS_KICK",
    "DEMBOW",
    "DENSITY_WORDS",
    "DRUM_WORDS",
    "FEEL_WORDS",
    "FOUR_ON_THE_FLOOR",
    "GENRES",
    "GM_FAMILIES",
    "HAT_ROLLS",
    "IDIOMS",
    "IDIOM_DEFAULTS",
    "IDIOM_WORDS",
    "INSTRUMENTS",
    "LOOP_DRUM_WORDS",
    "METER_WORDS",
    "MOODS",
    "NUMBER_WORDS",
    "OFFBEAT_OPEN_HAT",
    "QUANTITY_WORDS",
    "ROLE_DEFAULTS",
    "ROLE_WORDS",
    "STOPWORDS",
    "SUSTAINED_PROGRAMS",
    "SWING_WORDS",
    "TEMPO_FACTORS",
    "TEMPO_MARKINGS",
    "TRACK_NAME_ROLES",
    "WALKING_BASS",
    "WEAK_PART_WORDS",
    "Genre",
    "Instrument",
    "Mood",
    "gm_family",
]

#: GM program families as the evaluation groups them (inclusive ranges, 0-based programs).
GM_FAMILIES: Mapping[str, tuple[int, int]] = MappingProxyType({
    "piano": (0, 7), "chromatic": (8, 15), "organ": (16, 23), "guitar": (24, 31), "bass": (32, 39),
    "strings": (40, 51), "ensemble": (52, 55), "brass": (56, 63), "reed": (64, 71), "pipe": (72, 79),
    "synth_lead": (80, 87), "synth_pad": (88, 95), "synth_fx": (96, 103), "ethnic": (104, 111),
    "percussive": (112, 119), "sound_fx": (120, 127),
})  # fmt: skip


def gm_family(program: int) -> str:
    """The family name of a 0-based GM program, e.g. 33 -> "bass", 48 -> "strings"."""
    return next(name for name, (lo, hi) in GM_FAMILIES.items() if lo <= program <= hi)


# --------------------------------------------------------------------------- genres


@dataclass(frozen=True)
class Genre:
    """Defaults for one genre; ``programs`` gives every role a (GM program, track name)."""

    name: str
    keywords: tuple[str, ...]
    bpm: float
    modes: tuple[str, ...]  # usual modes, most common first
    tonics: tuple[int, ...]  # pitch classes of common keys, C = 0
    parts: tuple[str, ...]  # default roles when the prompt names none
    programs: Mapping[str, tuple[int, str]]
    description: str  # embedded to match fuzzy genre words and whole prompts
    swing: float = 0.0
    density: float = 0.5
    feel: str = "normal"
    meter: tuple[int, int] = (4, 4)
    #: Umbrella genres ("pop", "edm", "hip hop") lose to a more specific genre named beside them.
    broad: bool = False


def _programs(**by_role: tuple[int, str]) -> Mapping[str, tuple[int, str]]:
    """Fill every role: the given ones, the rest from :data:`ROLE_DEFAULTS`."""
    unknown = set(by_role) - set(PART_ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return MappingProxyType({role: by_role.get(role, ROLE_DEFAULTS[role]) for role in PART_ROLES})


#: Program and track name for a role no genre or instrument decides.
ROLE_DEFAULTS: Mapping[str, tuple[int, str]] = MappingProxyType({
    "drums": (0, "Drums"), "bass": (33, "Electric Bass"), "chords": (0, "Piano"),
    "melody": (81, "Lead Synth"), "arp": (81, "Arp Synth"), "pad": (89, "Warm Pad"),
})  # fmt: skip

C, Db, D, Eb, E, F, Gb, G, Ab, A, Bb, B = range(12)

_GENRE_LIST = (
    Genre(
        "pop", ("pop", "pop song", "radio pop", "dance pop", "synth pop", "electropop", "ballad", "power ballad"),
        bpm=110, modes=("major", "minor"), tonics=(C, G, D, A, E, F),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(33, "Electric Bass"), chords=(0, "Piano"), melody=(81, "Lead Synth")),
        description="pop music: catchy mainstream radio song with a vocal hook, piano chords, steady drums and bass",
        density=0.6, broad=True,
    ),
    Genre(
        "rock", ("rock", "indie rock", "indie", "alt rock", "alternative rock", "punk", "pop punk", "grunge",
                 "hard rock", "classic rock", "garage rock", "shoegaze", "post rock"),
        bpm=120, modes=("major", "minor", "mixolydian"), tonics=(E, A, D, G, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(34, "Picked Bass"), chords=(29, "Overdriven Guitar"), melody=(29, "Lead Guitar")),
        description="rock music: a band with loud electric guitars, power chords, bass guitar and live drums",
        density=0.65, broad=True,
    ),
    Genre(
        "house", ("house", "deep house", "tech house", "acid house", "progressive house", "tropical house",
                  "chicago house", "french house", "bass house", "electro house", "afro house", "lo fi house",
                  "lofi house", "ballroom house"),
        bpm=124, modes=("minor", "major"), tonics=(F, A, C, G, D),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(1, "House Piano"), melody=(81, "Lead Synth")),
        description="house music: four on the floor club dance groove with offbeat hi-hats, piano or organ stabs",
        density=0.6,
    ),
    Genre(
        "techno", ("techno", "tekno", "minimal techno", "dub techno", "industrial techno", "hard techno", "acid techno",
                   "detroit techno", "berlin techno", "melodic techno", "hypnotic techno"),
        bpm=130, modes=("minor", "phrygian"), tonics=(A, F, D, E, G),
        parts=("drums", "bass", "arp"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(90, "Synth Stab"), arp=(81, "Synth Sequence")),
        description="techno: driving hypnotic electronic dance music with a pounding kick, rumble bass and loops",
        density=0.6,
    ),
    Genre(
        "trance", ("trance", "progressive trance", "vocal trance", "uplifting trance"),
        bpm=138, modes=("minor",), tonics=(A, Gb, E, B, G, F),
        parts=("drums", "bass", "chords", "arp"),
        programs=_programs(bass=(38, "Rolling Bass"), chords=(90, "Supersaw Chords"), arp=(81, "Trance Arp"),
                           melody=(81, "Supersaw Lead")),
        description="trance: euphoric electronic dance music with supersaw chords, gated arpeggios and long builds",
        density=0.7,
    ),
    Genre(
        "dnb", ("dnb", "d&b", "d n b", "drum and bass", "drum n bass", "drum & bass", "drum'n'bass", "drumnbass",
                "jungle", "liquid dnb", "liquid funk", "neurofunk", "breakcore", "drumstep"),
        bpm=174, modes=("minor",), tonics=(F, A, D, E, G),
        parts=("drums", "bass", "pad"),
        programs=_programs(bass=(39, "Reese Bass"), chords=(4, "Electric Piano"), pad=(89, "Atmos Pad")),
        description="drum and bass: fast breakbeats around 174 bpm, rolling snares and heavy reese sub bass",
        density=0.7,
    ),
    Genre(
        "dubstep", ("dubstep", "brostep", "riddim", "future garage", "deep dubstep"),
        bpm=140, modes=("minor", "phrygian"), tonics=(F, E, G, D),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(39, "Wobble Bass"), melody=(81, "Synth Lead"), pad=(89, "Dark Pad")),
        description="dubstep: half-time heavy electronic music with wobble bass drops and sub bass at 140 bpm",
        density=0.6, feel="half-time",
    ),
    Genre(
        "garage", ("garage", "uk garage", "ukg", "2 step", "two step", "speed garage", "bassline house"),
        bpm=132, modes=("minor",), tonics=(G, A, F, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Sub Bass"), chords=(5, "Organ Stabs")),
        description="uk garage: shuffled two-step beats with swung hi-hats, chopped vocals and warm sub bass",
        swing=0.6, density=0.6,
    ),
    Genre(
        "trap", ("trap", "rage", "plugg", "latin trap", "atlanta trap"),
        bpm=140, modes=("minor", "phrygian"), tonics=(F, Db, G, A, E, C, B),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(38, "808 Bass"), melody=(10, "Bells"), chords=(0, "Dark Piano"), pad=(89, "Pad")),
        description="trap: hip hop with booming 808 bass, rapid hi-hat rolls, snare claps and dark bells melody",
        density=0.55, feel="half-time",
    ),
    Genre(
        "hiphop", ("hip hop", "boom bap", "rap", "old school hip hop", "east coast", "west coast", "g funk",
                   "glitch hop"),
        bpm=90, modes=("minor", "dorian"), tonics=(A, D, E, G, C, F),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Bass"), chords=(4, "Dusty Keys"), melody=(0, "Piano Sample")),
        description="boom bap hip hop: dusty sampled drums with swing, a hard kick and snare, jazzy keys and bass",
        swing=0.55, density=0.5, broad=True,
    ),
    Genre(
        "lofi", ("lofi", "lo fi", "lo fi hip hop", "chillhop", "chill hop", "chill hip hop", "jazzhop", "jazz hop",
                 "study music", "lofi jazz"),
        bpm=80, modes=("minor", "major", "dorian"), tonics=(D, F, A, C, E, G),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Mellow Bass"), chords=(4, "Rhodes"), melody=(0, "Soft Piano"),
                           pad=(89, "Tape Pad")),
        description="lo-fi hip hop: chilled relaxing study beats with dusty jazzy rhodes chords and vinyl crackle",
        swing=0.55, density=0.35,
    ),
    Genre(
        "rnb", ("rnb", "r&b", "r n b", "r'n'b", "neo soul", "soul", "soulful", "motown", "slow jam", "doo wop",
                "contemporary r&b"),
        bpm=75, modes=("minor", "dorian", "major"), tonics=(Eb, Ab, Db, F, Bb, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Finger Bass"), chords=(4, "Rhodes"), melody=(65, "Alto Sax")),
        description="r&b and neo soul: smooth soulful grooves with lush extended rhodes chords and a laid-back swing",
        swing=0.5, density=0.5,
    ),
    Genre(
        "funk", ("funk", "funky", "p funk", "jazz funk", "funk rock"),
        bpm=105, modes=("dorian", "mixolydian", "minor"), tonics=(E, A, D, G, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(36, "Slap Bass"), chords=(7, "Clavinet"), melody=(61, "Horn Section")),
        description="funk: syncopated tight groove on the one, slap bass, clavinet and wah guitar, horn stabs",
        swing=0.15, density=0.75,
    ),
    Genre(
        "disco", ("disco", "nu disco", "italo disco", "boogie"),
        bpm=120, modes=("minor", "major"), tonics=(A, D, E, F, G),
        parts=("drums", "bass", "chords", "pad"),
        programs=_programs(bass=(33, "Octave Bass"), chords=(27, "Rhythm Guitar"), pad=(48, "Disco Strings"),
                           melody=(48, "String Section")),
        description="disco: seventies dance music with four on the floor, octave bass, string section and funky guitar",
        density=0.7,
    ),
    Genre(
        "jazz", ("jazz", "jazzy", "bebop", "bop", "big band", "swing era", "cool jazz", "smooth jazz", "jazz trio",
                 "jazz standard", "hard bop", "fusion"),
        bpm=120, modes=("major", "dorian", "minor"), tonics=(Bb, F, Eb, C, G, Ab),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(32, "Upright Bass"), chords=(0, "Jazz Piano"), melody=(66, "Tenor Sax")),
        description="jazz: swinging improvised music with walking upright bass, ride cymbal, piano comping and sax",
        swing=0.6, density=0.55,
    ),
    Genre(
        "blues", ("blues", "bluesy", "delta blues", "chicago blues", "blues rock", "twelve bar", "12 bar"),
        bpm=96, modes=("major", "minor"), tonics=(A, E, G, C, D, Bb),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Bass"), chords=(0, "Blues Piano"), melody=(27, "Blues Guitar")),
        description="blues: twelve bar shuffle with dominant seventh chords, bent guitar licks and harmonica",
        swing=0.6, density=0.5,
    ),
    Genre(
        "gospel", ("gospel", "church", "worship", "praise", "spiritual"),
        bpm=80, modes=("major",), tonics=(Ab, Db, Eb, Bb, F, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Bass"), chords=(16, "Hammond Organ"), pad=(52, "Choir"), melody=(0, "Piano")),
        description="gospel: uplifting church music with hammond organ, soulful choir, piano runs and rich chords",
        swing=0.3, density=0.6,
    ),
    Genre(
        "reggae", ("reggae", "dub", "ska", "rocksteady", "roots reggae"),
        bpm=75, modes=("minor", "major"), tonics=(A, G, D, C, E),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Dub Bass"), chords=(27, "Skank Guitar"), pad=(16, "Bubble Organ")),
        description="reggae: jamaican one drop rhythm with offbeat guitar skanks, organ bubble and deep bass",
        swing=0.2, density=0.45,
    ),
    Genre(
        "reggaeton", ("reggaeton", "dembow", "perreo", "urbano"),
        bpm=95, modes=("minor",), tonics=(A, G, D, E, F, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(90, "Synth Chords"), melody=(84, "Pluck Lead")),
        description="reggaeton: latin urban music with the dembow drum rhythm, synth bass and catchy hooks",
        density=0.6,
    ),
    Genre(
        "afrobeat", ("afrobeat", "afrobeats", "afro", "afropop", "highlife", "afro fusion"),
        bpm=108, modes=("minor", "dorian", "major"), tonics=(A, E, G, D, C),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(33, "Bass"), chords=(27, "Afro Guitar"), melody=(61, "Horns")),
        description="afrobeat: west african grooves with polyrhythmic percussion, interlocking guitars and horns",
        swing=0.25, density=0.7,
    ),
    Genre(
        "ambient", ("ambient", "drone music", "new age", "chillout", "chill out", "soundscape",
                    "meditation", "relaxation", "spa music"),
        bpm=70, modes=("major", "lydian", "minor"), tonics=(C, D, E, F, G, A),
        parts=("pad", "melody"),
        programs=_programs(pad=(89, "Warm Pad"), melody=(0, "Felt Piano"), chords=(88, "New Age Pad"),
                           arp=(11, "Vibraphone")),
        description="ambient: slow floating atmospheric soundscapes with evolving pads, drones and sparse notes",
        density=0.2,
    ),
    Genre(
        "cinematic", ("cinematic", "orchestral", "film", "film score", "movie", "movie score", "soundtrack", "trailer",
                      "score", "symphonic", "hybrid orchestral", "game soundtrack", "fantasy"),
        bpm=90, modes=("minor", "major"), tonics=(D, C, E, A, G),
        parts=("bass", "chords", "melody"),
        programs=_programs(bass=(43, "Contrabass"), chords=(48, "String Ensemble"), melody=(60, "French Horn"),
                           arp=(48, "String Ostinato"), pad=(49, "Slow Strings")),
        description="cinematic orchestral film score: epic strings, brass, french horns and timpani for a movie",
        density=0.5,
    ),
    Genre(
        "classical", ("classical", "baroque", "romantic era", "sonata", "string quartet", "chamber music",
                      "nocturne", "etude", "minuet", "concerto", "fugue", "prelude", "lullaby"),
        bpm=100, modes=("major", "minor"), tonics=(C, G, D, F, A, E, Bb),
        parts=("bass", "chords", "melody"),
        programs=_programs(bass=(42, "Cello"), chords=(48, "Strings"), melody=(40, "Violin"), arp=(0, "Piano")),
        description="classical music: baroque or romantic chamber pieces for piano, violin, cello and orchestra",
        density=0.45,
    ),
    Genre(
        "folk", ("folk", "celtic", "irish", "scottish", "jig", "reel", "acoustic folk",
                 "singer songwriter", "americana", "sea shanty", "shanty", "medieval"),
        bpm=110, modes=("major", "dorian", "mixolydian"), tonics=(G, D, A, E, C),
        parts=("chords", "melody"),
        programs=_programs(bass=(32, "Upright Bass"), chords=(25, "Acoustic Guitar"), melody=(40, "Fiddle")),
        description="folk and celtic music: acoustic guitar strumming, fiddle and tin whistle tunes, irish jigs",
        density=0.55,
    ),
    Genre(
        "synthwave", ("synthwave", "synth wave", "retrowave", "retro wave", "outrun", "darksynth", "vaporwave",
                      "80s", "eighties", "new wave", "chillwave", "dreamwave"),
        bpm=105, modes=("minor",), tonics=(A, E, Gb, D, C),
        parts=("drums", "bass", "arp", "pad"),
        programs=_programs(bass=(38, "Analog Bass"), arp=(81, "Saw Arp"), pad=(90, "Poly Pad"),
                           melody=(81, "Retro Lead"), chords=(90, "Polysynth")),
        description="synthwave: retro eighties neon synth music with gated drums, analog arpeggios and lush pads",
        density=0.55,
    ),
    Genre(
        "chiptune", ("chiptune", "chip tune", "8 bit", "8bit", "16 bit", "video game", "retro game", "nes", "gameboy",
                     "arcade"),
        bpm=150, modes=("major", "minor"), tonics=(C, G, A, E, D),
        parts=("drums", "bass", "melody", "arp"),
        programs=_programs(bass=(38, "Triangle Bass"), melody=(80, "Square Lead"), arp=(80, "Square Arp"),
                           chords=(80, "Square Chords")),
        description="chiptune: 8-bit retro video game music with square wave leads, fast arpeggios and noise drums",
        density=0.7,
    ),
    Genre(
        "kpop", ("kpop", "k pop", "idol pop", "jpop", "j rock", "anime opening"),
        bpm=120, modes=("major", "minor"), tonics=(C, D, E, G, A, B),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(90, "Synth Chords"), melody=(81, "Hook Synth")),
        description="k-pop: polished korean idol pop with punchy dance beats, synth hooks and a big chorus",
        density=0.7,
    ),
    Genre(
        "latin", ("latin", "rumba", "tango", "flamenco", "latin pop", "latin groove", "bachata", "merengue", "bolero"),
        bpm=125, modes=("minor", "major"), tonics=(A, D, G, C, E, F),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(32, "Acoustic Bass"), chords=(24, "Nylon Guitar"), melody=(73, "Flute")),
        description="latin music: bossa nova and salsa with nylon guitar, syncopated percussion and clave rhythms",
        swing=0.1, density=0.6, broad=True,  # "latin trap", "latin reggaeton": the specific genre wins
    ),
    Genre(
        "metal", ("metal", "heavy metal", "death metal", "black metal", "thrash", "djent", "metalcore", "doom metal",
                  "nu metal", "power metal", "hardcore punk"),
        bpm=160, modes=("minor", "phrygian"), tonics=(E, D, C, B, A),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(34, "Picked Bass"), chords=(30, "Distortion Guitar"), melody=(30, "Lead Guitar")),
        description="heavy metal: aggressive distorted guitar riffs, palm muting, double kick drums and screams",
        density=0.85,
    ),
    Genre(
        "country", ("country", "country pop", "honky tonk", "western", "nashville", "outlaw country", "sertanejo"),
        bpm=110, modes=("major", "mixolydian"), tonics=(G, D, A, C, E),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(33, "Bass"), chords=(25, "Acoustic Guitar"), melody=(26, "Pedal Steel")),
        description="country music: nashville twang with acoustic guitar strumming, pedal steel, banjo and fiddle",
        swing=0.15, density=0.55,
    ),
    Genre(
        "edm", ("edm", "electronic", "electronic dance", "dance", "big room", "festival",
                "dance music", "club", "eurodance"),
        bpm=128, modes=("minor", "major"), tonics=(F, A, G, C, D),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(90, "Supersaw Chords"), melody=(81, "Lead Synth")),
        description="edm: festival electronic dance music with big room drops, supersaw chords and build ups",
        density=0.75, broad=True,
    ),
    Genre(
        "drill", ("drill", "uk drill", "ny drill", "brooklyn drill", "chicago drill"),
        bpm=142, modes=("minor", "phrygian"), tonics=(Gb, F, A, Db, E, C),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(38, "Sliding 808"), melody=(0, "Dark Piano"), chords=(48, "Dark Strings"),
                           pad=(52, "Choir Pad")),
        description="drill: dark uk and ny drill with sliding 808 glides, syncopated snares and triplet hi-hats",
        density=0.55, feel="half-time",
    ),
    Genre(
        "phonk", ("phonk", "drift phonk", "memphis phonk", "memphis rap", "cowbell phonk", "brazilian phonk"),
        bpm=135, modes=("minor", "phrygian"), tonics=(F, E, G, A, C),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(38, "Distorted 808"), melody=(113, "Phonk Cowbell"), arp=(113, "Cowbell Arp"),
                           pad=(89, "Dark Pad")),
        description="phonk: memphis rap inspired drift music with distorted 808, cowbell melodies and dark samples",
        density=0.6, feel="half-time",
    ),
    Genre(
        "grime", ("grime", "eskibeat", "eski", "weightless grime"),
        bpm=140, modes=("minor", "phrygian"), tonics=(F, G, E, A),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(38, "Square Sub"), melody=(80, "Square Lead"), chords=(80, "Eski Stabs")),
        description="grime: london 140 bpm with square wave bass, cold eski synth stabs and sparse syncopated drums",
        density=0.55, feel="half-time",
    ),
    Genre(
        "futurebass", ("future bass", "kawaii future bass", "melodic bass", "wave music", "hyperpop", "pc music"),
        bpm=150, modes=("major", "minor"), tonics=(F, G, A, C, D),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Sub Bass"), chords=(81, "Supersaw Chords"), melody=(81, "Vocal Chop Lead")),
        description="future bass: lush detuned supersaw chords with sidechain swells, half-time trap drums and chops",
        density=0.6, feel="half-time",
    ),
    Genre(
        "dancehall", ("dancehall", "ragga", "bashment", "dancehall riddim", "soca", "zouk", "kompa"),
        bpm=98, modes=("minor", "major"), tonics=(A, G, D, C, F),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Dancehall Bass"), chords=(0, "Piano Stabs"), melody=(81, "Synth Lead")),
        description="dancehall: jamaican riddim with syncopated kick and rim patterns, heavy bass and synth stabs",
        density=0.6,
    ),
    Genre(
        "amapiano", ("amapiano", "piano amapiano", "log drum", "private school amapiano", "yanos", "gqom", "kwaito"),
        bpm=112, modes=("minor", "dorian", "major"), tonics=(A, F, G, C, D),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Log Drum"), chords=(0, "Deep Keys"), pad=(89, "Warm Pad"),
                           melody=(4, "Electric Piano")),
        description="amapiano: south african deep house with log drum basslines, shakers, jazzy piano chords and pads",
        density=0.55,
    ),
    Genre(
        "jerseyclub", ("jersey club", "jersey", "baltimore club", "bmore club", "philly club", "footwork", "juke"),
        bpm=140, modes=("minor", "major"), tonics=(F, G, A, C),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(38, "808 Bass"), melody=(81, "Vocal Chop Lead"), chords=(90, "Synth Chords")),
        description="jersey club: bouncy club music with rapid kick patterns in triplet bursts and chopped vocals",
        density=0.7,
    ),
    Genre(
        "hardstyle", ("hardstyle", "rawstyle", "euphoric hardstyle", "hard dance", "hardcore techno", "gabber"),
        bpm=150, modes=("minor",), tonics=(A, F, G, E, D),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(39, "Reverse Bass"), melody=(81, "Screech Lead"), chords=(81, "Supersaw Chords")),
        description="hardstyle: distorted pitched kicks at 150 bpm, reverse bass on the offbeats and euphoric leads",
        density=0.7,
    ),
    Genre(
        "psytrance", ("psytrance", "psy trance", "psy", "goa trance", "goa", "full on psytrance", "forest psy"),
        bpm=144, modes=("phrygian", "minor"), tonics=(E, F, Gb, G, A),
        parts=("drums", "bass", "arp"),
        programs=_programs(bass=(38, "Rolling Psy Bass"), arp=(81, "Acid Sequence"), melody=(81, "Psy Lead")),
        description="psytrance: hypnotic goa trance with a rolling sixteenth bassline under the kick and acid lines",
        density=0.75,
    ),
    Genre(
        "electro", ("electro", "electro funk", "miami bass", "detroit electro", "electroclash"),
        bpm=125, modes=("minor", "dorian"), tonics=(A, E, F, D, G),
        parts=("drums", "bass", "arp"),
        programs=_programs(bass=(38, "808 Bass"), arp=(81, "Robot Sequence"), chords=(90, "Synth Stabs")),
        description="electro: roland 808 drum machine funk with syncopated kicks, robotic synths and vocoder",
        density=0.6,
    ),
    Genre(
        "triphop", ("trip hop", "triphop", "downtempo", "bristol sound", "chill beats"),
        bpm=84, modes=("minor", "dorian"), tonics=(D, E, A, C, G),
        parts=("drums", "bass", "pad"),
        programs=_programs(bass=(33, "Deep Bass"), chords=(4, "Dusty Rhodes"), pad=(48, "Dark Strings"),
                           melody=(0, "Sad Piano")),
        description="trip hop: slow dark downtempo breakbeats with heavy bass, cinematic strings and melancholy",
        density=0.45,
    ),
    Genre(
        "bossanova", ("bossa nova", "bossa", "samba", "mpb", "brazilian jazz", "tropicalia"),
        bpm=126, modes=("major", "minor"), tonics=(C, D, F, G, A),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(32, "Acoustic Bass"), chords=(24, "Nylon Guitar"), melody=(73, "Flute")),
        description="bossa nova: relaxed brazilian samba jazz with nylon guitar comping, rim clicks and soft bass",
        swing=0.1, density=0.5,
    ),
    Genre(
        "salsa", ("salsa", "mambo", "cha cha", "son cubano", "timba", "son montuno", "latin jazz", "boogaloo"),
        bpm=180, modes=("minor", "major"), tonics=(A, D, G, C, E, F),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(32, "Baby Bass"), chords=(0, "Montuno Piano"), melody=(56, "Trumpet")),
        description="salsa: cuban dance music on the clave with piano montuno, tumbao bass, congas and brass",
        density=0.75,
    ),
    Genre(
        "cumbia", ("cumbia", "cumbia villera", "cumbia sonidera", "chicha", "vallenato"),
        bpm=95, modes=("minor", "major"), tonics=(A, D, G, E, C),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(33, "Bass"), chords=(21, "Accordion"), melody=(21, "Accordion Lead")),
        description="cumbia: colombian dance rhythm with guacharaca scraper, accordion, offbeat chords and bass",
        density=0.6,
    ),
    Genre(
        "bailefunk", ("baile funk", "funk carioca", "brazilian funk", "funk brasileiro", "mandelao", "tamborzao"),
        bpm=130, modes=("minor",), tonics=(A, G, F, E),
        parts=("drums", "bass", "melody"),
        programs=_programs(bass=(38, "808 Bass"), melody=(81, "Synth Lead"), chords=(61, "Brass Stabs")),
        description="baile funk: rio de janeiro favela party beats with the tamborzao drum rhythm and 808 bass",
        density=0.7,
    ),
    Genre(
        "moombahton", ("moombahton", "moombah", "moombahcore"),
        bpm=110, modes=("minor",), tonics=(A, G, F, D),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(81, "Supersaw Chords"), melody=(84, "Pluck Lead")),
        description="moombahton: dutch house slowed to reggaeton tempo with the dembow rhythm and big synth drops",
        density=0.65,
    ),
    Genre(
        "citypop", ("city pop", "citypop", "japanese city pop", "j pop 80s", "aor", "yacht rock", "soft rock"),
        bpm=110, modes=("major", "dorian"), tonics=(C, D, E, F, A, Bb),
        parts=("drums", "bass", "chords", "melody"),
        programs=_programs(bass=(36, "Slap Bass"), chords=(4, "Electric Piano"), melody=(81, "Synth Lead")),
        description="city pop: glossy eighties japanese pop with funky slap bass, electric piano and major sevenths",
        density=0.65,
    ),
    Genre(
        "bluegrass", ("bluegrass", "newgrass", "appalachian", "old time", "mountain music"),
        bpm=125, modes=("major", "mixolydian"), tonics=(G, D, A, C, E),
        parts=("bass", "chords", "arp", "melody"),
        programs=_programs(bass=(32, "Upright Bass"), chords=(25, "Mandolin Chop"), arp=(105, "Banjo Roll"),
                           melody=(40, "Fiddle")),
        description="bluegrass: fast acoustic string band with banjo rolls, mandolin chop, fiddle and upright bass",
        density=0.65,
    ),
    Genre(
        "newjackswing", ("new jack swing", "new jack", "swingbeat", "90s r&b"),
        bpm=104, modes=("minor", "dorian", "major"), tonics=(A, E, D, C, F),
        parts=("drums", "bass", "chords"),
        programs=_programs(bass=(38, "Synth Bass"), chords=(4, "Electric Piano"), melody=(61, "Brass Stabs")),
        description="new jack swing: late eighties r&b with swung drum machine beats, synth brass and funky bass",
        swing=0.55, density=0.7,
    ),
)  # fmt: skip

GENRES: Mapping[str, Genre] = MappingProxyType({g.name: g for g in _GENRE_LIST})

#: Styles inside a genre that change what a part plays on, keyed by the genre keyword that
#: names them: deep house holds warm pad chords where house stabs a piano; tropical house leads
#: on a pan flute. A prompt's own instrument for the part still wins.
STYLE_PROGRAMS: Mapping[str, Mapping[str, tuple[int, str]]] = MappingProxyType(
    {
        "deep house": {"chords": (89, "Deep House Pad")},
        "tropical house": {"melody": (75, "Pan Flute"), "chords": (12, "Marimba")},
    }
)
_unknown_styles = [k for k in STYLE_PROGRAMS if not any(k in g.keywords for g in _GENRE_LIST)]
if _unknown_styles:
    raise ValueError(f"STYLE_PROGRAMS keys that are no genre keyword: {_unknown_styles}")


def styled(genre: Genre, phrases: Sequence[str]) -> Genre:
    """``genre`` with the sounds of the styles among ``phrases`` (genre keywords a prompt named)
    that belong to it."""
    programs = dict(genre.programs)
    for phrase in phrases:
        if phrase in genre.keywords:
            programs.update(STYLE_PROGRAMS.get(phrase, {}))
    return genre if programs == dict(genre.programs) else replace(genre, programs=MappingProxyType(programs))


# --------------------------------------------------------------------------- moods


@dataclass(frozen=True)
class Mood:
    """How a mood word nudges unspecified fields."""

    name: str
    keywords: tuple[str, ...]
    mode: str | None  # preferred mode when the prompt names none
    description: str
    density_delta: float = 0.0
    tempo_factor: float = 1.0


MOODS: Mapping[str, Mood] = MappingProxyType({m.name: m for m in (
    Mood("dark", ("dark", "ominous", "sinister", "menacing", "evil", "gritty", "brooding", "gloomy", "grim", "moody"),
         "minor", "dark, ominous, menacing and sinister"),
    Mood("happy", ("happy", "joyful", "cheerful", "sunny", "fun", "playful", "bouncy", "feel good", "carefree",
                   "jolly", "summery"),
         "major", "happy, joyful, cheerful and bright", density_delta=0.1, tempo_factor=1.05),
    Mood("sad", ("sad", "melancholic", "melancholy", "sorrowful", "mournful", "heartbroken", "tearful", "somber",
                 "sombre", "bittersweet", "lonely", "tragic", "depressing", "emotional", "heartbreak"),
         "minor", "sad, melancholic, sorrowful and heartbroken", density_delta=-0.1, tempo_factor=0.9),
    Mood("uplifting", ("uplifting", "euphoric", "inspiring", "inspirational", "hopeful", "anthemic", "positive",
                       "optimistic", "motivational"),
         "major", "uplifting, euphoric, hopeful and inspiring", density_delta=0.1, tempo_factor=1.05),
    Mood("chill", ("chill", "chilled", "relaxed", "relaxing", "laid back", "mellow", "calm", "smooth", "easygoing",
                   "lazy", "cozy", "cosy", "soothing"),
         None, "chill, relaxed, mellow and laid back", density_delta=-0.15, tempo_factor=0.92),
    Mood("aggressive", ("aggressive", "angry", "hard", "hard hitting", "heavy", "intense", "brutal", "fierce", "raw",
                        "furious", "violent", "hype", "banging"),
         "minor", "aggressive, angry, intense and heavy", density_delta=0.2, tempo_factor=1.05),
    Mood("dreamy", ("dreamy", "ethereal", "floating", "hazy", "atmospheric", "spacey", "spacious", "lush", "airy",
                    "celestial", "otherworldly", "heavenly"),
         "major", "dreamy, ethereal, floating and hazy", density_delta=-0.15, tempo_factor=0.95),
    Mood("epic", ("epic", "heroic", "grand", "majestic", "triumphant", "powerful", "massive", "huge", "victorious",
                  "adventurous", "legendary"),
         "minor", "epic, heroic, majestic and powerful", density_delta=0.15),
    Mood("romantic", ("romantic", "love", "tender", "sensual", "sexy", "intimate", "passionate", "loving", "sweet"),
         "major", "romantic, tender, loving and intimate", density_delta=-0.05, tempo_factor=0.92),
    Mood("mysterious", ("mysterious", "eerie", "spooky", "haunting", "haunted", "suspenseful", "creepy", "tense",
                        "enigmatic", "mystical", "scary", "horror", "unsettling"),
         "minor", "mysterious, eerie, spooky and suspenseful", density_delta=-0.1),
    Mood("energetic", ("energetic", "driving", "upbeat energy", "lively", "pumping", "powerful energy", "exciting",
                       "bouncing", "high energy"),
         None, "energetic, lively, driving and exciting", density_delta=0.15, tempo_factor=1.08),
    Mood("peaceful", ("peaceful", "serene", "tranquil", "gentle", "soft", "quiet", "meditative", "pastoral"),
         "major", "peaceful, serene, gentle and tranquil", density_delta=-0.2, tempo_factor=0.88),
    Mood("nostalgic", ("nostalgic", "wistful", "retro feel", "sentimental", "reminiscent", "longing"),
         None, "nostalgic, wistful and sentimental", density_delta=-0.05, tempo_factor=0.95),
)})  # fmt: skip


# --------------------------------------------------------------------------- instruments


@dataclass(frozen=True)
class Instrument:
    """An instrument word: its GM program and the role it plays when no role word says otherwise.

    ``generic`` words ("guitar", "synth", "bass") name a family: when the genre's program for
    the chosen role is in the same GM family, the genre's program wins (rock "guitar" is
    overdriven, folk "guitar" acoustic). ``by_role`` picks another program per role.
    """

    program: int
    role: str
    name: str
    generic: bool = False
    by_role: Mapping[str, int] = field(default_factory=dict)


def _inst(program: int, role: str, name: str, *words: str, **kwargs: object) -> dict[str, Instrument]:
    return dict.fromkeys(words, Instrument(program, role, name, **kwargs))  # type: ignore[arg-type]


_SYNTH_BY_ROLE = MappingProxyType({"bass": 38, "pad": 89, "chords": 90, "arp": 81, "melody": 81})

#: Instrument words (multi-word phrases included) -> Instrument. Role "drums" ignores the program.
INSTRUMENTS: Mapping[str, Instrument] = MappingProxyType({
    # piano 0-7
    **_inst(0, "chords", "Piano", "piano"),
    **_inst(0, "chords", "Keys", "keyboard", "keyboards", generic=True),
    **_inst(0, "chords", "Grand Piano", "grand piano", "acoustic piano", "upright piano", "felt piano",
            "concert piano"),
    **_inst(1, "chords", "Bright Piano", "bright piano"),
    **_inst(3, "chords", "Honky-tonk Piano", "honky tonk piano", "saloon piano", "barrelhouse piano"),
    **_inst(4, "chords", "Electric Piano", "electric piano", "e piano", "epiano", "rhodes", "fender rhodes",
            "wurlitzer", "wurli"),
    **_inst(4, "chords", "Keys", "keys", generic=True),
    **_inst(5, "chords", "FM Piano", "dx7", "fm piano", "dx piano", "fm keys"),
    **_inst(6, "chords", "Harpsichord", "harpsichord", "cembalo"),
    **_inst(7, "chords", "Clavinet", "clavinet", "clav"),
    # chromatic percussion 8-15
    **_inst(8, "melody", "Celesta", "celesta", "celeste"),
    **_inst(9, "melody", "Glockenspiel", "glockenspiel", "glock", "bells", "bell", "bell synth"),
    **_inst(10, "melody", "Music Box", "music box"),
    **_inst(11, "melody", "Vibraphone", "vibraphone", "vibes", "vibraharp"),
    **_inst(12, "melody", "Marimba", "marimba"),
    **_inst(13, "melody", "Xylophone", "xylophone"),
    **_inst(14, "melody", "Tubular Bells", "tubular bells", "chimes", "church bells"),
    **_inst(15, "melody", "Dulcimer", "dulcimer", "hammered dulcimer", "santur"),
    # organ 16-23
    **_inst(16, "chords", "Organ", "organ", generic=True),
    **_inst(16, "chords", "Hammond Organ", "hammond", "hammond organ", "b3", "drawbar organ", "jazz organ"),
    **_inst(18, "chords", "Rock Organ", "rock organ"),
    **_inst(19, "chords", "Church Organ", "church organ", "pipe organ", "cathedral organ"),
    **_inst(21, "chords", "Accordion", "accordion", "bandoneon", "concertina"),
    **_inst(22, "melody", "Harmonica", "harmonica", "blues harp", "melodica"),
    # guitar 24-31
    **_inst(25, "chords", "Acoustic Guitar", "guitar", generic=True),
    **_inst(25, "chords", "Acoustic Guitar", "acoustic guitar", "steel guitar", "steel string guitar", "mandolin",
            "twelve string"),
    **_inst(24, "chords", "Nylon Guitar", "nylon guitar", "classical guitar", "spanish guitar", "nylon string guitar",
            "ukulele", "uke"),
    **_inst(26, "chords", "Jazz Guitar", "jazz guitar", "hollow body guitar", "archtop"),
    **_inst(26, "melody", "Pedal Steel", "pedal steel", "slide guitar", "lap steel"),
    **_inst(27, "chords", "Electric Guitar", "electric guitar", "clean guitar", "funk guitar", "rhythm guitar",
            "strat", "telecaster", "wah guitar"),
    **_inst(28, "chords", "Muted Guitar", "muted guitar", "palm muted guitar"),
    **_inst(29, "chords", "Overdriven Guitar", "overdriven guitar", "crunchy guitar", "crunch guitar"),
    **_inst(29, "melody", "Lead Guitar", "lead guitar", "guitar solo", "shred guitar"),
    **_inst(30, "chords", "Distortion Guitar", "distorted guitar", "distortion guitar", "heavy guitar",
            "power chord"),
    **_inst(105, "chords", "Banjo", "banjo"),
    **_inst(104, "melody", "Sitar", "sitar"),
    **_inst(106, "melody", "Shamisen", "shamisen"),
    **_inst(107, "melody", "Koto", "koto", "guzheng"),
    **_inst(108, "melody", "Kalimba", "kalimba", "mbira", "thumb piano"),
    # bass 32-39
    **_inst(33, "bass", "Electric Bass", "bass guitar", "electric bass", "finger bass", "fingered bass"),
    **_inst(34, "bass", "Picked Bass", "picked bass"),
    **_inst(35, "bass", "Fretless Bass", "fretless", "fretless bass"),
    **_inst(36, "bass", "Slap Bass", "slap", "slap bass", "slapped bass", "funk bass"),
    **_inst(32, "bass", "Upright Bass", "upright bass", "double bass", "acoustic bass", "walking bass",
            "jazz bass", "stand up bass"),
    **_inst(38, "bass", "Synth Bass", "synth bass", "synthbass", "analog bass", "moog bass", "sine bass"),
    **_inst(38, "bass", "Sub Bass", "sub bass", "sub", "subbass"),
    **_inst(38, "bass", "808 Bass", "808", "808s", "808 bass", "sliding 808", "tr 808"),
    **_inst(38, "bass", "Acid Bass", "acid bass", "303", "tb 303", "acid line"),
    **_inst(39, "bass", "Reese Bass", "reese", "reese bass", "neuro bass"),
    **_inst(39, "bass", "Wobble Bass", "wobble", "wobble bass", "growl bass"),
    # strings 40-51 (and harp)
    **_inst(48, "pad", "Strings", "strings", "string", generic=True),
    **_inst(48, "pad", "String Ensemble", "string ensemble", "string section", "orchestral strings",
            "string orchestra", "violins and cellos"),
    **_inst(48, "chords", "String Quartet", "string quartet"),
    **_inst(40, "melody", "Violin", "violin", "fiddle", "solo violin"),
    **_inst(41, "melody", "Viola", "viola"),
    **_inst(42, "melody", "Cello", "cello", "violoncello"),
    **_inst(43, "bass", "Contrabass", "contrabass", "orchestral bass"),
    **_inst(44, "pad", "Tremolo Strings", "tremolo strings", "string tremolo"),
    **_inst(45, "arp", "Pizzicato Strings", "pizzicato", "pizz", "pizzicato strings", "plucked strings"),
    **_inst(46, "arp", "Harp", "harp", "orchestral harp", "lyre"),
    **_inst(50, "pad", "Synth Strings", "synth strings", "string pad", "string machine", "solina"),
    # voices 52-55
    **_inst(52, "pad", "Choir", "choir", "choral", "aahs", "chorus vocals", "voices"),
    **_inst(53, "melody", "Voice", "vocal", "vocals", "voice", "oohs", "vocal line", "singer"),
    **_inst(54, "melody", "Vocal Chops", "vocal chop", "vocal chops", "synth voice"),
    **_inst(55, "chords", "Orchestra Hit", "orchestra hit", "orch hit", "orchestral hit"),
    # brass 56-63
    **_inst(61, "melody", "Brass Section", "brass", "brass section", "horn section", "big band horns"),
    **_inst(56, "melody", "Trumpet", "trumpet", "flugelhorn", "cornet"),
    **_inst(57, "melody", "Trombone", "trombone"),
    **_inst(58, "bass", "Tuba", "tuba", "sousaphone"),
    **_inst(59, "melody", "Muted Trumpet", "muted trumpet"),
    **_inst(60, "melody", "French Horn", "french horn", "horn"),
    **_inst(61, "melody", "Horns", "horns"),
    **_inst(62, "chords", "Synth Brass", "synth brass", "brass synth", "brass stab"),
    # reeds 64-71
    **_inst(66, "melody", "Tenor Sax", "sax", "saxophone", generic=True),
    **_inst(64, "melody", "Soprano Sax", "soprano sax", "soprano saxophone"),
    **_inst(65, "melody", "Alto Sax", "alto sax", "alto saxophone"),
    **_inst(66, "melody", "Tenor Sax", "tenor sax", "tenor saxophone"),
    **_inst(67, "melody", "Baritone Sax", "baritone sax", "bari sax", "baritone saxophone"),
    **_inst(68, "melody", "Oboe", "oboe"),
    **_inst(69, "melody", "English Horn", "english horn", "cor anglais"),
    **_inst(70, "bass", "Bassoon", "bassoon", "contrabassoon"),
    **_inst(71, "melody", "Clarinet", "clarinet", "bass clarinet"),
    # pipes 72-79
    **_inst(72, "melody", "Piccolo", "piccolo"),
    **_inst(73, "melody", "Flute", "flute", "alto flute", "wooden flute", "bansuri"),
    **_inst(74, "melody", "Recorder", "recorder"),
    **_inst(75, "melody", "Pan Flute", "pan flute", "pan pipe", "panpipe", "pan pipes"),
    **_inst(77, "melody", "Shakuhachi", "shakuhachi"),
    **_inst(78, "melody", "Tin Whistle", "whistle", "tin whistle", "penny whistle"),
    **_inst(79, "melody", "Ocarina", "ocarina"),
    **_inst(109, "melody", "Bagpipes", "bagpipe", "bagpipes", "uilleann pipes"),
    # synth leads 80-87
    **_inst(81, "melody", "Synth", "synth", "synthesizer", "synthesiser", generic=True, by_role=_SYNTH_BY_ROLE),
    **_inst(81, "melody", "Lead Synth", "lead synth", "synth lead", "saw lead", "sawtooth", "saw wave",
            "sawtooth lead", "analog lead", "lead line"),
    **_inst(80, "melody", "Square Lead", "square", "square wave", "square lead", "square wave lead", "pulse wave",
            "pulse lead", "chip lead", "8 bit lead"),
    **_inst(81, "chords", "Supersaw", "supersaw", "super saw", "saw chords"),
    **_inst(84, "melody", "Pluck", "pluck", "synth pluck", "pluck synth", "plucky synth"),
    **_inst(82, "melody", "Calliope Lead", "calliope"),
    **_inst(85, "melody", "Voice Lead", "voice lead", "theremin"),
    # synth pads 88-95
    **_inst(89, "pad", "Warm Pad", "warm pad", "synth pad", "analog pad", "soft pad"),
    **_inst(88, "pad", "New Age Pad", "new age pad", "fantasia"),
    **_inst(90, "chords", "Polysynth", "polysynth", "poly synth", "synth chords", "synth stab", "juno"),
    **_inst(91, "pad", "Choir Pad", "choir pad", "vocal pad", "voice pad"),
    **_inst(92, "pad", "Bowed Pad", "bowed pad", "glass pad"),
    **_inst(93, "pad", "Metallic Pad", "metallic pad"),
    **_inst(94, "pad", "Halo Pad", "halo pad", "ambient pad", "atmospheric pad", "atmos pad"),
    **_inst(95, "pad", "Sweep Pad", "sweep pad", "sweep", "filter sweep pad"),
    # percussive melodic
    **_inst(114, "melody", "Steel Drums", "steel drum", "steel pan", "steelpan"),
})  # fmt: skip


# --------------------------------------------------------------------------- part words

#: Words that name a part (a role). "bass" and "lead" are role words; "808 bass" or
#: "square lead" are instruments because longer phrases are matched first.
ROLE_WORDS: Mapping[str, str] = MappingProxyType({
    **dict.fromkeys(("drum", "drums", "percussion", "perc", "kit", "drum kit", "drum pattern", "drum loop",
                     "drum groove", "drum beat", "breakbeat", "break", "breaks", "break beat", "amen break",
                     "drum break", "drummer", "backbeat",
                     "rhythm section drums", "drum machine", "909", "707", "timpani", "taiko", "dembow",
                     "four on the floor", "4 on the floor", "one drop", "clave", "fills"), "drums"),
    **dict.fromkeys(("bass", "bassline", "bass line", "low end", "walking line"), "bass"),
    **dict.fromkeys(("chord", "chords", "progression", "chord progression", "comping", "comp", "strumming", "strum",
                     "strummed", "harmony", "harmonies", "changes", "voicing", "voicings", "stab", "stabs",
                     "chord stabs", "vamp", "skank", "accompaniment", "block chords"), "chords"),
    **dict.fromkeys(("melody", "melodies", "lead", "topline", "top line", "hook", "motif", "riff",
                     "solo", "counter melody", "countermelody", "lick", "licks", "earworm"),
                    "melody"),
    **dict.fromkeys(("arp", "arpeggio", "arpeggios", "arpeggiated", "arpeggiator", "ostinato", "broken chords",
                     "sequence", "sequenced", "arpeggiation"), "arp"),
    **dict.fromkeys(("pad", "pads", "drone", "drones", "texture", "textures", "swell", "swells",
                     "sustained chords"), "pad"),
})  # fmt: skip

#: Drum-kit pieces: each names the drums part.
DRUM_WORDS: tuple[str, ...] = (
    "kick", "kick drum", "bass drum", "snare", "snare drum", "snares", "hat", "hats", "hihat", "hi hat", "hi hats",
    "open hat", "closed hat", "cymbal", "ride", "ride cymbal", "crash", "clap", "claps", "handclap", "rimshot", "rim",
    "tom", "toms", "shaker", "tambourine", "conga", "congas", "bongo", "bongos", "cowbell", "hat rolls", "hi hat rolls",
    "snare rolls", "brushes", "cajon", "djembe", "tabla", "woodblock", "triangle", "guiro", "timbales", "bodhran",
    "808 kick", "808 drums", "808 kit", "trap hats",
)  # fmt: skip

#: Words that name parts only when nothing else in their phrase does: "a house groove" is
#: drums, "a trap beat" drums and the genre's bass, "a synthwave track" the genre's parts.
WEAK_PART_WORDS: Mapping[str, str] = MappingProxyType({
    "beat": "beat", "beats": "beat", "groove": "groove", "grooves": "groove",
    "loop": "loop", "loops": "loop", "rhythm": "groove", "pattern": "groove",
    "track": "whole", "song": "whole", "piece": "whole", "instrumental": "whole", "arrangement": "whole",
    "production": "whole", "composition": "whole",
})  # fmt: skip

#: Words by which a loop prompt names its drums itself ("drum loop", "beat loop", "hats loop"):
#: without one, "trap loop" means the genre's loop, not drums alone (the generate-loop task).
#: Matched as written, whole words in any case, so plurals are listed; "break" counts here,
#: though as a part word only "breaks" does.
LOOP_DRUM_WORDS: tuple[str, ...] = (
    "drum", "drums", "drum kit", "kit", "beat", "beats", "groove", "grooves", "percussion", "perc", "break",
    "breaks", "breakbeat", "breakbeats", "hat", "hats", "hi hat", "hi hats", "kick", "kicks", "snare", "snares",
)  # fmt: skip

#: Pieces of a MIDI track's name that give its role ("808 Bass" plays bass, "Rhodes" chords),
#: tried in this order; drums are known by channel 10, never by name.
TRACK_NAME_ROLES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "bass": ("bass", "808", "sub"),
    "chords": ("chord", "keys", "piano", "rhodes", "organ", "comp"),
    "pad": ("pad", "string", "choir"),
    "arp": ("arp",),
    "melody": ("melody", "lead", "vocal", "hook", "topline"),
})  # fmt: skip


# --------------------------------------------------------------------------- tempo, meter, feel

#: Classical tempo markings -> bpm, chosen inside the range common metronome tables agree on.
TEMPO_MARKINGS: Mapping[str, float] = MappingProxyType({
    "grave": 40, "largo": 50, "lento": 52, "larghetto": 63, "adagio": 70, "adagietto": 74, "andante": 88,
    "andantino": 94, "moderato": 110, "allegretto": 116, "allegro moderato": 116, "allegro": 132, "vivace": 160,
    "vivacissimo": 172, "presto": 180, "prestissimo": 208,
})  # fmt: skip

#: Relative tempo words -> factor applied to the genre's tempo.
TEMPO_FACTORS: Mapping[str, float] = MappingProxyType({
    "very slow": 0.65, "super slow": 0.65, "slow": 0.8, "slowly": 0.8, "slower": 0.85, "slow tempo": 0.8,
    "mid tempo": 1.0, "midtempo": 1.0, "medium tempo": 1.0, "moderate tempo": 1.0, "uptempo": 1.15,
    "up tempo": 1.15, "fast": 1.2, "quick": 1.2, "rapid": 1.25, "faster": 1.15, "very fast": 1.4, "super fast": 1.4,
    "frantic": 1.35,
})  # fmt: skip

#: Words that imply a meter when the prompt gives no time signature.
METER_WORDS: Mapping[str, tuple[int, int]] = MappingProxyType({
    "waltz": (3, 4), "jig": (6, 8), "slip jig": (9, 8), "common time": (4, 4), "cut time": (2, 2),
    "triple meter": (3, 4), "triple time": (3, 4), "polka": (2, 4), "march": (2, 4), "tarantella": (6, 8),
    "minuet": (3, 4), "mazurka": (3, 4), "siciliano": (6, 8), "barcarolle": (6, 8),
})  # fmt: skip

#: Swing amounts (0 straight .. 1 full triplet).
SWING_WORDS: Mapping[str, float] = MappingProxyType({
    "swing": 0.55, "swung": 0.55, "swingy": 0.55, "swinging": 0.55, "shuffle": 0.6, "shuffled": 0.6,
    "shuffle feel": 0.6, "triplet feel": 0.66, "heavy swing": 0.66, "hard swing": 0.66, "light swing": 0.3,
    "slight swing": 0.3, "subtle swing": 0.3, "lazy swing": 0.55, "straight": 0.0, "no swing": 0.0,
    "straight eighths": 0.0, "straight 8ths": 0.0, "quantized": 0.0, "quantised": 0.0,
})  # fmt: skip

#: Density words (0 sparse .. 1 busy).
DENSITY_WORDS: Mapping[str, float] = MappingProxyType({
    "very sparse": 0.1, "sparse": 0.2, "minimal": 0.2, "minimalist": 0.2, "minimalistic": 0.2, "stripped back": 0.25,
    "stripped down": 0.25, "simple": 0.3, "bare": 0.2, "spacious arrangement": 0.25, "understated": 0.3,
    "busy": 0.8, "dense": 0.85, "complex": 0.75, "intricate": 0.75, "full": 0.7, "rich": 0.65, "layered": 0.7,
    "very busy": 0.9, "packed": 0.85, "frenetic": 0.9,
})  # fmt: skip

FEEL_WORDS: Mapping[str, str] = MappingProxyType({
    "half time": "half-time", "halftime": "half-time", "half time feel": "half-time",
    "double time": "double-time", "doubletime": "double-time", "double time feel": "double-time",
})  # fmt: skip

#: Written-out numbers: units, teens and tens. The prompt reader composes the rest from them
#: ("twenty four", "one hundred and ten"), so compounds need no entries.
NUMBER_WORDS: Mapping[str, int] = MappingProxyType({
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
})  # fmt: skip

#: Words for a small count, read where a number may stand ("a few bars", "a couple of seconds")
#: but never as a tempo.
QUANTITY_WORDS: Mapping[str, int] = MappingProxyType({"a single": 1, "single": 1, "a couple of": 2, "a few": 3})

#: Words carrying no musical meaning: never sent to the embedder as fuzzy genre or mood words.
STOPWORDS: frozenset[str] = frozenset((
    "a", "an", "the", "in", "on", "at", "of", "for", "with", "and", "or", "to", "by", "from", "into", "over",
    "under", "some", "any", "this", "that", "these", "those", "it", "its", "is", "are", "be", "make", "me", "give",
    "generate", "create", "write", "compose", "produce", "please", "i", "want", "need", "would", "like", "could",
    "can", "you", "we", "my", "our", "kind", "type", "style", "sort", "vibe", "vibes", "feel", "feeling",
    "sound", "sounding", "track", "song", "piece", "music", "tune", "loop", "bpm", "key", "bar", "bars", "measure",
    "measures", "time", "signature", "tempo", "about", "around", "roughly", "approx", "approximately", "ish", "very",
    "really", "quite", "little", "bit", "more", "less", "lots", "lot", "plenty", "just", "only", "also", "then",
    "than", "but", "so", "as", "up", "down", "out", "no", "not", "without", "minus", "major", "minor", "sharp",
    "flat", "new", "old", "each", "per", "every", "all", "big", "small",
))  # fmt: skip


#: GM programs that sustain a chord rather than strike it: string ensembles, choirs, pads.
#: A chords part played on one holds its chord as a pad does.
SUSTAINED_PROGRAMS = frozenset([*range(48, 56), *range(88, 96)])

# Idioms: named patterns a part must keep (MusicSpec.idioms); the generator enforces them.
FOUR_ON_THE_FLOOR = "four_on_the_floor"  # a kick on every beat
OFFBEAT_OPEN_HAT = "offbeat_open_hat"  # an open hi-hat between the beats
BASS_FOLLOWS_KICK = "bass_follows_kick"  # the bass (an 808) plays with the kick, rarely without it
WALKING_BASS = "walking_bass"  # a bass note on every beat, moving by steps
DEMBOW = "dembow"  # reggaeton's snare figure: the "and" of one and of two, and again in the bar's second half
HAT_ROLLS = "hat_rolls"  # closed hats that break into 32nd or triplet rolls, as trap's do
BACKBEAT = "backbeat"  # a snare or clap on beats 2 and 4 (on 3 in a half-time feel)
EIGHTH_NOTES = "eighth_notes"  # an arpeggiator's rate: every 8th note
SIXTEENTH_NOTES = "sixteenth_notes"  # an arpeggiator's rate: every 16th note
IDIOMS = (
    FOUR_ON_THE_FLOOR, OFFBEAT_OPEN_HAT, BASS_FOLLOWS_KICK, WALKING_BASS, DEMBOW, HAT_ROLLS, BACKBEAT,
    EIGHTH_NOTES, SIXTEENTH_NOTES,
)  # fmt: skip

#: Phrases naming an idiom -> its name.
IDIOM_WORDS: Mapping[str, str] = MappingProxyType(
    {
        "four on the floor": FOUR_ON_THE_FLOOR,
        "4 on the floor": FOUR_ON_THE_FLOOR,
        "four to the floor": FOUR_ON_THE_FLOOR,
        "four-on-the-floor": FOUR_ON_THE_FLOOR,
        "4x4 kick": FOUR_ON_THE_FLOOR,
        "kick on every beat": FOUR_ON_THE_FLOOR,
        "open hats on the offbeats": OFFBEAT_OPEN_HAT,
        "open hats on the upbeats": OFFBEAT_OPEN_HAT,
        "open hi-hats on the offbeats": OFFBEAT_OPEN_HAT,
        "open hi-hats on the upbeats": OFFBEAT_OPEN_HAT,
        "open hihats on the offbeats": OFFBEAT_OPEN_HAT,
        "open hihats on the upbeats": OFFBEAT_OPEN_HAT,
        "offbeat open hats": OFFBEAT_OPEN_HAT,
        "offbeat open hi-hats": OFFBEAT_OPEN_HAT,
        "off-beat open hats": OFFBEAT_OPEN_HAT,
        "upbeat open hats": OFFBEAT_OPEN_HAT,
        "locked to the kick": BASS_FOLLOWS_KICK,
        "lock to the kick": BASS_FOLLOWS_KICK,
        "locks to the kick": BASS_FOLLOWS_KICK,
        "following the kick": BASS_FOLLOWS_KICK,
        "follows the kick": BASS_FOLLOWS_KICK,
        "follow the kick": BASS_FOLLOWS_KICK,
        "walking bass": WALKING_BASS,
        "walking bassline": WALKING_BASS,
        "walking bass line": WALKING_BASS,
        "walking line": WALKING_BASS,
        "walking upright bass": WALKING_BASS,
        "walking double bass": WALKING_BASS,
        "walking acoustic bass": WALKING_BASS,
        "walking jazz bass": WALKING_BASS,
        "walks": WALKING_BASS,
        "dembow": DEMBOW,
        "dem bow": DEMBOW,
        **dict.fromkeys(
            (
                "hat rolls",
                "hi hat rolls",
                "hihat rolls",
                "hi-hat rolls",
                "rolling hats",
                "rolling hi hats",
                "rolling hihats",
                "rolling hi-hats",
                "triplet hats",
                "hat triplets",
                "hi hat triplets",
                "hi-hat triplets",
                "triplet hi hats",
                "triplet hi-hats",
                "ratchet hats",
                "hat rolls and stutters",
                "trap hats",
            ),
            HAT_ROLLS,
        ),
        **dict.fromkeys(
            (
                "backbeat",
                "back beat",
                "snare on 2 and 4",
                "snare on two and four",
                "snares on 2 and 4",
                "clap on 2 and 4",
                "claps on 2 and 4",
                "clap on two and four",
                "claps on two and four",
                "snare on the 3",
                "snare on three",
                "snare on beat 3",
            ),
            BACKBEAT,
        ),
        **dict.fromkeys(
            ("eighth note", "eighth notes", "8th note", "8th notes", "in eighths", "in 8ths", "8ths"),
            EIGHTH_NOTES,
        ),
        **dict.fromkeys(
            ("sixteenth note", "sixteenth notes", "16th note", "16th notes", "in sixteenths", "in 16ths", "16ths"),
            SIXTEENTH_NOTES,
        ),
    }
)
#: Genres whose drums keep a snare or clap on the backbeat (beat 3 in the half-time ones,
#: whose Genre.feel says so).
_BACKBEAT_GENRES = (
    "pop", "rock", "house", "disco", "edm", "trance", "hiphop", "lofi", "rnb", "funk", "dnb", "garage", "synthwave",
    "kpop", "gospel", "blues", "country", "metal", "chiptune", "jerseyclub", "electro", "triphop", "citypop",
    "newjackswing", "bluegrass", "trap", "drill", "phonk", "grime", "futurebass", "dubstep",
)  # fmt: skip
_GENRE_IDIOMS = {
    "house": (FOUR_ON_THE_FLOOR, OFFBEAT_OPEN_HAT),
    "techno": (FOUR_ON_THE_FLOOR,),
    "trance": (FOUR_ON_THE_FLOOR, OFFBEAT_OPEN_HAT),
    "disco": (FOUR_ON_THE_FLOOR, OFFBEAT_OPEN_HAT),
    "reggaeton": (FOUR_ON_THE_FLOOR, DEMBOW),  # the dembow's kick lands on every beat
    "trap": (BASS_FOLLOWS_KICK, HAT_ROLLS),
    "hiphop": (BASS_FOLLOWS_KICK,),
    "drill": (BASS_FOLLOWS_KICK, HAT_ROLLS),
    "phonk": (BASS_FOLLOWS_KICK, HAT_ROLLS),
    "hardstyle": (FOUR_ON_THE_FLOOR, OFFBEAT_OPEN_HAT),
    "psytrance": (FOUR_ON_THE_FLOOR, OFFBEAT_OPEN_HAT),
    "moombahton": (DEMBOW,),
    "jazz": (WALKING_BASS,),
}
#: Idioms a genre keeps unless the prompt says otherwise (a prompt's own idioms are added to these).
IDIOM_DEFAULTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        genre: (*_GENRE_IDIOMS.get(genre, ()), *((BACKBEAT,) if genre in _BACKBEAT_GENRES else ()))
        for genre in sorted(set(_GENRE_IDIOMS) | set(_BACKBEAT_GENRES))
    }
)
