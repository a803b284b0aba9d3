"""Outlier channels of the feed-forward down-projections kept out of int8 (the LLM.int8() decomposition, static).

The down-projection reads the GELU output, and in BERT models one or two of its ~1,500 channels peak 3-4x higher
than all the others (bundled MiniLM after `make demo`, layer 0: 24.6 vs 6.0 next, 1.9 median over 1,024 training
texts). Dynamic int8 gives the whole activation one scale, so those channels set it and the others lose two bits.
Smoothing cannot be folded across the GELU, so instead the layer is split in two: the intermediate channels are
permuted (rows of the up-projection, columns of the down-projection; exact, GELU is elementwise) so the outliers
come last, and the down-projection becomes `main(x[..., :-k]) + outliers(x[..., -k:])`. `main` is quantised, the
k-column `outliers` MatMul stays fp32 and costs about k / 1,536 of the layer.
"""

from __future__ import annotations

import torch
from torch import nn

OUTLIER_CHANNELS = 4
"""Channels per layer kept fp32. Chosen on label agreement with the torch model on FPB train + validation texts
(never test) for the bundled MiniLM (benchmarks/RESULTS.md, "int8 recipe")."""
FEED_FORWARD_PAIRS = (("intermediate.dense", "output.dense"), ("ffn.lin1", "ffn.lin2"))
"""(up, down) linear names of one feed-forward block: BERT / RoBERTa, DistilBERT."""


class OutlierSplitLinear(nn.Module):
    """`linear(x)` for an x whose last `count` channels are the outliers: `main(x[..., :-count]) + outliers(...)`."""

    def __init__(self, linear: nn.Linear, count: int):
        super().__init__()
        self.count = count
        inner = linear.in_features - count
        self.main = nn.Linear(inner, linear.out_features, bias=linear.bias is not None)
        self.outliers = nn.Linear(count, linear.out_features, bias=False)
        with torch.no_grad():
            self.main.weight.copy_(linear.weight[:, :inner])
            self.outliers.weight.copy_(linear.weight[:, inner:])
            if linear.bias is not None:
                self.main.bias.copy_(linear.bias)
        self.to(linear.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x[..., : -self.count]) + self.outliers(x[..., -self.count :])


def feed_forward_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """(up, down) module names of every feed-forward block whose up and down are plain linears."""
    modules = dict(model.named_modules())
    pairs = []
    for name, module in modules.items():
        for up_suffix, down_suffix in FEED_FORWARD_PAIRS:
            if isinstance(module, nn.Linear) and name.endswith(down_suffix):
                up = name[: -len(down_suffix)] + up_suffix
                if isinstance(_linear(modules.get(up)), nn.Linear):
                    pairs.append((up, name))
    return pairs


def split_outlier_channels(model: nn.Module, peaks: dict[str, torch.Tensor], count: int = OUTLIER_CHANNELS) -> int:
    """Move the `count` input channels with the largest calibration peak of every down-projection named in `peaks`
    to the end and split it (OutlierSplitLinear), in place. `peaks`: largest |x| per input channel, keyed by the
    down-projection's module name (export/smoothing.py's record_input_peaks). Returns how many were split."""
    if count <= 0:
        return 0
    n = 0
    for up_name, down_name in feed_forward_pairs(model):
        if down_name not in peaks:
            continue
        up, down = _linear(model.get_submodule(up_name)), model.get_submodule(down_name)
        outliers = torch.topk(peaks[down_name], count).indices
        rest = torch.ones(down.in_features, dtype=torch.bool)
        rest[outliers] = False
        order = torch.cat([torch.nonzero(rest).flatten(), outliers.sort().values])
        with torch.no_grad():
            up.weight.copy_(up.weight[order])  # up's output channel i becomes channel order[i]
            if up.bias is not None:
                up.bias.copy_(up.bias[order])
            down.weight.copy_(down.weight[:, order])
        parent, _, child = down_name.rpartition(".")
        setattr(model.get_submodule(parent), child, OutlierSplitLinear(down, count))
        n += 1
    return n


def _linear(module):
    """The linear itself, also when smoothing has wrapped it (ScaledInput keeps it as `.linear`)."""
    return getattr(module, "linear", module)
