"""``BandUNet``: a small band-split U-Net that predicts four soft masks from stereo magnitudes.

Input ``magnitude [batch, 2, 1025, frames]`` (|STFT| of a stereo mix at 44.1 kHz, n_fft 2048,
hop 512); output ``masks [batch, 4, 2, 1025, frames]`` in ``ROLES`` order, non-negative and
summing to one over the four sources (a softmax), so the masked stems always add back up to
the mixture: the Wiener-like normalisation is built into the network.

Layout, in the spirit of band-split separators:

1. **Band split**: the 1024 bins below Nyquist are cut into 80 bands, 4 bins wide below
   2.8 kHz and widening to 32 bins above 11 kHz (``BAND_LAYOUT``); each band has its own
   linear projection of its (log-compressed) stereo bins to ``widths[0]`` features.
2. **U-Net over (band, time)**: ConvNeXt-style residual blocks (depthwise 3x3 over band and
   time, dilated in time, then a pointwise MLP), three 2x2 down-samplings in band and time
   with skip connections. Normalisation is BatchNorm (an affine map at inference), so the
   network has no state across time: chunked inference only needs enough context.
3. **Band merge**: each band has its own linear map back to ``4 sources x 2 channels x
   band width`` logits, softmaxed over sources; the Nyquist bin copies the mask of bin 1023.

Every constructor argument is recorded in ``self.config`` (used by export and checkpoints).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BAND_LAYOUT", "DEFAULT_CONFIG", "BandUNet"]

#: (first bin, end bin, band width) regions covering bins 0..1023 at 44.1 kHz / n_fft 2048.
BAND_LAYOUT = ((0, 128, 4), (128, 256, 8), (256, 512, 16), (512, 1024, 32))
DEFAULT_CONFIG = {
    "n_bins": 1025,
    "channels": 2,
    "sources": 4,
    "widths": (16, 32, 64, 128),
    "blocks": (1, 1, 2, 2),
    "band_layout": BAND_LAYOUT,
}


class _Block(nn.Module):
    """Depthwise 3x3 (dilated in time) -> BatchNorm -> pointwise MLP, residual."""

    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(width, width, 3, padding=(1, dilation), dilation=(1, dilation), groups=width)
        self.norm = nn.BatchNorm2d(width)
        self.expand = nn.Conv2d(width, 2 * width, 1)
        self.project = nn.Conv2d(2 * width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(F.gelu(self.expand(self.norm(self.depthwise(x)))))


class _BandLinear(nn.Module):
    """Per-band linear maps for one region of equal-width bands, as a grouped 1x1 convolution."""

    def __init__(self, n_bands: int, d_in: int, d_out: int) -> None:
        super().__init__()
        self.n_bands = n_bands
        self.conv = nn.Conv1d(n_bands * d_in, n_bands * d_out, 1, groups=n_bands)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, bands * d_in, T] -> [B, bands * d_out, T]
        return self.conv(x)


class BandUNet(nn.Module):
    def __init__(
        self,
        n_bins: int = 1025,
        channels: int = 2,
        sources: int = 4,
        widths: tuple[int, ...] = (16, 32, 64, 128),
        blocks: tuple[int, ...] = (1, 1, 2, 2),
        band_layout: tuple[tuple[int, int, int], ...] = BAND_LAYOUT,
    ) -> None:
        super().__init__()
        self.config = {"n_bins": n_bins, "channels": channels, "sources": sources, "widths": tuple(widths),
                       "blocks": tuple(blocks), "band_layout": tuple(tuple(r) for r in band_layout)}  # fmt: skip
        if band_layout[-1][1] != n_bins - 1:
            raise ValueError(f"band_layout must cover bins 0..{n_bins - 2}, ends at {band_layout[-1][1]}")
        self.n_bins, self.channels, self.sources = n_bins, channels, sources
        self.layout = [(a, b, w, (b - a) // w) for a, b, w in band_layout]
        self.n_bands = sum(k for *_, k in self.layout)
        d0 = widths[0]
        self.split = nn.ModuleList(_BandLinear(k, channels * w, d0) for _, _, w, k in self.layout)
        self.merge_hidden = nn.ModuleList(_BandLinear(k, d0, d0) for *_, k in self.layout)
        self.merge = nn.ModuleList(_BandLinear(k, d0, sources * channels * w) for _, _, w, k in self.layout)
        self.band_bias = nn.Parameter(torch.zeros(1, d0, self.n_bands, 1))

        def stage(width: int, count: int) -> nn.Sequential:
            return nn.Sequential(*(_Block(width, 2**i) for i in range(count)))

        self.down_blocks = nn.ModuleList(stage(w, n) for w, n in zip(widths[:-1], blocks[:-1], strict=True))
        self.downs = nn.ModuleList(nn.Conv2d(a, b, 2, stride=2) for a, b in itertools.pairwise(widths))
        self.bottom = stage(widths[-1], blocks[-1])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, stride=2) for a, b in itertools.pairwise(widths))
        self.up_blocks = nn.ModuleList(stage(w, max(n // 2, 1)) for w, n in zip(widths[:-1], blocks[:-1], strict=True))
        #: frames must be a multiple of this (one per down-sampling)
        self.time_multiple = 2 ** (len(widths) - 1)
        self.input_scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
        batch, _, _, frames = magnitude.shape
        x = torch.log1p(magnitude * 10.0 * self.input_scale.abs())
        features = []
        for (a, b, w, k), split in zip(self.layout, self.split, strict=True):
            region = x[:, :, a:b, :].reshape(batch, self.channels, k, w, frames)
            region = region.permute(0, 2, 1, 3, 4).reshape(batch, k * self.channels * w, frames)
            features.append(split(region).reshape(batch, k, -1, frames))
        h = torch.cat(features, dim=1).permute(0, 2, 1, 3) + self.band_bias  # [B, D, bands, T]

        skips = []
        for blocks, down in zip(self.down_blocks, self.downs, strict=True):
            h = blocks(h)
            skips.append(h)
            h = down(h)
        h = self.bottom(h)
        for blocks, up, skip in zip(reversed(self.up_blocks), reversed(self.ups), reversed(skips), strict=True):
            h = blocks(up(h) + skip)

        h = h.permute(0, 2, 1, 3)  # [B, bands, D, T]
        logits, start = [], 0
        for (_, _, w, k), hidden, merge in zip(self.layout, self.merge_hidden, self.merge, strict=True):
            band = h[:, start : start + k].reshape(batch, -1, frames)
            start += k
            out = merge(F.gelu(hidden(band))).reshape(batch, k, self.sources, self.channels, w, frames)
            logits.append(out.permute(0, 2, 3, 1, 4, 5).reshape(batch, self.sources, self.channels, k * w, frames))
        logits = torch.cat(logits, dim=3)
        logits = torch.cat([logits, logits[:, :, :, -1:, :]], dim=3)  # Nyquist bin
        # A softmax over sources written out: onnxruntime's Softmax on a non-last axis transposes
        # and was 58 % of the run time; clamping keeps exp finite and changes nothing in practice.
        weights = torch.exp(logits.clamp(-20.0, 20.0))
        return weights / weights.sum(dim=1, keepdim=True)
