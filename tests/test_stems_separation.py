"""Stem separation's numpy side: STFT, chunked overlap-add, resampling, client-side blocks.

Fake models stand in for the network here (no onnxruntime, no weights), so these tests pin
the geometry: stems sum to the mixture, lengths and rates are kept, chunk seams do not show,
cancellation stops between segments.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from promptdaw.runtime.separation import (
    SOURCES,
    Geometry,
    count_segments,
    istft,
    iter_blocks,
    iter_separate,
    separate_array,
    stft,
    to_stereo,
)
from promptdaw.runtime.separation.blocks import CrossFader, plan_blocks

SMALL = Geometry(chunk_frames=64, overlap_frames=16)  # 0.74 s chunks: many seams in a few seconds


def random_masks(magnitude: np.ndarray) -> np.ndarray:
    """Masks that depend on nothing: worst case for seams, still summing to one."""
    m = np.random.default_rng(magnitude.shape[-1]).random((1, len(SOURCES), *magnitude.shape[1:]))
    return (m / m.sum(axis=1, keepdims=True)).astype(np.float32)


def pointwise_masks(magnitude: np.ndarray) -> np.ndarray:
    """Masks from each bin's own magnitude and frequency: the same wherever a chunk starts."""
    log_mag = np.log1p(magnitude)[:, None]  # [1, 1, 2, bins, frames]
    bins = np.arange(magnitude.shape[2], dtype=np.float32)[None, None, None, :, None] / magnitude.shape[2]
    bins = np.broadcast_to(bins, log_mag.shape)
    logits = np.concatenate([log_mag, -log_mag, 4 * bins, -4 * bins], axis=1)
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def noise(n: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal((n, channels))).astype(np.float32)


def band_limited(n: int, rate: int, channels: int, cutoff_hz: float, seed: int = 0) -> np.ndarray:
    spec = np.fft.rfft(noise(n, channels, seed), axis=0)
    spec[np.fft.rfftfreq(n, 1 / rate) > cutoff_hz] = 0
    return np.fft.irfft(spec, n=n, axis=0).astype(np.float32)


def residual_db(mix: np.ndarray, stems: np.ndarray) -> float:
    residual = mix - stems.sum(axis=0)
    ratio = np.square(residual, dtype=np.float64).sum() / np.square(mix, dtype=np.float64).sum()
    return 10 * np.log10(ratio + 1e-30)


