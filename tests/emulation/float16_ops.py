"""numpy implementations of ONNX operators for the float16 emulation (emulate_float16.py).

Written from the ONNX operator specification, independently of the C++ evaluator, so that the
two can check each other. Every function takes its inputs as numpy arrays of their stored type
(float16 stays float16) plus the node's attributes, and returns its outputs computed in float32:
the caller rounds each result to the output's element type once (see emulate_float16.py). The
float16 contract lives in `f32`: a float16 input is widened exactly to float32 before any
arithmetic, and nothing here rounds to float16.
"""
import math

import numpy as np

FLOAT16 = np.dtype(np.float16)

# The type sums and dot products accumulate in: None, the compute type (float32 for float16, as
# the evaluator); float64 makes this an implementation with another accumulation order and
# precision (each result rounded once to float32, then to the stored type), which is what a
# second faithful float16 runtime (a GPU) is to the evaluator. Set with set_accumulator().
ACCUMULATOR = None


def set_accumulator(dtype):
    global ACCUMULATOR
    ACCUMULATOR = None if dtype is None else np.dtype(dtype)


def _acc(x):
    """x in the accumulation type (itself when none is set)."""
    return x if ACCUMULATOR is None else x.astype(ACCUMULATOR)


def _dot(a, b):
    """np.matmul(a, b) accumulated in the accumulation type, returned in a's compute type."""
    return np.matmul(_acc(a), _acc(b)).astype(a.dtype)


def _sum(x, axis, keepdims=False):
    return x.sum(axis=axis, keepdims=keepdims, dtype=ACCUMULATOR or x.dtype).astype(x.dtype)


def _mean(x, axis, keepdims=False):
    return x.mean(axis=axis, keepdims=keepdims, dtype=ACCUMULATOR or x.dtype).astype(x.dtype)


def f32(x):
    """A float16 array widened (exactly) to float32; other float types unchanged."""
    return x.astype(np.float32) if x.dtype == FLOAT16 else x


def compute_type(x):
    """The arithmetic type of a stored type: float32 for float16 (the contract), else itself."""
    return np.dtype(np.float32) if x.dtype == FLOAT16 else x.dtype


# ---- elementwise -------------------------------------------------------------------------

def _erf(x):
    # numpy has no erf: math.erf in double, rounded to the compute type (float32).
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)


def _sigmoid(x):
    one = x.dtype.type(1)
    return one / (one + np.exp(-x))


UNARY = {
    "Relu": lambda x: np.maximum(x, x.dtype.type(0)),
    "Neg": np.negative,
    "Abs": np.abs,
    "Sqrt": np.sqrt,
    "Exp": np.exp,
    "Log": np.log,
    "Tanh": np.tanh,
    "Erf": _erf,
    "Sigmoid": _sigmoid,
    "Reciprocal": lambda x: x.dtype.type(1) / x,
    "Identity": lambda x: x,
    "Not": np.logical_not,
}

BINARY = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Max": np.maximum,
    "Min": np.minimum,
}

COMPARISON = {
    "Greater": np.greater,
    "Less": np.less,
    "Equal": np.equal,
    "GreaterOrEqual": np.greater_equal,
    "LessOrEqual": np.less_equal,
}


def unary(op, inputs, attrs):
    return [UNARY[op](f32(inputs[0]))]


def binary(op, inputs, attrs):
    return [BINARY[op](f32(inputs[0]), f32(inputs[1]))]


def comparison(op, inputs, attrs):
    return [COMPARISON[op](f32(inputs[0]), f32(inputs[1]))]


def pow_(op, inputs, attrs):
    base = f32(inputs[0])
    # Y may have its own type (opset 12+); the result has X's type, computed in X's compute type.
    return [np.power(base, f32(inputs[1]).astype(base.dtype))]


def where(op, inputs, attrs):
    return [np.where(inputs[0], inputs[1], inputs[2])]


# ---- matrix products ---------------------------------------------------------------------

