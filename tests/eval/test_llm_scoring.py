"""Label scoring and generate-and-parse on tiny random causal LMs built offline (LLaMA and GPT-2 families)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fintune.data.prompts import PromptTemplate, encode_answer, encode_prompt
from fintune.eval.generate import generation_metrics, parse_label
from fintune.inference.generation import generate_answers
from fintune.inference.label_scoring import label_log_likelihoods, label_probabilities

LABELS = ["negative", "neutral", "positive"]
SENTENCES = [
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn.",
    "The company said it will hold its annual meeting in March.",
    "Net sales fell sharply and the outlook is mostly negative but stable.",
    "Shares of the bank were unchanged.",
    "Revenue grew 5 %.",
    "Losses widened after the strike, strongly positive outlook withdrawn.",
]
# Mixed-length labels, one a suffix-sharing two-word label, so the label masks differ within a batch.
SCORING_LABELS = [*LABELS, "strongly positive"]


def _prompts() -> list[str]:
    # Different lengths on purpose: batches then need padding.
    return [PromptTemplate().render(s, LABELS) for s in SENTENCES]


def _tokenizer(with_bos: bool, with_pad: bool):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = [*_prompts(), " ".join(SCORING_LABELS), "I don't know"]
    raw.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=specials))
    if with_bos:
        # LLaMA-style: BOS is added by the post-processor, so encode_prompt starts with it.
        raw.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", raw.token_to_id("<s>"))]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>" if with_pad else None,
    )


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def tiny_causal_lm(request):
    """(model, tokenizer): a 2-layer, 32-wide random LM; LLaMA with BOS and a pad token, GPT-2 with neither."""
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    llama = request.param == "llama"
    tokenizer = _tokenizer(with_bos=llama, with_pad=llama)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    if llama:
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=128,
            initializer_range=0.2,
            pad_token_id=tokenizer.pad_token_id,
            **ids,
        )
    else:
        config = GPT2Config(
            vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=128, initializer_range=0.2, **ids
        )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    return model, tokenizer


def _unbatched_log_likelihoods(model, tokenizer, prompts, labels) -> np.ndarray:
    out = np.zeros((len(prompts), len(labels)))
    for i, prompt in enumerate(prompts):
        p = encode_prompt(tokenizer, prompt)
        for j, label in enumerate(labels):
            a = encode_answer(tokenizer, label, with_eos=True)
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([p + a])).logits[0].double(), dim=-1)
            out[i, j] = sum(logp[len(p) - 1 + k, tok].item() for k, tok in enumerate(a))
    return out


def test_batched_log_likelihoods_equal_unbatched_loop(tiny_causal_lm):
    model, tokenizer = tiny_causal_lm
    prompts = _prompts()
    batched = label_log_likelihoods(model, tokenizer, prompts, SCORING_LABELS, batch_size=5)
    assert batched.shape == (len(prompts), len(SCORING_LABELS))
    np.testing.assert_allclose(
        batched, _unbatched_log_likelihoods(model, tokenizer, prompts, SCORING_LABELS), atol=1e-4, rtol=0
    )
    assert np.all(batched < 0)


def test_full_sequence_fallback_equals_unbatched_loop(tiny_causal_lm):
    from fintune.inference.label_scoring import _score_full_sequences, padding_id

    model, tokenizer = tiny_causal_lm
    prompt_ids = [encode_prompt(tokenizer, p) for p in _prompts()]
    label_ids = [encode_answer(tokenizer, label) for label in SCORING_LABELS]
    with torch.no_grad():
        full = _score_full_sequences(model, prompt_ids, label_ids, padding_id(tokenizer))
    np.testing.assert_allclose(
        full, _unbatched_log_likelihoods(model, tokenizer, _prompts(), SCORING_LABELS), atol=1e-4, rtol=0
    )


def test_long_prompts_are_shortened_as_in_training(tiny_causal_lm):
    from fintune.data.prompts import fit_to_length
    from fintune.inference.label_scoring import _score_full_sequences, padding_id

    model, tokenizer = tiny_causal_lm
    long_prompt = PromptTemplate().render(" ".join(SENTENCES * 6), LABELS)
    assert len(encode_prompt(tokenizer, long_prompt)) > 100  # past the tiny GPT-2's 128 positions with a label
    label_ids = [encode_answer(tokenizer, label) for label in LABELS]
    fitted = fit_to_length(encode_prompt(tokenizer, long_prompt), max(label_ids, key=len), 64)
    assert len(fitted) < 64
    with torch.no_grad():
        expected = _score_full_sequences(model, [fitted], label_ids, padding_id(tokenizer))
    short = label_log_likelihoods(model, tokenizer, [long_prompt], LABELS, max_length=64)
    np.testing.assert_allclose(short, expected, atol=1e-4, rtol=0)


def test_label_probabilities_rows_sum_to_one():
    loglik = np.array([[-1.0, -2.0, -3.0], [-1000.0, -1001.0, -2000.0]])  # second row would underflow naively
    probs = label_probabilities(loglik)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0].argmax() == 0 and probs[1, 0] == pytest.approx(1 / (1 + np.exp(-1)))


def test_left_padded_generation_equals_per_prompt_generation(tiny_causal_lm):
    model, tokenizer = tiny_causal_lm
    prompts = _prompts()
    side = tokenizer.padding_side
    batched = generate_answers(model, tokenizer, prompts, max_new_tokens=6, batch_size=len(prompts))
    single = [generate_answers(model, tokenizer, [p], max_new_tokens=6, batch_size=1)[0] for p in prompts]
    assert batched == single
    assert any(batched)  # a random model rarely emits EOS at once; empty strings everywhere would prove nothing
    assert tokenizer.padding_side == side


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Positive.", "positive"),
        ("mostly negative but", "negative"),
        ("I don't know", None),
        ("neutral, not positive", "neutral"),  # earliest match wins
        ("positive or negative", "positive"),
    ],
)
def test_parse_label(text, expected):
    assert parse_label(text, LABELS) == expected


def test_parse_label_tie_goes_to_longer_label():
    assert parse_label("Strongly positive!", ["strongly", "strongly positive"]) == "strongly positive"


def test_generation_metrics_counts_unparsed_and_keeps_matrix_square():
    y_true = ["positive", "negative", "neutral", "positive"]
    answers = ["positive", "I don't know", "neutral.", "Negative"]
    m = generation_metrics(y_true, answers, LABELS)
    assert m["n"] == m["n_total"] == 4 and m["n_unparsed"] == 1 and m["unparsed_rate"] == 0.25
    assert m["accuracy"] == 0.5  # the unparsed answer counts as wrong
    assert m["labels"] == LABELS
    assert m["confusion_matrix"] == [[0, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert sum(map(sum, m["confusion_matrix"])) == m["n_parsed"] == 3
    assert m["unparsed_by_label"] == {"negative": 1, "neutral": 0, "positive": 0}
    assert m["per_class"]["negative"]["recall"] == 0.0 and m["per_class"]["negative"]["support"] == 1
    for key in ["f1_macro", "f1_micro", "f1_weighted", "mcc", "precision_macro", "recall_macro"]:
        assert key in m


CHAT_TEMPLATE = "{{ bos_token }}{% for m in messages %}Instruction : {{ m['content'] }} {% endfor %}Answer :"


def test_chat_template_is_used_when_the_tokenizer_has_one():
    from fintune.config import PromptConfig
    from fintune.errors import FintuneError

    tokenizer = _tokenizer(with_bos=True, with_pad=True)
    assert not PromptTemplate.from_config(PromptConfig(), tokenizer).chat
    with pytest.raises(FintuneError, match="has no chat template"):
        PromptTemplate.from_config(PromptConfig(chat_template="always"), tokenizer)
    tokenizer.chat_template = CHAT_TEMPLATE
    template = PromptTemplate.from_config(PromptConfig(), tokenizer)
    assert template.chat and not PromptTemplate.from_config(PromptConfig(chat_template="never"), tokenizer).chat
    user_turn = template.render("Revenue grew 5 %.", LABELS)
    assert user_turn.endswith("\nRevenue grew 5 %.") and "Input:" not in user_turn
    ids = encode_prompt(tokenizer, user_turn, chat=True)
    expected = tokenizer(f"Instruction : {user_turn} Answer :", add_special_tokens=True)["input_ids"]
    assert ids == expected  # one BOS (the template's), the user turn, the assistant cue
    # prompt.system sends a system message first, which the template renders like any turn
    with_system = PromptTemplate.from_config(PromptConfig(system="Be brief."), tokenizer)
    ids = encode_prompt(tokenizer, user_turn, with_system.chat)
    expected = tokenizer(f"Instruction : Be brief. Instruction : {user_turn} Answer :", add_special_tokens=True)
    assert ids == expected["input_ids"]


def test_chat_prompts_score_like_the_unbatched_loop(tiny_causal_lm):
    model, tokenizer = tiny_causal_lm
    if tokenizer.bos_token_id is None or tokenizer.pad_token_id is None:
        pytest.skip("the chat variant is built on the LLaMA-style tokenizer")
    chat_tokenizer = _tokenizer(with_bos=True, with_pad=True)
    chat_tokenizer.chat_template = CHAT_TEMPLATE
    turns = [PromptTemplate(chat=True).render(s, LABELS) for s in SENTENCES]
    scored = label_log_likelihoods(model, chat_tokenizer, turns, LABELS, batch_size=4, chat=True)
    # The chat ids, scored one prompt and one label at a time, give the same numbers.
    for i, turn in enumerate(turns):
        p = encode_prompt(chat_tokenizer, turn, chat=True)
        for j, label in enumerate(LABELS):
            a = encode_answer(chat_tokenizer, label)
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([p + a])).logits[0].double(), dim=-1)
            assert scored[i, j] == pytest.approx(sum(logp[len(p) - 1 + k, t].item() for k, t in enumerate(a)), abs=1e-4)
