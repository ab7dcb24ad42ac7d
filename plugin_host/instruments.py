"""Instruments: what turns notes into audio, and how a part names its instrument.

Two shapes of instrument are hosted:

- :class:`Instrument`: anything with ``render_note(pitch, velocity, duration_s, sample_rate)``
  returning ``[frames, 2]`` float audio, release tail included. The built-in neural
  instrument (``inference_server.synthesis.instrument.NeuralInstrument``) is one; the
  renderer calls it once per distinct note and places the result sample-accurately.
- :class:`EventInstrument`: anything with ``render_events(events, duration_s, sample_rate)``
  that plays a whole part in one pass, as a plugin does. :class:`VST3Instrument` wraps a
  VST3 instrument loaded by ``pedalboard.load_plugin``.

:class:`DrumKit` makes one drum instrument out of per-sound voices: each General MIDI drum
note is asked of a voice for its category ("kick", "closed hat", ...), so a text-to-sample
model that knows single sounds can play a drum part.

Instrument specs are the user-facing names: ``drums=builtin:"dusty lofi kit"`` or
``lead=/path/to/Synth.vst3``; :func:`parse_instrument_spec` reads them and
:func:`load_instrument` turns one into an instrument.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import mido
import numpy as np

from promptdaw.core.music.gm import DRUM_CHANNEL, drum_sound

__all__ = [
    "DEFAULT_INITIALIZATION_TIMEOUT_S",
    "DrumKit",
    "EventInstrument",
    "Instrument",
    "InstrumentSpec",
    "NoteEvent",
    "PluginHost",
    "PluginLoadError",
    "VST3Instrument",
    "VoiceFactory",
    "load_instrument",
    "parse_instrument_spec",
]

#: MIDI channel 10 (0-based 9): General MIDI drums.
#: How long pedalboard may play middle C to an instrument after loading, waiting for sound.
#: pedalboard's own default (10 s) is spent in full on a plugin that is silent until
#: configured, such as a sampler with nothing loaded; most synths answer at once.
DEFAULT_INITIALIZATION_TIMEOUT_S = 2.0


@runtime_checkable
class Instrument(Protocol):
    """Renders one note at a time."""

    def render_note(self, pitch: int, velocity: int, duration_s: float, sample_rate: int) -> np.ndarray:
        """``[frames, 2]`` float audio of one note held ``duration_s`` seconds, release tail included."""
        ...


@dataclass(frozen=True)
class NoteEvent:
    """One note of a part, in seconds from the part's start."""

    start_s: float
    duration_s: float
    pitch: int
    velocity: int


@runtime_checkable
class EventInstrument(Protocol):
    """Renders a whole part in one pass (a plugin keeps voices and effects running across notes)."""

    def render_events(self, events: Sequence[NoteEvent], duration_s: float, sample_rate: int) -> np.ndarray:
        """``[frames, 2]`` float audio of ``duration_s`` seconds with ``events`` played in it."""
        ...


#: Makes the instrument for a text prompt (e.g. the built-in neural instrument for "808 bass").
VoiceFactory = Callable[[str], Instrument]


class PluginLoadError(ValueError):
    """A plugin file exists but cannot be used (not a VST3, fails to load, not an instrument)."""


# ------------------------------------------------------------------------------------- drum kits


class DrumKit:
    """A drum instrument made of one voice per drum sound.

    ``make_voice(prompt)`` is called once per sound the part uses, with ``style`` in front of
    the sound's words (``"dusty lofi kick"``); the voice then plays the sound's pitch at the
    note's velocity and duration. Notes outside the General MIDI map play a percussion hit.
    """

    def __init__(self, make_voice: VoiceFactory, style: str = "") -> None:
        self._make_voice = make_voice
        self.style = " ".join(style.split())
        self._voices: dict[str, Instrument] = {}
        self._lock = threading.Lock()

    def prompt_for(self, note: int) -> str:
        return f"{self.style} {drum_sound(note).name}".strip()

    def voice(self, note: int) -> Instrument:
        prompt = self.prompt_for(note)
        with self._lock:
            if prompt not in self._voices:
                self._voices[prompt] = self._make_voice(prompt)
            return self._voices[prompt]

    def render_note(self, pitch: int, velocity: int, duration_s: float, sample_rate: int) -> np.ndarray:
        return self.voice(pitch).render_note(drum_sound(pitch).pitch, velocity, duration_s, sample_rate)


