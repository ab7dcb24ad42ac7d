"""`make demo`: the main job end to end on embedded defaults.

Synthesises a short piano-like phrase whose notes are known, transcribes it to MIDI through
the daemon exactly as a user would (`promptdaw transcribe`, which starts the daemon when
none runs), scores the result against the known notes and prints where everything is.
Then it writes a loop from a text prompt (`promptdaw loop`): the mix with ACID/smpl tempo
metadata, its MIDI and one WAV per part.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from promptdaw.cli import main as promptdaw
from promptdaw.client import Client, resolve_endpoint
from promptdaw.core.audio_files import write_audio
from promptdaw.core.midi_files import read_midi
from promptdaw.launcher import is_running
from promptdaw.note_metrics import note_f1
from promptdaw.runtime.catalog import TEXT_TO_MIDI, TEXT_TO_SAMPLE
from promptdaw.signals import synth_notes

SAMPLE_RATE = 44100
BEAT_S = 60 / 100  # 100 bpm

#: "Frère Jacques" (traditional), first eight bars in C, with a bass note per bar:
#: (beat, length in beats, MIDI pitch).
MELODY = [
    (0, 1, 60), (1, 1, 62), (2, 1, 64), (3, 1, 60), (4, 1, 60), (5, 1, 62), (6, 1, 64), (7, 1, 60),
    (8, 1, 64), (9, 1, 65), (10, 2, 67), (12, 1, 64), (13, 1, 65), (14, 2, 67),
    (16, 0.5, 67), (16.5, 0.5, 69), (17, 0.5, 67), (17.5, 0.5, 65), (18, 1, 64), (19, 1, 60),
    (20, 0.5, 67), (20.5, 0.5, 69), (21, 0.5, 67), (21.5, 0.5, 65), (22, 1, 64), (23, 1, 60),
    (24, 1, 60), (25, 1, 55), (26, 2, 60), (28, 1, 60), (29, 1, 55), (30, 2, 60),
]  # fmt: skip
#: A faint noise floor, as in any recording; perfectly clean synthetic partials decaying into
#: digital silence make the model hear ghost notes.
NOISE_FLOOR = 0.002
BASS = [(bar * 4, 3.5, 36 if bar % 2 == 0 else 43) for bar in range(8)]


def reference_notes() -> list[tuple[float, float, int]]:
    return [(b * BEAT_S, (b + 0.95 * n) * BEAT_S, p) for b, n, p in MELODY + BASS]


def midi_notes(midi_bytes: bytes) -> list[tuple[float, float, int]]:
    """(start_s, end_s, pitch) of every note in a Standard MIDI File."""
    t, starts, notes = 0.0, {}, []
    for message in read_midi(midi_bytes, "the daemon's midi"):
        t += message.time
        if message.type == "note_on" and message.velocity > 0:
            starts[message.note] = t
        elif message.type in ("note_on", "note_off") and message.note in starts:
            notes.append((starts.pop(message.note), t, message.note))
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)

    notes = reference_notes()
    audio = synth_notes(notes, 34 * BEAT_S, sample_rate=SAMPLE_RATE, noise_level=NOISE_FLOOR)
    wav = write_audio(args.out / "demo_input.wav", audio.repeat(2).reshape(-1, 2), SAMPLE_RATE)
    midi_path = args.out / "demo_transcription.mid"

    endpoint = resolve_endpoint()
    was_running = is_running(endpoint)
    loop_path = args.out / "demo_loop.wav"
    loop_note = ""
    try:
        status = promptdaw(["transcribe", str(wav), "-o", str(midi_path), "--tempo", "100"])
        if status == 0:
            loop_note = make_loop(endpoint, loop_path)
    finally:
        if not was_running and is_running(endpoint):
            with Client(endpoint) as client:
                client.shutdown()
    if status != 0:
        return status

    scores = note_f1(notes, midi_notes(midi_path.read_bytes()))
    print()
    print(f"demo input (synthesised, {len(notes)} known notes): {wav.resolve()}")
    print(f"transcribed MIDI:                         {midi_path.resolve()}")
    print(f"note F1 against the known notes (exact pitch, 50 ms onsets): {scores.f1:.3f}")
    print(loop_note)
    return 0


#: The loop `make demo` writes (issue 4): text -> MIDI -> rendered parts -> mastered mix.
LOOP_PROMPT = "house loop with drums, bass, chords and a lead melody in A minor, 120 bpm, 4 bars"
LOOP_MODEL_KINDS = (TEXT_TO_MIDI, TEXT_TO_SAMPLE)


def make_loop(endpoint: str, path: Path) -> str:
    """Write the demo loop with its MIDI and stems beside it; returns the line to print.

    Needs the text-to-MIDI and text-to-sample models; without them the demo says so and goes on.
    """
    with Client(endpoint) as client:
        available = {m.get("kind") for m in client.models() if m.get("state") in ("available", "loaded")}
    missing = [kind for kind in LOOP_MODEL_KINDS if kind not in available]
    if missing:
        return f"loop:                                     skipped ({', '.join(missing)} model not installed)"
    status = promptdaw(["loop", LOOP_PROMPT, "-o", str(path), "--seed", "1"])
    if status != 0:
        return f"loop:                                     failed (status {status}, see above)"
    stems = sorted(p.name for p in path.parent.glob(f"{path.stem}.*.wav"))
    lines = [
        f"loop (-14 LUFS, ACID/smpl tempo metadata): {path.resolve()}",
        f"  its MIDI and stems:                      {path.with_suffix('.mid').name}, {', '.join(stems)}",
    ]
    # The separation model splits the finished mix again, as it would any song.
    split_dir = path.parent / f"{path.stem}_separated"
    if promptdaw(["stems", str(path), "-o", str(split_dir)]) == 0:
        lines.append(f"  split again by the stems model:         {split_dir.resolve()}/")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