def test_stft_round_trip_and_shape() -> None:
    x = noise(50_000).T
    spec = stft(x, 2048, 512)
    assert spec.shape == (2, 1025, 1 + 50_000 // 512) and spec.dtype == np.complex64
    np.testing.assert_allclose(istft(spec, 2048, 512, 50_000), x, atol=2e-6)


def test_stft_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    x = noise(30_000, 1)[:, 0]
    expected = torch.stft(torch.from_numpy(x), 2048, 512, window=torch.hann_window(2048), center=True,
                          pad_mode="constant", return_complex=True).numpy()  # fmt: skip
    np.testing.assert_allclose(stft(x, 2048, 512), expected, atol=1e-4)


@pytest.mark.parametrize(
    "n", [1, 1000, SMALL.chunk_samples - 1, SMALL.chunk_samples, SMALL.chunk_samples + 1, 5 * SMALL.chunk_samples + 7]
)
def test_stems_sum_to_the_mixture_at_any_length(n: int) -> None:
    mix = noise(n)
    stems = separate_array(mix, 44100, random_masks, geometry=SMALL)
    assert stems.shape == (4, n, 2) and stems.dtype == np.float32
    assert residual_db(mix, stems) < -120


def test_mono_and_multichannel_become_stereo() -> None:
    mono = noise(20_000, 1)
    stems = separate_array(mono, 44100, random_masks, geometry=SMALL)
    np.testing.assert_allclose(stems.sum(axis=0), np.repeat(mono, 2, axis=1), atol=1e-5)
    same = separate_array(mono, 44100, pointwise_masks, geometry=SMALL)
    np.testing.assert_array_equal(same[..., 0], same[..., 1])  # a model sees two identical channels
    five = noise(20_000, 5)
    stems = separate_array(five, 44100, random_masks, geometry=SMALL)
    np.testing.assert_allclose(stems.sum(axis=0), to_stereo(five), atol=1e-5)
    np.testing.assert_allclose(to_stereo(five)[:, 0], five.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize(("rate", "channels"), [(48000, 1), (22050, 2), (96000, 2), (8000, 1)])
def test_other_rates_come_back_at_their_rate_and_length(rate: int, channels: int) -> None:
    n = int(rate * 3.3) + 5
    mix = band_limited(n, rate, channels, cutoff_hz=0.8 * min(rate, 44100) / 2)
    stems = separate_array(mix, rate, random_masks, geometry=SMALL)
    assert stems.shape == (4, n, 2)
    assert residual_db(to_stereo(mix), stems) < -45  # two band-limited resamplings in between


def test_chunk_seams_do_not_show() -> None:
    """A model that is the same everywhere gives nearly the same stems whatever the chunking."""
    mix = noise(8 * SMALL.chunk_samples)
    chunked = separate_array(mix, 44100, pointwise_masks, geometry=SMALL)
    whole = separate_array(mix, 44100, pointwise_masks, geometry=Geometry(chunk_frames=1024, overlap_frames=128))
    for k in range(4):
        error = np.square(chunked[k] - whole[k]).sum() / np.square(whole[k]).sum()
        assert 10 * np.log10(error) < -40, (SOURCES[k], error)


def test_progress_counts_segments_and_can_stop_the_work() -> None:
    mix = noise(6 * SMALL.chunk_samples)
    calls: list[tuple[int, int]] = []
    separate_array(mix, 44100, random_masks, geometry=SMALL, progress=lambda d, t: calls.append((d, t)))
    total = count_segments(mix.shape[0], SMALL)
    assert calls == [(k, total) for k in range(1, total + 1)] and total > 6

    model_calls = []

    def counting_model(magnitude: np.ndarray) -> np.ndarray:
        model_calls.append(1)
        return random_masks(magnitude)

    def stop(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt("cancelled")

    with pytest.raises(KeyboardInterrupt):
        separate_array(mix, 44100, counting_model, geometry=SMALL, progress=stop)
    assert len(model_calls) == 2  # stopped between segments, not at the end


def test_streaming_input_blocks_of_any_size_give_the_same_stems() -> None:
    mix = noise(3 * SMALL.chunk_samples + 123)
    reference = separate_array(mix, 44100, pointwise_masks, geometry=SMALL)
    for size in (1, 777, 100_000):
        if size == 1:
            blocks = iter_blocks(mix[:5000], 1)  # frame by frame, on a short piece
            expected = separate_array(mix[:5000], 44100, pointwise_masks, geometry=SMALL)
            total = 5000
        else:
            blocks, expected, total = iter_blocks(mix, size), reference, mix.shape[0]
        out = np.concatenate(list(iter_separate(blocks, 44100, total, pointwise_masks, geometry=SMALL)), axis=1)
        np.testing.assert_allclose(out, expected, atol=1e-6)


def test_model_output_of_the_wrong_shape_is_an_error() -> None:
    with pytest.raises(ValueError, match="masks of shape"):
        separate_array(noise(1000), 44100, lambda m: np.ones((1, 3, *m.shape[1:]), np.float32))


def test_geometry_validation() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        Geometry(chunk_frames=100)
    with pytest.raises(ValueError, match="overlap_frames"):
        Geometry(chunk_frames=64, overlap_frames=40)
    window = {"n_fft": 2048, "hop": 512, "chunk_frames": 256, "overlap_frames": 32, "sources": list(SOURCES)}
    assert Geometry.from_manifest_window(window).chunk_samples == 255 * 512


def test_client_blocks_cross_fade_back_to_the_signal() -> None:
    signal = noise(10_000, 2)[None].repeat(4, axis=0)  # four identical "stems"
    blocks = plan_blocks(10_000, 3000, 500)
    assert blocks[0].start == 0 and blocks[-1].stop == 10_000
    assert all(b.start == a.stop - 500 for a, b in itertools.pairwise(blocks))
    fader = CrossFader(500)
    out = np.concatenate(
        [f for b in blocks for f in fader.add(b, signal[:, b.start : b.stop], last=b is blocks[-1])], axis=1
    )
    np.testing.assert_allclose(out, signal, atol=1e-6)
    assert plan_blocks(0, 3000, 500) == [] and len(plan_blocks(3000, 3000, 500)) == 1
    with pytest.raises(ValueError, match="overlap_frames"):
        plan_blocks(10_000, 1000, 600)