# ------------------------------------------------------------------------------------------ VST3


def _quiet_dpf_parameters() -> None:
    """Make pedalboard skip DPF's 2080 "MIDI Ch. n CC m" parameters of VST3 instruments.

    pedalboard probes every parameter's value texts when it loads a plugin; for a DPF
    instrument that takes about 27 s here, against 0.3 s without them. pedalboard already
    skips JUCE's own MIDI CC parameters through this (private) list; if a pedalboard release
    drops it, loading is only slower.
    """
    try:
        from pedalboard import _pedalboard

        ignored = _pedalboard.PARAMETER_NAME_REGEXES_TO_IGNORE
    except (ImportError, AttributeError):
        return
    if not any(getattr(p, "pattern", "") == _DPF_CC_PATTERN.pattern for p in ignored):
        ignored.add(_DPF_CC_PATTERN)


_DPF_CC_PATTERN = re.compile(r"MIDI Ch\. \d+ CC \d+")


class VST3Instrument:
    """A VST3 instrument plugin playing parts through pedalboard.

    Args:
        path: the ``.vst3`` bundle.
        parameters: plugin parameters to set, by pedalboard's snake_case names.
        channel: MIDI channel (0-based) the notes are sent on; 9 for General MIDI drums.
        initialization_timeout_s: see :data:`DEFAULT_INITIALIZATION_TIMEOUT_S`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PluginLoadError: the file is not a loadable VST3 instrument, or a parameter is unknown
            or out of range (the message names it and lists the valid names).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        parameters: Mapping[str, float | bool | str] | None = None,
        channel: int = 0,
        initialization_timeout_s: float = DEFAULT_INITIALIZATION_TIMEOUT_S,
    ) -> None:
        import pedalboard

        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(2, "no such VST3 instrument", str(self.path))
        if not 0 <= channel <= 15:
            raise ValueError(f"channel must be in [0, 15], got {channel!r}")
        self.channel = channel
        _quiet_dpf_parameters()
        try:
            plugin = pedalboard.load_plugin(str(self.path), initialization_timeout=initialization_timeout_s)
        except (ImportError, RuntimeError, ValueError) as exc:
            detail = " ".join(str(exc).split())
            raise PluginLoadError(f"{self.path} cannot be loaded as a VST3 plugin: {detail}") from None
        if not getattr(plugin, "is_instrument", False):
            raise PluginLoadError(f"{self.path} is an effect, not an instrument; use it with --fx")
        for name, value in (parameters or {}).items():
            set_plugin_parameter(plugin, str(self.path), name, value)
        self._plugin = plugin
        self._lock = threading.Lock()  # one render at a time per plugin instance

    @property
    def name(self) -> str:
        return str(getattr(self._plugin, "name", self.path.stem))

    @property
    def plugin(self) -> object:
        """The pedalboard plugin, for its parameters and state (``raw_state``)."""
        return self._plugin

    def render_events(self, events: Sequence[NoteEvent], duration_s: float, sample_rate: int) -> np.ndarray:
        frames = round(duration_s * sample_rate)
        messages = []
        for event in events:
            # Times are seconds from the buffer start; a quarter sample past the target keeps
            # float rounding from moving an event to the sample before it.
            start = (round(event.start_s * sample_rate) + 0.25) / sample_rate
            stop = (round((event.start_s + event.duration_s) * sample_rate) + 0.25) / sample_rate
            velocity = int(np.clip(event.velocity, 1, 127))
            messages.append(mido.Message("note_on", channel=self.channel, note=event.pitch, velocity=velocity,
                                         time=start))  # fmt: skip
            messages.append(mido.Message("note_off", channel=self.channel, note=event.pitch, velocity=0, time=stop))
        messages.sort(key=lambda m: (m.time, m.type == "note_on"))  # offs first at equal times
        with self._lock:
            audio = self._plugin(messages, duration=frames / sample_rate, sample_rate=sample_rate, num_channels=2,
                                 reset=True)  # fmt: skip
        audio = np.asarray(audio, dtype=np.float32).T
        if audio.shape[0] < frames:
            audio = np.pad(audio, ((0, frames - audio.shape[0]), (0, 0)))
        return audio[:frames]


def set_plugin_parameter(plugin: object, where: str, name: str, value: float | bool | str) -> None:
    """Set one parameter of a pedalboard plugin; errors name the parameter, value and choices."""
    parameters = getattr(plugin, "parameters", {})
    if name not in parameters:
        valid = sorted(k for k in parameters if not k.startswith("midi_ch_"))
        shown = ", ".join(valid[:40]) + (f", ... ({len(valid)} in all)" if len(valid) > 40 else "")
        raise PluginLoadError(f"{where} has no parameter {name!r}; valid: {shown or 'none'}")
    try:
        setattr(plugin, name, value)
    except (ValueError, TypeError) as exc:
        raise PluginLoadError(f"{where}: {name}={value!r} is invalid: {exc}") from None


# ------------------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class InstrumentSpec:
    """``PART=builtin:"prompt"`` or ``PART=path.vst3``, parsed."""

    part: str
    kind: Literal["builtin", "vst3"]
    prompt: str | None = None
    path: Path | None = None

    def __str__(self) -> str:
        if self.kind == "builtin":
            return f'{self.part}=builtin:"{self.prompt}"'
        return f"{self.part}={self.path}"


_PART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.#&+'-]{0,63}")


def parse_instrument_spec(text: str) -> InstrumentSpec:
    """Read ``PART=builtin:"prompt"``, ``PART=builtin:prompt`` or ``PART=/path/to/Plugin.vst3``.

    The path is not checked here (the renderer may run on another machine); see
    :func:`load_instrument`.

    Raises:
        ValueError: naming the text and what a spec looks like.
    """
    example = 'e.g. drums=builtin:"dusty lofi kit" or lead=/path/to/Synth.vst3'
    if not isinstance(text, str):
        raise ValueError(f"an instrument spec must be a string ({example}), got {text!r}")
    part, sep, value = text.partition("=")
    part, value = part.strip(), value.strip()
    if not sep or not part or not value:
        raise ValueError(f"instrument spec {text!r} must look like PART=builtin:\"prompt\" or PART=path.vst3 "
                         f"({example})")  # fmt: skip
    if not _PART_NAME.fullmatch(part):
        raise ValueError(f"instrument spec {text!r}: {part!r} is not a part name (letters, digits, spaces, _ - .)")
    if value.lower().startswith("builtin:"):
        prompt = value[len("builtin:") :].strip()
        if len(prompt) >= 2 and prompt[0] == prompt[-1] and prompt[0] in "\"'":
            prompt = prompt[1:-1].strip()
        if not prompt:
            raise ValueError(f"instrument spec {text!r}: the builtin instrument needs a prompt ({example})")
        return InstrumentSpec(part, "builtin", prompt=prompt)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if not value.rstrip("/").lower().endswith(".vst3"):
        raise ValueError(
            f'instrument spec {text!r}: {value!r} is neither builtin:"prompt" nor a .vst3 plugin path ({example})'
        )
    return InstrumentSpec(part, "vst3", path=Path(value).expanduser())


class PluginHost(Protocol):
    """Where VST3 instruments are loaded: ``plugin_host.sandbox.PluginSandbox`` in the daemon."""

    def instrument(self, path: str | Path, *, channel: int = 0) -> EventInstrument: ...


def load_instrument(
    spec: InstrumentSpec,
    *,
    role: str | None = None,
    make_voice: VoiceFactory | None = None,
    make_kit: VoiceFactory | None = None,
    host: PluginHost | None = None,
) -> Instrument | EventInstrument:
    """The instrument a spec names, for a part playing ``role``.

    A builtin spec for the drums role becomes ``make_kit(prompt)`` (by default a
    :class:`DrumKit` of ``make_voice`` voices styled by the prompt); any other builtin spec is
    ``make_voice(prompt)``. A VST3 for drums gets its notes on MIDI channel 10; it is loaded by
    ``host`` when given (the daemon's sandbox), else in this process.

    Raises:
        ValueError: a builtin spec but no ``make_voice`` (no built-in instrument available).
        FileNotFoundError, PluginLoadError: see :class:`VST3Instrument`.
    """
    if spec.kind == "builtin":
        if make_voice is None:
            raise ValueError(f"{spec}: the built-in instrument is not available here")
        assert spec.prompt is not None
        if role == "drums":
            return make_kit(spec.prompt) if make_kit is not None else DrumKit(make_voice, spec.prompt)
        return make_voice(spec.prompt)
    assert spec.path is not None
    channel = DRUM_CHANNEL if role == "drums" else 0
    if host is not None:
        return host.instrument(spec.path, channel=channel)
    return VST3Instrument(spec.path, channel=channel)
