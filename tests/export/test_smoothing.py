"""Activation smoothing computes the same function in fp32 and evens out the inputs that int8 will round."""

import copy

import torch
from transformers import BertModel

from fintune.export.smoothing import ScaledInput, record_input_peaks, smooth_for_int8, smoothing_targets
from tests.export.tiny_bert import tiny_bert_and_batch


def _tiny_bert_with_an_outlier_channel() -> tuple[BertModel, dict]:
    model, batch = tiny_bert_and_batch()
    with torch.no_grad():  # BERT-like: one hidden channel far larger than the others after every LayerNorm
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight[3] = 40.0
    return model, batch


def test_smoothing_keeps_the_outputs_and_evens_out_the_inputs():
    model, batch = _tiny_bert_with_an_outlier_channel()
    want = model(**batch).last_hidden_state
    smoothed = copy.deepcopy(model)
    peaks = record_input_peaks(smoothed, smoothing_targets(smoothed), lambda m: m(**batch))
    n = smooth_for_int8(smoothed, peaks)
    assert n == 2 * 4  # query, key, value and the feed-forward up-projection of each layer
    assert torch.allclose(smoothed(**batch).last_hidden_state, want, atol=1e-5)

    query = smoothed.encoder.layer[0].attention.self.query
    assert isinstance(query, ScaledInput) and isinstance(smoothed.encoder.layer[0].output.dense, torch.nn.Linear)
    seen = {}
    query.register_forward_hook(lambda mod, args, out: seen.update(x=args[0] * mod.inverse_scale))
    original = {}
    model.encoder.layer[0].attention.self.query.register_forward_hook(lambda mod, args, out: original.update(x=args[0]))
    smoothed(**batch), model(**batch)

    def spread(x):  # largest channel peak over the median channel peak: what one int8 scale has to cover
        peaks = x.abs().flatten(0, -2).amax(dim=0)
        return (peaks.max() / peaks.median()).item()

    assert spread(seen["x"]) < spread(original["x"]) / 3
