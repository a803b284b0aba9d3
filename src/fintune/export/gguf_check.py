"""Is a written GGUF file the run's model? Read it back as a stranger would and compare with the merged model.

transformers' GGUF reader (an implementation independent of our writer, built to read llama.cpp's files) loads the
file, de-quantising its tensors, and rebuilds the tokenizer from the file's metadata alone. On the check prompts:

- the file's tokenizer must encode every prompt to the run tokenizer's ids (a vocabulary, merge list or chat
  template that does not match fails here, where a logits check alone would not see it);
- next-token logits at the end of each prompt are compared with the merged model's (max |difference|);
- every label is scored through the file's own tokenizer and chat template, as fintune scores them, and the
  argmax compared with the merged model's.

f32 must reproduce the logits to float rounding; f32 and f16 must agree on every label. q8_0 changes the weights by
design, so its agreement is measured and reported, not required.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from fintune.data.prompts import PromptTemplate, encode_prompt
from fintune.errors import FintuneError
from fintune.inference.predictor import Predictor

F32_LOGIT_TOLERANCE = 1e-3
"""An F32 file holds the merged weights bit for bit (q/k rows permuted and back); what remains is summation order
in the reload, ~1e-5 on a 30-layer model. 1e-3 fails any misplaced or mis-scaled tensor, which moves logits by >0.1."""


def load_gguf(path):
    """(tokenizer, model) as transformers reads the file; fp32, eval mode."""
    verbosity, quiet = hf_logging.get_verbosity(), os.environ.get("TQDM_DISABLE")
    hf_logging.set_verbosity_error()
    os.environ["TQDM_DISABLE"] = "1"  # the reader's own per-tensor bar (under a second) is noise here
    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise FintuneError(f"the written GGUF file does not load back: {str(e).splitlines()[0]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if quiet is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = quiet
    return tokenizer, model.eval()


def check_gguf(path, reference: Predictor, texts: list[str], gguf_type: str) -> dict:
    """The comparison above on `texts`, with `passed` and, when it did not pass, `why`."""
    tokenizer, model = load_gguf(path)
    cfg, labels = reference.cfg, reference.labels
    template = PromptTemplate.from_config(cfg.prompt, reference.tokenizer)

    mismatched, diffs = 0, []
    for text in texts:
        prompt = template.render(text, labels)
        ids = encode_prompt(reference.tokenizer, prompt, template.chat)[-cfg.data.max_length :]
        if encode_prompt(tokenizer, prompt, template.chat)[-cfg.data.max_length :] != ids:
            mismatched += 1
        with torch.no_grad():
            batch = torch.tensor([ids])
            ours = reference.model(input_ids=batch).logits[0, -1]
            theirs = model(input_ids=batch).logits[0, -1]
        diffs.append(float((ours - theirs).abs().max()))

    reloaded = Predictor(reference.run_dir, cfg, labels, tokenizer, model, "causal")
    ours, theirs = reference.predict_proba(texts).argmax(1), reloaded.predict_proba(texts).argmax(1)
    agreement = float(np.mean(ours == theirs))
    result = {
        "prompts": len(texts),
        "tokenization_mismatches": mismatched,
        "max_abs_logit_diff": max(diffs),
        "label_agreement": agreement,
        "labels_differing": int((ours != theirs).sum()),
    }
    why = _failure(result, gguf_type)
    return result | {"passed": why is None, **({"why": why} if why else {})}


def _failure(result: dict, gguf_type: str) -> str | None:
    if result["tokenization_mismatches"]:
        mismatched, prompts = result["tokenization_mismatches"], result["prompts"]
        return f"the file's tokenizer encodes {mismatched} of {prompts} prompts differently"
    if not np.isfinite(result["max_abs_logit_diff"]):
        return "the reloaded model gives non-finite logits"
    if gguf_type == "f32" and result["max_abs_logit_diff"] > F32_LOGIT_TOLERANCE:
        return f"f32 logits differ by up to {result['max_abs_logit_diff']:.3g} (> {F32_LOGIT_TOLERANCE:g})"
    if gguf_type in ("f32", "f16") and result["labels_differing"]:
        return f"{result['labels_differing']} of {result['prompts']} labels differ from the merged model's"
    return None