def clip(op, inputs, attrs):
    x = f32(inputs[0])
    t = x.dtype.type
    low = f32(inputs[1]) if len(inputs) > 1 and inputs[1] is not None else t(attrs.get("min", -np.inf))
    high = f32(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else t(attrs.get("max", np.inf))
    return [np.minimum(np.maximum(x, low), high)]


def hard_sigmoid(op, inputs, attrs):
    x = f32(inputs[0])
    t = x.dtype.type
    return [np.clip(t(attrs.get("alpha", 0.2)) * x + t(attrs.get("beta", 0.5)), t(0), t(1))]


def matmul(op, inputs, attrs):
    return [_dot(f32(inputs[0]), f32(inputs[1]))]


def gemm(op, inputs, attrs):
    a, b = f32(inputs[0]), f32(inputs[1])
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    t = a.dtype.type
    y = t(attrs.get("alpha", 1.0)) * _dot(a, b)
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + t(attrs.get("beta", 1.0)) * f32(inputs[2])
    return [y]


# ---- convolution and pooling (N, C, spatial...) ------------------------------------------

def _spatial_attrs(attrs, kernel, rank):
    strides = attrs.get("strides", [1] * rank)
    dilations = attrs.get("dilations", [1] * rank)
    pads = attrs.get("pads", [0] * (2 * rank))
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    return strides, dilations, pads


def _windows(x, kernel, strides, dilations, pads, fill):
    """x padded with `fill`, then every window as x[n, c, out..., k...]."""
    rank = len(kernel)
    pad_width = [(0, 0), (0, 0)] + [(pads[i], pads[i + rank]) for i in range(rank)]
    padded = np.pad(x, pad_width, constant_values=fill)
    out_sizes = [
        (padded.shape[2 + i] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1 for i in range(rank)
    ]
    windows = np.empty(x.shape[:2] + tuple(out_sizes) + tuple(kernel), dtype=x.dtype)
    for k in np.ndindex(*kernel):
        index = [slice(None), slice(None)]
        for i in range(rank):
            start = k[i] * dilations[i]
            index.append(slice(start, start + strides[i] * (out_sizes[i] - 1) + 1, strides[i]))
        windows[(Ellipsis,) + tuple(k)] = padded[tuple(index)]
    return windows


def conv(op, inputs, attrs):
    x, w = f32(inputs[0]), f32(inputs[1])
    rank = x.ndim - 2
    kernel = list(w.shape[2:])
    strides, dilations, pads = _spatial_attrs(attrs, kernel, rank)
    group = attrs.get("group", 1)
    win = _windows(x, kernel, strides, dilations, pads, 0)  # n, c, out..., k...
    n, c = x.shape[:2]
    out_spatial = win.shape[2:2 + rank]
    m = w.shape[0]
    cg, mg = c // group, m // group
    y = np.empty((n, m) + out_spatial, dtype=x.dtype)
    for g in range(group):
        # [n, out..., cg * k...] x [cg * k..., mg]: each output a float32 dot product.
        cols = np.moveaxis(win[:, g * cg:(g + 1) * cg], 1, 1 + rank).reshape(n, *out_spatial, -1)
        weights = w[g * mg:(g + 1) * mg].reshape(mg, -1).T
        y[:, g * mg:(g + 1) * mg] = np.moveaxis(_dot(cols, weights), -1, 1)
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + f32(inputs[2]).reshape((1, m) + (1,) * rank)
    return [y]


def conv_transpose(op, inputs, attrs):
    """ConvTranspose for group 1 and dilation 1, 2-D: each kernel tap scatters one dot product."""
    x, w = f32(inputs[0]), f32(inputs[1])
    if attrs.get("group", 1) != 1 or any(d != 1 for d in attrs.get("dilations", [1, 1])) or x.ndim != 4:
        raise NotImplementedError("ConvTranspose beyond group 1, dilation 1, 2-D")
    if attrs.get("output_padding") or attrs.get("output_shape") or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("ConvTranspose output_padding/output_shape/auto_pad")
    n, c, h, wd = x.shape
    m, (kh, kw) = w.shape[1], w.shape[2:]
    sh, sw = attrs.get("strides", [1, 1])
    pads = attrs.get("pads", [0, 0, 0, 0])
    full = np.zeros((n, m, (h - 1) * sh + kh, (wd - 1) * sw + kw), dtype=x.dtype)
    cols = np.moveaxis(x, 1, -1)  # n, h, w, c
    for i in range(kh):
        for j in range(kw):
            # Taps of one output pixel never overlap when stride >= kernel; otherwise they add up
            # in float32 here, one tap after another.
            full[:, :, i:i + (h - 1) * sh + 1:sh, j:j + (wd - 1) * sw + 1:sw] += np.moveaxis(_dot(cols, w[:, :, i, j]), -1, 1)
    y = full[:, :, pads[0]:full.shape[2] - pads[2], pads[1]:full.shape[3] - pads[3]]
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + f32(inputs[2]).reshape(1, m, 1, 1)
    return [y]


def resize(op, inputs, attrs):
    """Resize, nearest mode with asymmetric coordinates and floor rounding (what the tests' models use)."""
    x = inputs[0]
    mode = attrs.get("mode", b"nearest")
    ctm = attrs.get("coordinate_transformation_mode", b"half_pixel")
    rounding = attrs.get("nearest_mode", b"round_prefer_floor")
    if (mode, ctm, rounding) != (b"nearest", b"asymmetric", b"floor"):
        raise NotImplementedError(f"Resize {mode}/{ctm}/{rounding}")
    scales = inputs[2] if len(inputs) > 2 and inputs[2] is not None and inputs[2].size else None
    sizes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else None
    out = [int(d) for d in sizes] if sizes is not None else [int(np.floor(d * s)) for d, s in zip(x.shape, scales)]
    if scales is None:
        scales = [o / d for o, d in zip(out, x.shape)]
    index = tuple(np.minimum(np.floor(np.arange(o) / np.float32(s)).astype(np.int64), d - 1).reshape(
        [-1 if a == axis else 1 for a in range(x.ndim)]) for axis, (o, s, d) in enumerate(zip(out, scales, x.shape)))
    return [f32(x)[index]]


def max_pool(op, inputs, attrs):
    x = f32(inputs[0])
    kernel = attrs["kernel_shape"]
    strides, dilations, pads = _spatial_attrs(attrs, kernel, len(kernel))
    win = _windows(x, kernel, strides, dilations, pads, -np.inf)
    return [win.reshape(win.shape[:2 + len(kernel)] + (-1,)).max(axis=-1)]


def average_pool(op, inputs, attrs):
    x = f32(inputs[0])
    kernel = attrs["kernel_shape"]
    strides, dilations, pads = _spatial_attrs(attrs, kernel, len(kernel))
    win = _windows(x, kernel, strides, dilations, pads, np.nan)
    flat = win.reshape(win.shape[:2 + len(kernel)] + (-1,))
    valid = ~np.isnan(flat)
    total = _sum(np.where(valid, flat, x.dtype.type(0)), axis=-1)
    if attrs.get("count_include_pad", 0):
        count = x.dtype.type(flat.shape[-1])
    else:
        count = valid.sum(axis=-1).astype(x.dtype)
    return [total / count]


def global_average_pool(op, inputs, attrs):
    x = f32(inputs[0])
    axes = tuple(range(2, x.ndim))
    return [_mean(x, axis=axes, keepdims=True)]


# ---- normalisations ----------------------------------------------------------------------

def softmax(op, inputs, attrs):
    x = f32(inputs[0])
    axis = attrs.get("axis", -1)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [e / _sum(e, axis=axis, keepdims=True)]


def layer_normalization(op, inputs, attrs):
    x = f32(inputs[0])
    axis = attrs.get("axis", -1) % x.ndim
    axes = tuple(range(axis, x.ndim))
    eps = x.dtype.type(attrs.get("epsilon", 1e-5))
    mean = _mean(x, axis=axes, keepdims=True)
    centred = x - mean
    variance = _mean(centred * centred, axis=axes, keepdims=True)
    y = centred / np.sqrt(variance + eps) * f32(inputs[1])
    if len(inputs) > 2 and inputs[2] is not None:
        y = y + f32(inputs[2])
    return [y]


def batch_normalization(op, inputs, attrs):
    x = f32(inputs[0])
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale, bias, mean, var = (f32(t).reshape(shape) for t in inputs[1:5])
    eps = x.dtype.type(attrs.get("epsilon", 1e-5))
    return [(x - mean) / np.sqrt(var + eps) * scale + bias]


# ---- reductions --------------------------------------------------------------------------

def _reduce_axes(op, inputs, attrs, x, opset):
    # ReduceSum takes axes as an input from opset 13, the others from opset 18.
    axes_as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    if axes_as_input:
        axes = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
        axes = None if axes is None or axes.size == 0 else [int(a) for a in axes]
    else:
        axes = attrs.get("axes")
    if axes is None:
        if attrs.get("noop_with_empty_axes", 0):
            return ()
        return tuple(range(x.ndim))
    return tuple(a % x.ndim for a in axes)


def reduce(op, inputs, attrs, opset):
    x = f32(inputs[0])
    axes = _reduce_axes(op, inputs, attrs, x, opset)
    keep = bool(attrs.get("keepdims", 1))
    if op == "ReduceSum":
        return [_sum(x, axis=axes, keepdims=keep)]
    if op == "ReduceMean":
        return [_mean(x, axis=axes, keepdims=keep)]
    if op == "ReduceMax":
        return [x.max(axis=axes, keepdims=keep)]
    raise NotImplementedError(op)


# ---- data movement (no arithmetic: float16 stays float16, exactly) -------------------------

def transpose(op, inputs, attrs):
    perm = attrs.get("perm")
    return [np.transpose(inputs[0], perm)]


def reshape(op, inputs, attrs):
    x, shape = inputs[0], [int(d) for d in inputs[1]]
    shape = [x.shape[i] if d == 0 and not attrs.get("allowzero", 0) else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


def concat(op, inputs, attrs):
    return [np.concatenate(inputs, axis=attrs["axis"])]


def slice_(op, inputs, attrs):
    x = inputs[0]
    if len(inputs) == 1:  # Slice-1: starts, ends and axes are attributes, no steps
        starts, ends = attrs["starts"], attrs["ends"]
        axes = attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = inputs[1], inputs[2]
        axes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else np.arange(len(starts))
        steps = inputs[4] if len(inputs) > 4 and inputs[4] is not None else np.ones(len(starts), np.int64)
    index = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        index[int(a) % x.ndim] = slice(int(s), int(e), int(st))
    return [x[tuple(index)]]


def gather(op, inputs, attrs):
    return [np.take(inputs[0], inputs[1], axis=attrs.get("axis", 0))]


def unsqueeze(op, inputs, attrs):
    axes = [int(a) for a in (inputs[1] if len(inputs) > 1 else attrs["axes"])]  # an attribute before opset 13
    return [np.expand_dims(inputs[0], [a % (inputs[0].ndim + len(axes)) for a in axes])]


def squeeze(op, inputs, attrs):
    axes = inputs[1] if len(inputs) > 1 and inputs[1] is not None else attrs.get("axes")  # an attribute before 13
    if axes is None:
        return [np.squeeze(inputs[0])]
    return [np.squeeze(inputs[0], axis=tuple(int(a) % inputs[0].ndim for a in axes))]


def range_(op, inputs, attrs):
    start, limit, delta = (np.asarray(x).reshape(()) for x in inputs[:3])
    return [np.arange(start, limit, delta).astype(start.dtype)]


def shape(op, inputs, attrs):
    dims = inputs[0].shape
    rank = len(dims)

    def bound(axis):  # opset 15's start / end: negative from the back, then clamped to [0, rank]
        return min(max(axis + rank if axis < 0 else axis, 0), rank)

    return [np.array(dims[bound(attrs.get("start", 0)):bound(attrs.get("end", rank))], dtype=np.int64)]


def size(op, inputs, attrs):
    return [np.array(inputs[0].size, dtype=np.int64)]


def constant_of_shape(op, inputs, attrs):
    value = attrs.get("value")
    fill = np.zeros(1, np.float32) if value is None else value  # a one-element array (the caller converts)
    return [np.full([int(d) for d in inputs[0]], fill.reshape(()), dtype=fill.dtype)]


def pad(op, inputs, attrs, opset):
    """Pad in constant, reflect and edge modes; the padded values keep their stored type."""
    x = inputs[0]
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if opset < 11:
        pads, value, axes = attrs["pads"], attrs.get("value", 0.0), None
    else:
        pads = [int(p) for p in inputs[1]]
        value = inputs[2].reshape(()) if len(inputs) > 2 and inputs[2] is not None and inputs[2].size else 0
        axes = [int(a) % x.ndim for a in inputs[3]] if len(inputs) > 3 and inputs[3] is not None else None
    axes = list(range(x.ndim)) if axes is None else axes
    width = [(0, 0)] * x.ndim
    for i, axis in enumerate(axes):
        width[axis] = (int(pads[i]), int(pads[i + len(axes)]))
    if any(before < 0 or after < 0 for before, after in width):
        raise NotImplementedError("Pad with negative pads")
    if mode == "constant":
        return [np.pad(x, width, mode="constant", constant_values=np.asarray(value).astype(x.dtype))]
    if mode in ("reflect", "edge"):  # ONNX's reflect mirrors without repeating the edge, as numpy's
        return [np.pad(x, width, mode=mode)]
    raise NotImplementedError(f"Pad mode {mode}")


def split(op, inputs, attrs, opset, output_count):
    x = inputs[0]
    axis = attrs.get("axis", 0) % x.ndim
    if opset >= 13:
        sizes = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
    else:
        sizes = attrs.get("split")
    if sizes is None:  # equal parts, the last one smaller when it does not divide (opset 18)
        part = -(-x.shape[axis] // output_count)
        sizes = [min(part, x.shape[axis] - i * part) for i in range(output_count)]
    bounds = np.cumsum([int(s) for s in sizes])[:-1]
    return np.split(x, bounds, axis=axis)


# ---- recurrent -----------------------------------------------------------------------------

def lstm(op, inputs, attrs):
    """LSTM with the default activations (sigmoid, tanh, tanh), forward, reverse or
    bidirectional, sequence-first layout, every sequence of full length. The whole recurrence
    runs in the compute type: the hidden and cell states carried from step to step are not
    rounded, only Y / Y_h / Y_c when they are stored (the contract: one rounding per value a
    node writes)."""
    padded = list(inputs) + [None] * (8 - len(inputs))
    x, w, r, b, lengths, h0, c0, peep = (None if t is None else f32(t) if t.dtype == FLOAT16 else t for t in padded)
    if attrs.get("activations") not in (None, [b"Sigmoid", b"Tanh", b"Tanh"] * (w.shape[0])):
        raise NotImplementedError("LSTM activations other than the defaults")
    if attrs.get("layout", 0) or attrs.get("input_forget", 0) or "clip" in attrs:
        raise NotImplementedError("LSTM layout / input_forget / clip")
    steps, batch = x.shape[:2]
    if lengths is not None and np.any(lengths != steps):
        raise NotImplementedError("LSTM with sequences shorter than the input")
    directions, hidden = w.shape[0], w.shape[1] // 4
    direction = attrs.get("direction", b"forward")
    reverse_first = direction in (b"reverse", "reverse")
    y = np.empty((steps, directions, batch, hidden), dtype=x.dtype)
    y_h = np.empty((directions, batch, hidden), dtype=x.dtype)
    y_c = np.empty((directions, batch, hidden), dtype=x.dtype)
    for d in range(directions):
        bias = np.zeros(4 * hidden, x.dtype) if b is None else b[d, :4 * hidden] + b[d, 4 * hidden:]
        p = np.zeros(3 * hidden, x.dtype) if peep is None else peep[d]
        h = np.zeros((batch, hidden), x.dtype) if h0 is None else h0[d]
        c = np.zeros((batch, hidden), x.dtype) if c0 is None else c0[d]
        order = range(steps - 1, -1, -1) if (d == 1 or reverse_first) else range(steps)
        for step in order:
            gates = _dot(x[step], w[d].T) + _dot(h, r[d].T) + bias
            i, o, f, g = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
            i = _sigmoid(i + p[:hidden] * c)
            f = _sigmoid(f + p[2 * hidden:] * c)
            c = f * c + i * np.tanh(g)
            o = _sigmoid(o + p[hidden:2 * hidden] * c)
            h = o * np.tanh(c)
            y[step, d] = h
        y_h[d], y_c[d] = h, c
    return [y, y_h, y_c]


def flatten(op, inputs, attrs):
    x = inputs[0]
    axis = attrs.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
    return [x.reshape(int(np.prod(x.shape[:axis])), -1)]
