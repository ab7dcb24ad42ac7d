"""Files of a rendered loop on the client side: OUT.wav, OUT.mid and OUT.<part>.wav beside it.

Every WAV of a loop carries ``acid`` and ``smpl`` chunks (tempo, beats, meter, root note and
a loop over the whole file) so DAWs lock it to their tempo; the files are written as one
atomic set (all replaced together, or none).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from promptdaw.core.files import OutputSet
from promptdaw.core.music.spec import PART_ROLES
from promptdaw.core.wav import wav_bytes
from promptdaw.inference_server.errors import InvalidInput
from promptdaw.inference_server.protocol import Audio, Midi, Payload
from promptdaw.plugin_host import (
    LoopInfo,
    key_shift_semitones,
    loop_length_samples,
    read_wav,
    stretch_loop,
    stretch_to_tempo,
    true_peak_dbtp,
    write_wav,
)
from promptdaw.plugin_host.mastering import DEFAULT_CEILING_DBTP

__all__ = ["fit_audio_file", "loop_info", "old_part_files", "part_path", "write_render_files"]


def loop_info(result: dict[str, Any]) -> LoopInfo:
    numerator, denominator = (int(x) for x in str(result["meter"]).split("/"))
    return LoopInfo(float(result["bpm"]), int(result["beats"]), (numerator, denominator), int(result["root_note"]))


def part_path(output: Path, part: str) -> Path:
    """``OUT.wav`` + ``drums`` -> ``OUT.drums.wav`` (the part name made safe for a file name)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", part).strip("-.") or "part"
    return output.with_name(f"{output.stem}.{safe}{output.suffix or '.wav'}")


def old_part_files(output: Path) -> list[Path]:
    """Stems of an earlier render to ``output`` that a new render would leave behind.

    Only names promptdaw gives stems count: ``OUT.<role>.wav`` for the part roles a loop has,
    and ``OUT.part<N>.wav`` for unnamed tracks. A stem named after a MIDI track of a rendered
    file (``OUT.lead-synth.wav``) cannot be told from a file of the user's (``OUT.final.wav``),
    and removing a user's file is worse than leaving a stale stem, so those stay.
    """
    pattern = re.compile(rf"^{re.escape(output.stem)}\.({'|'.join(PART_ROLES)}|part\d+){re.escape(output.suffix)}$")
    try:
        return sorted(p for p in output.parent.iterdir() if pattern.match(p.name) and p.is_file())
    except OSError:
        return []


def write_render_files(
    output: Path, result: dict[str, Any], payloads: Sequence[Payload], *, stems: bool = True, loop: bool = True
) -> list[Path]:
    """Write the mix to ``output``, the MIDI (if sent) beside it, and with ``stems`` one WAV per part.

    The files are one set (``core/files.py``): they replace the old ones only when all are
    written, and a failure leaves the old set as it was. Stems of an earlier render to the same
    ``output`` that this one does not write (:func:`old_part_files`) are removed with the commit,
    so the folder never holds a new mix beside an old loop's stems.

    Returns the paths written, mix first.

    Raises:
        InvalidInput: the reply does not hold the buffers its result describes.
        OSError: a file cannot be written (naming that file, not its temporary).
    """
    audio = [p for p in payloads if isinstance(p, Audio)]
    midi = [p for p in payloads if isinstance(p, Midi)]
    parts = list(result.get("parts", []))
    if len(audio) != 1 + len(parts):
        raise InvalidInput(f"the daemon sent {len(audio)} audio buffers for a mix and {len(parts)} parts")
    info = loop_info(result) if loop else None
    midi_paths = [output.with_suffix(".mid")] if midi else []
    stem_paths = [part_path(output, part) for part in parts] if stems else []
    with OutputSet(stale=old_part_files(output)) as files:
        # The small MIDI first: a full disk then fails on a WAV with a finished temporary in the set.
        for path in midi_paths:
            files.write_bytes(path, midi[0].data)
        files.write_bytes(output, wav_bytes(audio[0].samples, audio[0].sample_rate, loop=info))
        for path, stem in zip(stem_paths, audio[1 : 1 + len(stem_paths)], strict=True):
            files.write_bytes(path, wav_bytes(stem.samples, stem.sample_rate, loop=info))
    return [output, *midi_paths, *stem_paths]


def fit_audio_file(
    source: Path,
    output: Path,
    *,
    bpm: float | None = None,
    key: str | None = None,
    source_bpm: float | None = None,
    source_key: str | None = None,
) -> dict[str, Any]:
    """Time-stretch and pitch-shift a WAV to a project tempo and key (``promptdaw render IN.wav``).

    The source tempo, meter, length in beats and root note come from the file's ``acid``
    chunk (a loop promptdaw or a DAW wrote) unless given. A loop stays a loop: it is
    stretched as one (the seam keeps its context) to exactly the new loop length, and the
    written file carries the new tempo and root note.

    Raises:
        InvalidInput: no source tempo for ``bpm`` or no source key for ``key``, a key that
            cannot be read, or a change beyond what the stretcher allows.
    """
    try:
        wav = read_wav(source)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    acid = wav.acid
    from_bpm = source_bpm or (acid.bpm if acid and acid.bpm > 0 else None)
    if bpm is not None and from_bpm is None:
        raise InvalidInput(f"{source} has no tempo (acid chunk): give --source-bpm")
    root = acid.root_note if acid is not None else None
    semitones = 0
    if key is not None:
        from_key: str | tuple[int, str] | None = source_key or ((root % 12, "major") if root is not None else None)
        if from_key is None:
            raise InvalidInput(f"{source} has no root note (acid chunk): give --source-key")
        try:
            semitones = key_shift_semitones(from_key, key)
        except ValueError as exc:
            raise InvalidInput(f"--key: {exc}") from None
    to_bpm = bpm or from_bpm
    try:
        if acid is not None and not acid.one_shot and from_bpm and acid.beats and acid.beats % acid.meter[0] == 0:
            bars = acid.beats // acid.meter[0]
            audio = stretch_loop(wav.samples, wav.sample_rate, bars=bars, meter=acid.meter, from_bpm=from_bpm,
                                 to_bpm=to_bpm, semitones=semitones)  # fmt: skip
            info = LoopInfo(float(to_bpm), acid.beats, acid.meter, (acid.root_note + semitones) % 128)
            expected = loop_length_samples(bars, acid.meter, to_bpm, wav.sample_rate)
        else:
            audio = stretch_to_tempo(wav.samples, wav.sample_rate, from_bpm=from_bpm or 120.0, to_bpm=to_bpm or 120.0,
                                     semitones=semitones)  # fmt: skip
            info, expected = None, audio.shape[0]
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    # Stretching moves phases, which can raise peaks: only ever turn down, to -1 dBTP.
    peak = true_peak_dbtp(audio, wrap=info is not None)
    if peak is not None and peak > DEFAULT_CEILING_DBTP:
        audio = audio * np.float32(10 ** ((DEFAULT_CEILING_DBTP - peak) / 20))
    written = write_wav(output, audio, wav.sample_rate, loop=info)
    return {"output": str(written), "from_bpm": from_bpm, "bpm": to_bpm, "semitones": semitones,
            "length_samples": int(audio.shape[0]), "exact": audio.shape[0] == expected,
            "sample_rate": wav.sample_rate}  # fmt: skip
