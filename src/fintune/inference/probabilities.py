"""Class probabilities for texts, whatever the model kind; shared by evaluation and `Predictor`.

An encoder classifier has a softmax head; a causal LM is asked with the prompt template and its
labels are scored by log-likelihood (one batched pass over every prompt x label continuation).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fintune.config import RunConfig
from fintune.data.prompts import PromptTemplate
from fintune.inference.calibration import calibrate, content_free_prior
from fintune.inference.encoder_probs import predict_proba
from fintune.inference.label_scoring import label_log_likelihoods, label_probabilities


def probability_fn(
    kind: str, model, tokenizer, cfg: RunConfig, labels: list[str], batch_size: int = 0, calibration: str = ""
) -> Callable[[list[str]], np.ndarray]:
    """texts -> probabilities of shape (len(texts), len(labels)), in `labels` order; batch_size 0: the eval batch.

    Causal LMs score the labels, contextually calibrated when `calibration` (default: cfg.eval.calibration) says so.
    """
    batch_size = batch_size or cfg.eval.batch_size
    if kind == "causal":
        template = PromptTemplate.from_config(cfg.prompt, tokenizer)
        calibration = calibration or cfg.eval.calibration
        prior: list[np.ndarray] = []  # computed on first use, from the model itself

        def raw_probs(texts: list[str]) -> np.ndarray:
            prompts = [template.render(t, labels) for t in texts]
            model.eval()
            loglik = label_log_likelihoods(
                model,
                tokenizer,
                prompts,
                labels,
                batch_size,
                cfg.data.max_length,
                template.chat,
                progress="label scoring" if len(prompts) > batch_size else None,
            )
            return label_probabilities(loglik)

        def causal_probs(texts: list[str]) -> np.ndarray:
            if calibration == "none":
                return raw_probs(texts)
            if not prior:
                prior.append(content_free_prior(raw_probs))
            return calibrate(raw_probs(texts), prior[0])

        return causal_probs

    return lambda texts: predict_proba(model, tokenizer, list(texts), batch_size, cfg.data.max_length)
