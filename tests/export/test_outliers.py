"""Splitting the down-projection's outlier channels off computes the same function and narrows what int8 rounds."""

import copy

import torch
from transformers import BertModel

from fintune.export.outliers import OutlierSplitLinear, feed_forward_pairs, split_outlier_channels
from fintune.export.smoothing import record_input_peaks, smooth_for_int8, smoothing_targets
from tests.export.tiny_bert import tiny_bert_and_batch


def _tiny_bert_with_outlier_intermediate_channels() -> tuple[BertModel, dict]:
    model, batch = tiny_bert_and_batch()
    with torch.no_grad():  # BERT-like: two GELU outputs per layer far larger than the others
        for layer in model.encoder.layer:
            layer.intermediate.dense.weight[[5, 40]] *= 30.0
            layer.intermediate.dense.bias[[5, 40]] = 5.0
    return model, batch


def test_the_split_keeps_the_outputs_and_takes_the_outliers_out_of_the_quantised_part():
    model, batch = _tiny_bert_with_outlier_intermediate_channels()
    want = model(**batch).last_hidden_state
    split = copy.deepcopy(model)
    downs = [down for _, down in feed_forward_pairs(split)]
    assert downs == ["encoder.layer.0.output.dense", "encoder.layer.1.output.dense"]
    peaks = record_input_peaks(split, downs, lambda m: m(**batch))
    assert split_outlier_channels(split, peaks, count=2) == 2
    assert torch.allclose(split(**batch).last_hidden_state, want, atol=1e-5)

    down = split.encoder.layer[0].output.dense
    assert isinstance(down, OutlierSplitLinear) and down.outliers.weight.shape == (32, 2)
    seen = {}
    down.main.register_forward_hook(lambda mod, args, out: seen.update(main=args[0]))
    down.outliers.register_forward_hook(lambda mod, args, out: seen.update(outliers=args[0]))
    split(**batch)
    whole = peaks["encoder.layer.0.output.dense"]
    assert seen["outliers"].abs().amax() == whole.max()  # the largest channel went to the fp32 part
    assert seen["main"].abs().amax() < whole.max() / 3  # and the int8 part's one scale covers much less


def test_the_split_composes_with_smoothing():
    model, batch = _tiny_bert_with_outlier_intermediate_channels()
    want = model(**batch).last_hidden_state
    both = copy.deepcopy(model)
    names = smoothing_targets(both) + [down for _, down in feed_forward_pairs(both)]
    peaks = record_input_peaks(both, names, lambda m: m(**batch))
    smooth_for_int8(both, peaks)  # wraps the up-projections, which the split then permutes inside the wrapper
    assert split_outlier_channels(both, peaks, count=3) == 2
    assert torch.allclose(both(**batch).last_hidden_state, want, atol=1e-4)
