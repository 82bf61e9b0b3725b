"""Where the ONNX models run: OpenVINO or onnxruntime, behind one call.

Both read the same ONNX files (the OCR engine's, our region detector). Measured on
this project's 2-core Xeon (docs/vision.md, "Runtimes"), at full precision OpenVINO
gave the same reads as onnxruntime on every photo of ../shared/data and ran
PP-OCRv6's text detector 3.4x faster (139 against 479 ms on an 800x608 input, one
thread); the recogniser ran as fast on both. So OpenVINO is used where it is
installed (`auto`), and onnxruntime stays as the fallback and the reference.

In bfloat16, on a CPU that computes it natively (AMX, AVX-512 BF16), OpenVINO ran the
detector 5.8x and the recogniser 2.3x faster than onnxruntime, but read a few changed
photos differently (1-3 of 130 US plate frames, 2 of 50 container frames lost, none
gained): an option (`precision: auto`), not the default.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from vision.errors import VisionError

log = logging.getLogger(__name__)

Runtime = Literal["auto", "openvino", "onnxruntime"]
# `f32`: full precision on every CPU, so the reads do not depend on which CPU the gate
# box has; `auto`: the runtime's fastest on this CPU (OpenVINO: bfloat16 where the CPU
# computes it natively, else f32).
Precision = Literal["auto", "f32"]


class ModelError(VisionError):
    """A model could not be loaded or run by the chosen runtime."""


class ModelSession(Protocol):
    """One loaded model with one input and one output used: the array in, out."""

    runtime: str
    precision: str  # as the runtime computes: "f32", "bf16"

    def __call__(self, inputs: np.ndarray) -> np.ndarray: ...

    def input_shape(self) -> list[int | None]: ...


def chosen(runtime: Runtime) -> str:
    """The runtime `auto` stands for here: OpenVINO when it is installed."""
    if runtime != "auto":
        return runtime
    return "openvino" if importlib.util.find_spec("openvino") is not None else "onnxruntime"


def load(
    model: Path, runtime: Runtime = "auto", precision: Precision = "f32", threads: int = 0
) -> ModelSession:
    """`model` loaded on `runtime` with `threads` threads (0: one per core).

    With `auto`, a model OpenVINO cannot load (a broken install, an operator it lacks)
    is loaded on onnxruntime instead and the log says why: a gate box keeps reading.
    """
    if not Path(model).is_file():
        raise ModelError(f"no model at {model}")
    name = chosen(runtime)
    try:
        return _load_on(name, Path(model), precision, threads)
    except ModelError as err:
        if runtime != "auto" or name == "onnxruntime":
            raise
        log.warning("%s; running it on onnxruntime instead", err)
        return _load_on("onnxruntime", Path(model), precision, threads)


def _load_on(name: str, model: Path, precision: Precision, threads: int) -> ModelSession:
    try:
        if name == "openvino":
            return OpenVinoSession(model, precision, threads)
        return OrtSession(model, threads)
    except ImportError as err:
        raise ModelError(f"{name} is not installed: pip install '.[vision]'") from err
    except Exception as err:  # both runtimes raise their own untyped errors
        raise ModelError(f"{name} cannot load {model}: {err}") from err


@functools.cache
def _openvino_core() -> Any:
    import openvino

    return openvino.Core()


class OpenVinoSession:
    """A model compiled for the CPU, latency first (one request at a time)."""

    runtime = "openvino"

    def __init__(self, model: Path, precision: Precision, threads: int) -> None:
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        # Pinned, every model's threads land on the same cores: a burst's two readers
        # (`view_workers`) then take turns on one core (2.5 against 1.5 s a passage).
        config["ENABLE_CPU_PINNING"] = False
        if precision == "f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        self._compiled = _openvino_core().compile_model(str(model), "CPU", config)
        self._request = self._compiled.create_infer_request()
        hint = self._compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint)

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        self._request.infer({0: inputs})
        # The request reuses its output buffer on the next call: hand out a copy.
        return np.array(self._request.get_output_tensor(0).data)

    def input_shape(self) -> list[int | None]:
        dims = self._compiled.input(0).get_partial_shape()
        return [d.get_length() if d.is_static else None for d in dims]


class OrtSession:
    """A model on onnxruntime's CPU provider."""

    runtime = "onnxruntime"
    precision = "f32"

    def __init__(self, model: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self._session.run(None, {self._input: inputs})[0])

    def input_shape(self) -> list[int | None]:
        shape = self._session.get_inputs()[0].shape
        return [d if isinstance(d, int) else None for d in shape]
