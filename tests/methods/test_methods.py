"""Each method maps onto PEFT or requires_grad flags the way its paper says."""

import pytest

from fintune.config import AdapterConfig, ModelConfig, RunConfig
from fintune.errors import FintuneError
from fintune.methods import apply_method, build_optimizer, trainable_counts
from fintune.models.encoder import load_classifier

LABELS = ["negative", "neutral", "positive"]


def _model(tiny_model_dir, **adapter):
    _, model = load_classifier(ModelConfig(path=str(tiny_model_dir)), LABELS)
    return apply_method(model, AdapterConfig(**adapter))


def _trainable_names(model):
    return [n for n, p in model.named_parameters() if p.requires_grad]


@pytest.mark.parametrize("method", ["lora", "lora_plus", "rslora", "dora", "pissa"])
def test_adapter_methods_train_adapters_and_head_only(tiny_model_dir, method):
    model = _model(tiny_model_dir, method=method, r=4, alpha=8)
    names = _trainable_names(model)
    assert any("lora_A" in n for n in names) and any("classifier" in n for n in names)
    assert not any("word_embeddings" in n for n in names)
    assert any("pooler" in n and "lora" not in n for n in names), "the pooler belongs to the head and trains fully"
    if method == "dora":
        assert any("lora_magnitude_vector" in n for n in names)
    trainable, total = trainable_counts(model)
    assert 0 < trainable < total / 2


def test_rslora_scales_by_square_root_of_rank(tiny_model_dir):
    lora = _model(tiny_model_dir, method="lora", r=4, alpha=8)
    rs = _model(tiny_model_dir, method="rslora", r=4, alpha=8)
    layer = lambda m: m.base_model.model.bert.encoder.layer[0].attention.self.query  # noqa: E731
    assert layer(lora).scaling["default"] == pytest.approx(8 / 4)
    assert layer(rs).scaling["default"] == pytest.approx(8 / 4**0.5)


def test_lora_plus_gives_b_matrices_a_higher_learning_rate(tiny_model_dir):
    model = _model(tiny_model_dir, method="lora_plus", r=4, alpha=8, loraplus_lr_ratio=16)
    cfg = RunConfig.model_validate(
        {"adapter": {"method": "lora_plus", "loraplus_lr_ratio": 16}, "train": {"learning_rate": 1e-3}}
    )
    opt = build_optimizer(model, cfg)
    ids = {id(p): n for n, p in model.named_parameters()}
    lr_of = {ids[id(p)]: g["lr"] for g in opt.param_groups for p in g["params"]}
    assert sorted({lr for n, lr in lr_of.items() if "lora_B" in n}) == pytest.approx([16e-3])
    assert sorted({lr for n, lr in lr_of.items() if "lora_A" in n}) == pytest.approx([1e-3])
    assert all(g["weight_decay"] == 0 for g in opt.param_groups for p in g["params"] if p.ndim < 2)


def test_full_and_freeze(tiny_model_dir):
    full = _model(tiny_model_dir, method="full")
    assert trainable_counts(full)[0] == trainable_counts(full)[1]
    head_only = _trainable_names(_model(tiny_model_dir, method="freeze"))
    assert head_only and all("classifier" in n or "pooler" in n for n in head_only)
    top1 = _trainable_names(_model(tiny_model_dir, method="freeze", freeze_trainable_layers=1))
    assert any("layer.1." in n for n in top1) and not any("layer.0." in n for n in top1)


def test_methods_that_cannot_run_here_say_why(tiny_model_dir):
    with pytest.raises(FintuneError, match="qlora' applies to causal LMs"):
        _model(tiny_model_dir, method="qlora")
    with pytest.raises(FintuneError, match="'none' trains nothing"):
        _model(tiny_model_dir, method="none")
    with pytest.raises(FintuneError, match="adapter.target_modules"):
        _model(tiny_model_dir, method="lora", target_modules=["no_such_module"])
