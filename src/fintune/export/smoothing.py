"""Activation smoothing before int8 quantisation (the SmoothQuant idea, Xiao et al. 2023), exact in fp32.

Dynamic int8 gives each activation tensor one scale, so a few channels that are far larger than the rest (BERT's
LayerNorm outputs have some) round the others away. Dividing input channel j by s_j and multiplying the weight's
column j by s_j computes the same product, with the activation's range evened out and the weight's a little
widened: s_j = max|x_j|^alpha / max|W_:,j|^(1 - alpha), from the activations of calibration texts.

BERT's LayerNorm outputs also feed the residual stream, so s cannot be folded into the LayerNorm; the division
stays an explicit multiply in front of the layer (`ScaledInput`), which the ONNX graph keeps as one Mul.
"""

from __future__ import annotations

import torch
from torch import nn

ALPHA = 0.75
"""Chosen on label agreement with the torch model on FPB train + validation texts (never test) for the bundled
MiniLM after the quickstart's 5 epochs (the figures: benchmarks/RESULTS.md, "int8 recipe")."""
INPUTS_FROM_LAYERNORM = ("query", "key", "value", "intermediate.dense", "q_lin", "k_lin", "v_lin", "lin1")
"""Linear layers (BERT / RoBERTa / DistilBERT names) that read a LayerNorm output: the ones smoothing helps.
The feed-forward down-projections read a GELU output, which cannot take a folded scale: export/outliers.py."""


class ScaledInput(nn.Module):
    """`linear(x / s)` with the linear's weight columns multiplied by s: the same function as `linear(x)`."""

    def __init__(self, linear: nn.Linear, scale: torch.Tensor):
        super().__init__()
        self.linear = linear
        self.register_buffer("inverse_scale", (1.0 / scale).to(linear.weight.dtype))
        with torch.no_grad():
            linear.weight.mul_(scale.to(linear.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse_scale)


def smoothing_targets(model: nn.Module) -> list[str]:
    """Names of the linears of INPUTS_FROM_LAYERNORM: the ones smooth_for_int8 rescales."""
    return [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name.endswith(INPUTS_FROM_LAYERNORM)
    ]


def record_input_peaks(model: nn.Module, names: list[str], run_batches) -> dict[str, torch.Tensor]:
    """Largest |x| per input channel of each module in `names` while `run_batches(model)` runs the calibration texts
    (modules that never ran are missing from the result)."""
    peaks: dict[str, torch.Tensor] = {}

    def record(name):
        def hook(_module, args):
            peak = args[0].detach().abs().flatten(0, -2).amax(dim=0).float()
            peaks[name] = peak if name not in peaks else torch.maximum(peaks[name], peak)

        return hook

    hooks = [model.get_submodule(name).register_forward_pre_hook(record(name)) for name in names]
    try:
        run_batches(model)
    finally:
        for hook in hooks:
            hook.remove()
    return peaks


def smooth_for_int8(model: nn.Module, peaks: dict[str, torch.Tensor], alpha: float = ALPHA) -> int:
    """Smooth every linear of smoothing_targets(model) that has a calibration peak in `peaks` (record_input_peaks),
    in place; returns how many were smoothed."""
    n = 0
    for name in smoothing_targets(model):
        if name not in peaks:  # never ran on the calibration texts: nothing to smooth by
            continue
        linear = model.get_submodule(name)
        weight_peak = linear.weight.detach().abs().amax(dim=0).float().clamp(min=1e-5)
        scale = (peaks[name].clamp(min=1e-5) ** alpha / weight_peak ** (1 - alpha)).clamp(1e-2, 1e2)
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, ScaledInput(linear, scale))
        n += 1
    return n
