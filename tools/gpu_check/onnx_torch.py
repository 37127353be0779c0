"""An ONNX interpreter on PyTorch: runs a float32, float16 or mixed-precision model on a CUDA GPU
the way a GPU runtime does, so that a model onnx-fp16 produced can be checked on real GPU
arithmetic (tests never need this; tools/gpu_check/README.md).

Each ONNX op is one PyTorch call on tensors of the model's own types: a float16 tensor stays
float16 between ops. Conv and ConvTranspose run on cuDNN (with benchmark mode, the algorithm is
chosen by timing, as ONNX Runtime's CUDA provider does by default), MatMul and Gemm on cuBLAS
(float32 accumulation; optionally with cuBLAS's reduced-precision reductions), reductions,
softmax and LayerNormalization with PyTorch's float32 accumulation. Composite element-wise ops
(HardSigmoid, HardSwish, BatchNormalization) are computed in float32 and rounded once.
Ops outside the table raise NotImplementedError naming the node.

Only what the models checked so far need is here (PaddleOCR detector, recognizer and classifier,
a BERT-shaped encoder); add ops to OPS as models need them."""
import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

TORCH_TYPES = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32,
               7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64,
               16: torch.bfloat16}


def configure(reduced_precision_reduction=False, cudnn_benchmark=True):
    """float32 stays float32 (no TF32 anywhere); float16 GEMMs accumulate in float32 unless
    reduced_precision_reduction lets cuBLAS reduce split-K partial sums in float16."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = reduced_precision_reduction
    torch.backends.cudnn.benchmark = cudnn_benchmark


class Interpreter:
    def __init__(self, model: onnx.ModelProto, device="cuda", cpu_accumulation=torch.float32):
        """cpu_accumulation: on the CPU, the type float16 ops are computed in (float64: another
        implementation, with exact-ish accumulation)."""
        self.device = torch.device(device)
        self.cpu_accumulation = cpu_accumulation
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.graph = model.graph
        for node in self.graph.node:
            if node.op_type not in OPS:
                raise NotImplementedError(f"node '{node.name}': op {node.op_type} is not in onnx_torch.OPS")
        self.initializers = {t.name: self.tensor(numpy_helper.to_array(t)) for t in self.graph.initializer}

    def tensor(self, array):
        return torch.from_numpy(np.array(array, copy=True)).to(self.device)

    def run(self, feeds):
        """feeds: name -> numpy array. Returns output name -> numpy array."""
        env = dict(self.initializers)
        for value in self.graph.input:
            if value.name in feeds:
                env[value.name] = self.tensor(feeds[value.name])
        for node in self.graph.node:
            inputs = [env[name] if name else None for name in node.input]
            attrs = {a.name: attribute_value(a) for a in node.attribute}
            try:
                if self.device.type == "cpu" and node.op_type != "Cast":
                    outputs = float16_widened(OPS[node.op_type], self, inputs, attrs)
                else:
                    outputs = OPS[node.op_type](self, inputs, attrs)
            except Exception as error:
                raise RuntimeError(f"node '{node.name}' ({node.op_type}): {error}") from error
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
            for name, value in zip(node.output, outputs):
                if name:
                    env[name] = value
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return {v.name: env[v.name].cpu().numpy() for v in self.graph.output}


def float16_widened(op, ctx, inputs, attrs):
    """On the CPU, where PyTorch lacks float16 kernels for Conv and MatMul: float16 operands are
    widened (to ctx.cpu_accumulation), the op runs there and its float outputs are rounded to
    float16 once (the evaluator's contract, in PyTorch's CPU accumulation order). For checking
    without a GPU. Ops with only float32 operands stay float32."""
    if not any(t is not None and t.dtype == torch.float16 for t in inputs):
        return op(ctx, inputs, attrs)
    wide = ctx.cpu_accumulation
    widened = [t.to(wide) if t is not None and t.dtype in (torch.float16, torch.float32) else t for t in inputs]
    outputs = op(ctx, widened, attrs)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [t.half() if t.dtype == wide else t for t in outputs]


def attribute_value(attribute):
    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return value


def ints(tensor):
    return [int(v) for v in tensor.flatten().tolist()]


def float32_then_round(x, f):
    """f computed in float32 on x, rounded once to x's type (how the evaluator and fused GPU
    kernels compute composite element-wise ops)."""
    return f(x.float()).to(x.dtype)


# ---- element-wise ------------------------------------------------------------------------------

def binary(f):
    return lambda ctx, x, a: f(x[0], x[1])


def divide(ctx, x, a):
    if x[0].is_floating_point():
        return x[0] / x[1]
    return torch.div(x[0], x[1], rounding_mode="trunc")


def clip(ctx, x, a):
    if ctx.opset < 11:
        low, high = a.get("min", -math.inf), a.get("max", math.inf)
    else:
        low = x[1].item() if len(x) > 1 and x[1] is not None else -math.inf
        high = x[2].item() if len(x) > 2 and x[2] is not None else math.inf
    return torch.clamp(x[0], min=low, max=high)


def hard_sigmoid(ctx, x, a):
    alpha, beta = a.get("alpha", 0.2), a.get("beta", 0.5)
    return float32_then_round(x[0], lambda v: torch.clamp(v * alpha + beta, 0.0, 1.0))


def hard_swish(ctx, x, a):
    return float32_then_round(x[0], lambda v: v * torch.clamp(v / 6.0 + 0.5, 0.0, 1.0))


def leaky_relu(ctx, x, a):
    return F.leaky_relu(x[0], a.get("alpha", 0.01))


def batch_norm(ctx, x, a):
    data, scale, bias, mean, var = x[:5]
    eps = a.get("epsilon", 1e-5)
    return float32_then_round(data, lambda v: F.batch_norm(v, mean.float(), var.float(), scale.float(),
                                                            bias.float(), training=False, eps=eps))


def cast(ctx, x, a):
    return x[0].to(TORCH_TYPES[a["to"]])


def variadic(f):
    def run(ctx, x, a):
        result = x[0]
        for other in x[1:]:
            result = f(result, other)
        return result
    return run


def where(ctx, x, a):
    return torch.where(x[0], x[1], x[2])


# ---- convolution and pooling ---------------------------------------------------------------------

def spatial_pads(a, rank, input_shape=None, kernel=None, strides=None, dilations=None):
    """ONNX pads [begin..., end...] for `rank` spatial dims, auto_pad resolved."""
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID"):
        pads = list(a.get("pads", [0] * (2 * rank)))
        return [0] * (2 * rank) if auto == "VALID" else pads
    begin, end = [], []
    for i in range(rank):
        size, k, s, d = input_shape[i], kernel[i], strides[i], dilations[i]
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begin.append(large if auto == "SAME_LOWER" else small)
        end.append(small if auto == "SAME_LOWER" else large)
    return begin + end


def padded(x, pads, rank, value=0.0):
    """x with ONNX pads applied explicitly (F.pad takes the last dim first)."""
    torch_pads = []
    for i in reversed(range(rank)):
        torch_pads += [pads[i], pads[i + rank]]
    return F.pad(x, torch_pads, value=value)


CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def conv_operands(x, a):
    """Conv's and ConvTranspose's common inputs and attributes: data, weight, bias (or None),
    spatial rank, strides, dilations."""
    data, weight = x[0], x[1]
    rank = data.dim() - 2
    return (data, weight, x[2] if len(x) > 2 else None, rank, a.get("strides", [1] * rank),
            a.get("dilations", [1] * rank))


def conv(ctx, x, a):
    data, weight, bias, rank, strides, dilations = conv_operands(x, a)
    kernel = list(weight.shape[2:])
    pads = spatial_pads(a, rank, list(data.shape[2:]), kernel, strides, dilations)
    if pads[:rank] == pads[rank:]:
        padding = pads[:rank]
    else:
        data, padding = padded(data, pads, rank), [0] * rank
    return CONV[rank](data, weight, bias, strides, padding, dilations, a.get("group", 1))


def conv_transpose(ctx, x, a):
    data, weight, bias, rank, strides, dilations = conv_operands(x, a)
    if "output_shape" in a or a.get("auto_pad", "NOTSET") != "NOTSET":
        raise NotImplementedError("ConvTranspose with output_shape or auto_pad")
    pads = list(a.get("pads", [0] * (2 * rank)))
    output_padding = a.get("output_padding", [0] * rank)
    y = CONV_T[rank](data, weight, bias, strides, 0, output_padding, a.get("group", 1), dilations)
    index = [slice(None), slice(None)] + [slice(pads[i], y.shape[2 + i] - pads[rank + i]) for i in range(rank)]
    return y[tuple(index)]


def pool(kind):
    def run(ctx, x, a):
        data = x[0]
        rank = data.dim() - 2
        kernel = a["kernel_shape"]
        strides = a.get("strides", [1] * rank)
        dilations = a.get("dilations", [1] * rank)
        pads = spatial_pads(a, rank, list(data.shape[2:]), kernel, strides, dilations)
        ceil = bool(a.get("ceil_mode", 0))
        if kind == "max":
            if pads[:rank] != pads[rank:]:
                data, pads = padded(data, pads, rank, -math.inf), [0] * (2 * rank)
            f = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[rank]
            return f(data, kernel, strides, pads[:rank], dilations, ceil)
        if pads[:rank] != pads[rank:] or any(d != 1 for d in dilations):
            raise NotImplementedError("AveragePool with asymmetric pads or dilations")
        f = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[rank]
        return f(data, kernel, strides, pads[:rank], ceil, bool(a.get("count_include_pad", 0)))
    return run


def global_average_pool(ctx, x, a):
    return x[0].mean(dim=tuple(range(2, x[0].dim())), keepdim=True)


def global_max_pool(ctx, x, a):
    return x[0].amax(dim=tuple(range(2, x[0].dim())), keepdim=True)


def resize(ctx, x, a):
    data = x[0]
    if ctx.opset < 11:  # Upsample and opset-10 Resize: (X, scales)
        scales, sizes = x[1], None
    else:
        scales = x[2] if len(x) > 2 else None
        sizes = x[3] if len(x) > 3 else None
    if sizes is not None and sizes.numel() > 0:
        out = ints(sizes)
    else:
        out = [int(math.floor(n * s)) for n, s in zip(data.shape, scales.flatten().tolist())]
    if out[:2] != list(data.shape[:2]):
        raise NotImplementedError("Resize of the batch or channel dims")
    mode = a.get("mode", "nearest")
    if ctx.opset < 11:  # before opset 11 the only transformation was asymmetric with floor
        transform, nearest = "asymmetric", "floor"
    else:
        transform = a.get("coordinate_transformation_mode", "half_pixel")
        nearest = a.get("nearest_mode", "round_prefer_floor")
    if mode == "nearest":
        if transform != "asymmetric" or nearest != "floor":
            raise NotImplementedError(f"nearest Resize with {transform} / {nearest}")
        return F.interpolate(data, size=out[2:], mode="nearest")
    if mode == "linear" and transform in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        torch_mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[data.dim() - 2]
        return F.interpolate(data, size=out[2:], mode=torch_mode, align_corners=transform == "align_corners")
    raise NotImplementedError(f"Resize mode {mode} with {transform}")


# ---- matrix products, normalization, reductions --------------------------------------------------

def gemm(ctx, x, a):
    left = x[0].t() if a.get("transA", 0) else x[0]
    right = x[1].t() if a.get("transB", 0) else x[1]
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if len(x) > 2 and x[2] is not None:
        return torch.addmm(x[2], left, right, beta=beta, alpha=alpha)
    product = left @ right
    return product if alpha == 1.0 else product * alpha


def softmax(log):
    def run(ctx, x, a):
        data = x[0]
        f = F.log_softmax if log else F.softmax
        if ctx.opset >= 13:
            return f(data, dim=a.get("axis", -1))
        axis = a.get("axis", 1) % data.dim()  # before opset 13: the input coerced to 2-D at axis
        shape = data.shape
        return f(data.reshape(math.prod(shape[:axis]), -1), dim=1).reshape(shape)
    return run


def layer_norm(ctx, x, a):
    data = x[0]
    axis = a.get("axis", -1) % data.dim()
    bias = x[2] if len(x) > 2 else None
    return F.layer_norm(data, data.shape[axis:], x[1], bias, a.get("epsilon", 1e-5))


def reduce(f):
    def run(ctx, x, a):
        data = x[0]
        axes = a.get("axes")
        if axes is None and len(x) > 1 and x[1] is not None:
            axes = ints(x[1])
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return data
            axes = list(range(data.dim()))
        return f(data, tuple(axes), bool(a.get("keepdims", 1)))
    return run


# ---- shapes and indexing ------------------------------------------------------------------------

def reshape(ctx, x, a):
    shape = ints(x[1]) if ctx.opset >= 5 else list(a["shape"])
    if not a.get("allowzero", 0):
        shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x[0].reshape(shape)


def flatten(ctx, x, a):
    axis = a.get("axis", 1) % (x[0].dim() + 1) if x[0].dim() else 0
    return x[0].reshape(math.prod(x[0].shape[:axis]), -1)


def transpose(ctx, x, a):
    return x[0].permute(a.get("perm", list(reversed(range(x[0].dim())))))


def axes_of(ctx, x, a, first_input_version=13):
    if ctx.opset >= first_input_version:
        return ints(x[1]) if len(x) > 1 and x[1] is not None else None
    return a.get("axes")


def squeeze(ctx, x, a):
    axes = axes_of(ctx, x, a)
    if axes is None:
        return x[0].squeeze()
    axes = sorted({ax % x[0].dim() for ax in axes}, reverse=True)
    result = x[0]
    for ax in axes:
        result = result.squeeze(ax)
    return result


def unsqueeze(ctx, x, a):
    axes = axes_of(ctx, x, a)
    rank = x[0].dim() + len(axes)
    result = x[0]
    for ax in sorted(ax % rank for ax in axes):
        result = result.unsqueeze(ax)
    return result


def shape(ctx, x, a):
    dims = list(x[0].shape)
    dims = dims[a.get("start", 0):a["end"]] if "end" in a else dims[a.get("start", 0):]
    return torch.tensor(dims, dtype=torch.int64, device=ctx.device)


def gather(ctx, x, a):
    data, index = x[0], x[1].long()
    axis = a.get("axis", 0) % data.dim()
    index = torch.where(index < 0, index + data.shape[axis], index)
    picked = data.index_select(axis, index.flatten())
    return picked.reshape(list(data.shape[:axis]) + list(index.shape) + list(data.shape[axis + 1:]))


def slice_(ctx, x, a):
    data = x[0]
    if ctx.opset < 10:
        starts, ends = a["starts"], a["ends"]
        axes = a.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = ints(x[1]), ints(x[2])
        axes = ints(x[3]) if len(x) > 3 and x[3] is not None else list(range(len(starts)))
        steps = ints(x[4]) if len(x) > 4 and x[4] is not None else [1] * len(starts)
    result = data
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis %= data.dim()
        size = data.shape[axis]
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), size), min(max(end, 0), size)
        else:
            start, end = min(max(start, 0), size - 1), min(max(end, -1), size - 1)
        index = torch.arange(start, end, step, device=ctx.device)
        result = result.index_select(axis, index)
    return result


def concat(ctx, x, a):
    return torch.cat([t for t in x if t is not None], dim=a["axis"])


def split(ctx, x, a):
    data = x[0]
    axis = a.get("axis", 0) % data.dim()
    sizes = a.get("split")
    if ctx.opset >= 13 and len(x) > 1 and x[1] is not None:
        sizes = ints(x[1])
    if sizes is None:
        count = a.get("num_outputs")
        if count is None:
            raise NotImplementedError("Split without sizes: the output count is not known here")
        sizes = -(-data.shape[axis] // count)
    return list(torch.split(data, sizes, dim=axis))


def expand(ctx, x, a):
    return x[0].expand(torch.broadcast_shapes(x[0].shape, tuple(ints(x[1]))))


def range_(ctx, x, a):
    return torch.arange(x[0].item(), x[1].item(), x[2].item(), dtype=x[0].dtype, device=ctx.device)


def constant(ctx, x, a):
    if "value" in a:
        return ctx.tensor(a["value"])
    if "value_float" in a:
        return ctx.tensor(np.array(a["value_float"], dtype=np.float32))
    if "value_floats" in a:
        return ctx.tensor(np.array(a["value_floats"], dtype=np.float32))
    if "value_int" in a:
        return ctx.tensor(np.array(a["value_int"], dtype=np.int64))
    if "value_ints" in a:
        return ctx.tensor(np.array(a["value_ints"], dtype=np.int64))
    raise NotImplementedError(f"Constant with {sorted(a)}")


def constant_of_shape(ctx, x, a):
    value = ctx.tensor(a.get("value", np.zeros(1, dtype=np.float32))).reshape(-1)[0]
    return torch.full(ints(x[0]), value.item(), dtype=value.dtype, device=ctx.device)


OPS = {
    "Add": binary(torch.add), "Sub": binary(torch.sub), "Mul": binary(torch.mul), "Div": divide,
    "Pow": lambda ctx, x, a: torch.pow(x[0], x[1]).to(x[0].dtype),  # the exponent may be another type "Equal": binary(torch.eq), "Less": binary(torch.lt),
    "Greater": binary(torch.gt), "And": binary(torch.logical_and), "Or": binary(torch.logical_or),
    "Not": lambda ctx, x, a: torch.logical_not(x[0]),
    "Max": variadic(torch.maximum), "Min": variadic(torch.minimum), "Sum": variadic(torch.add),
    "Relu": lambda ctx, x, a: torch.relu(x[0]), "Sigmoid": lambda ctx, x, a: torch.sigmoid(x[0]),
    "Tanh": lambda ctx, x, a: torch.tanh(x[0]), "Erf": lambda ctx, x, a: torch.erf(x[0]),
    "Sqrt": lambda ctx, x, a: torch.sqrt(x[0]), "Exp": lambda ctx, x, a: torch.exp(x[0]),
    "Log": lambda ctx, x, a: torch.log(x[0]), "Neg": lambda ctx, x, a: torch.neg(x[0]),
    "Abs": lambda ctx, x, a: torch.abs(x[0]), "Reciprocal": lambda ctx, x, a: torch.reciprocal(x[0]),
    "Identity": lambda ctx, x, a: x[0], "Dropout": lambda ctx, x, a: x[0],
    "Clip": clip, "HardSigmoid": hard_sigmoid, "HardSwish": hard_swish, "LeakyRelu": leaky_relu,
    "PRelu": lambda ctx, x, a: torch.where(x[0] >= 0, x[0], x[0] * x[1]),
    "Where": where, "Cast": cast, "BatchNormalization": batch_norm,
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": pool("max"), "AveragePool": pool("average"),
    "GlobalAveragePool": global_average_pool, "GlobalMaxPool": global_max_pool,
    "Resize": resize, "Upsample": resize,
    "MatMul": binary(torch.matmul), "Gemm": gemm, "Softmax": softmax(False), "LogSoftmax": softmax(True),
    "LayerNormalization": layer_norm,
    "ReduceMean": reduce(lambda t, axes, keep: t.mean(dim=axes, keepdim=keep)),
    "ReduceSum": reduce(lambda t, axes, keep: t.sum(dim=axes, keepdim=keep)),
    "ReduceMax": reduce(lambda t, axes, keep: t.amax(dim=axes, keepdim=keep)),
    "ReduceMin": reduce(lambda t, axes, keep: t.amin(dim=axes, keepdim=keep)),
    "Reshape": reshape, "Flatten": flatten, "Transpose": transpose, "Squeeze": squeeze,
    "Unsqueeze": unsqueeze, "Shape": shape, "Gather": gather, "Slice": slice_, "Concat": concat,
    "Split": split, "Expand": expand, "Range": range_, "Constant": constant,
    "ConstantOfShape": constant_of_shape,
}
