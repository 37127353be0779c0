"""ONNX Runtime's CUDA provider (onnxruntime-gpu) for the GPU check's tools: check_mixed.py's
'ort-cuda' setting and judge.py's --runtime ort-cuda. The runtime most users deploy float16 ONNX
models on. Imported only where wanted: the rest of tools/gpu_check needs no onnxruntime."""


def available():
    """Whether onnxruntime is installed with its CUDA provider."""
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def session(model):
    """An InferenceSession of `model` (a path) on the CUDA provider. ONNX Runtime falls back to
    its CPU provider without a word when CUDA cannot load (no GPU, a missing cuDNN), which would
    judge float16 on the CPU's float32 arithmetic: that is refused here."""
    import onnxruntime
    created = onnxruntime.InferenceSession(str(model), providers=["CUDAExecutionProvider"])
    if "CUDAExecutionProvider" not in created.get_providers():
        raise RuntimeError(f"ONNX Runtime could not run {model} on CUDA (providers: {created.get_providers()})")
    return created


def run(created, feeds):
    """The session's outputs by name; `feeds` may hold more tensors than the model reads."""
    names = [o.name for o in created.get_outputs()]
    return dict(zip(names, created.run(names, {i.name: feeds[i.name] for i in created.get_inputs()})))
