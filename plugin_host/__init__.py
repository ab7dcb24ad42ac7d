"""plugin_host: promptdaw's offline rendering host, on pedalboard.

A score (a generated clip or a MIDI file) is rendered part by part with an instrument per
part (the built-in neural instrument, a drum kit of its voices, or a VST3 instrument), each
part through its effect chain (pedalboard built-ins or VST3 effects), then mixed and
mastered to a loudness target; loops come out exactly their length and wrap without a
click. Audio can also be fitted to a project tempo and key.

    stems = render(clip, {"drums": kit, "bass": bass}, {"drums": EffectChain("compressor")})
    mastered = master(stems.mix(), stems.sample_rate, target_lufs=-14.0)
    write_wav("loop.wav", mastered.audio, stems.sample_rate, loop=LoopInfo(bpm, beats, meter))

Modules, one concern each: ``instruments`` (what plays notes), ``score`` (notes in beats,
swing, exact loop lengths), ``render`` (placement, tails, stems), ``effects`` (chains and
their spec syntax), ``sandbox`` (the plugin folders, and a process of their own for plugins),
``timing`` (stretch and pitch-shift), ``mastering`` (loudness, true peak, limiter), ``wav``
(WAV with ACID and smpl loop metadata).
"""

from promptdaw.core.wav import LoopInfo, WavData, read_wav, write_wav
from promptdaw.plugin_host.effects import BUILTIN_EFFECTS, AudioEffect, EffectChain, EffectSpec, parse_chain, parse_fx
from promptdaw.plugin_host.instruments import (
    DrumKit,
    EventInstrument,
    Instrument,
    InstrumentSpec,
    NoteEvent,
    PluginHost,
    PluginLoadError,
    VoiceFactory,
    VST3Instrument,
    load_instrument,
    parse_instrument_spec,
)
from promptdaw.plugin_host.mastering import DEFAULT_TARGET_LUFS, Mastered, integrated_loudness, master, true_peak_dbtp
from promptdaw.plugin_host.render import DEFAULT_SAMPLE_RATE, Stems, render
from promptdaw.plugin_host.sandbox import (
    PluginCrashed,
    PluginPathRefused,
    PluginSandbox,
    check_plugin_path,
    plugin_folders,
)
from promptdaw.plugin_host.score import Score, ScoreNote, ScorePart, loop_length_samples
from promptdaw.plugin_host.timing import key_shift_semitones, pitch_shift, stretch_loop, stretch_to_tempo

__all__ = [
    "BUILTIN_EFFECTS",
    "DEFAULT_SAMPLE_RATE",
    "DEFAULT_TARGET_LUFS",
    "AudioEffect",
    "DrumKit",
    "EffectChain",
    "EffectSpec",
    "EventInstrument",
    "Instrument",
    "InstrumentSpec",
    "LoopInfo",
    "Mastered",
    "NoteEvent",
    "PluginCrashed",
    "PluginHost",
    "PluginLoadError",
    "PluginPathRefused",
    "PluginSandbox",
    "Score",
    "ScoreNote",
    "ScorePart",
    "Stems",
    "VST3Instrument",
    "VoiceFactory",
    "WavData",
    "check_plugin_path",
    "integrated_loudness",
    "key_shift_semitones",
    "load_instrument",
    "loop_length_samples",
    "master",
    "parse_chain",
    "parse_fx",
    "parse_instrument_spec",
    "pitch_shift",
    "plugin_folders",
    "read_wav",
    "render",
    "stretch_loop",
    "stretch_to_tempo",
    "true_peak_dbtp",
    "write_wav",
]
