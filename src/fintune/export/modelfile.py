"""An Ollama Modelfile for an exported GGUF file: the exact prompt the run trained on, as Ollama's TEMPLATE.

A fine-tuned classifier-by-prompt answers well only when asked exactly as in training: same instruction, same chat
turns, same system line (or none). So the template is not Ollama's default for the architecture but the run's
own prompt rendered once with a placeholder text, which is then replaced by `{{ .Prompt }}`: whatever the user
types is put where the headline went in training. Greedy decoding and a short answer budget, since the answer is
one label.
"""

from __future__ import annotations

from fintune.data.prompts import PromptTemplate

PLACEHOLDER = "\x00TEXT\x00"


def full_prompt(cfg, tokenizer, labels: list[str], text: str) -> str:
    """The prompt string the model sees for `text` (chat template applied, BOS included if the template writes it)."""
    template = PromptTemplate.from_config(cfg.prompt, tokenizer)
    turn = template.render(text, labels)
    if not template.chat:
        return turn
    system = template.chat.system
    messages = ([{"role": "system", "content": system}] if system is not None else []) + [
        {"role": "user", "content": turn}
    ]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def modelfile(gguf_name: str, cfg, tokenizer, labels: list[str], run_name: str) -> str:
    prompt = full_prompt(cfg, tokenizer, labels, PLACEHOLDER)
    if _adds_bos(tokenizer) and prompt.startswith(tokenizer.bos_token):
        prompt = prompt[len(tokenizer.bos_token) :]  # llama.cpp puts it in front itself (add_bos_token), not twice
    before, after = prompt.split(PLACEHOLDER)
    template = _escape(before) + "{{ .Prompt }}" + _escape(after)
    longest = max(len(tokenizer(label, add_special_tokens=False)["input_ids"]) for label in labels)
    lines = [
        f"# Exported by fintune from run '{run_name}'.",
        f"# Labels: {', '.join(labels)}. The answer is one of them; fintune itself picks the most likely label",
        "# (label scoring), which Ollama cannot do, so here the model writes it greedily.",
        "# Type only the text to classify: the template below adds the run's instruction around it.",
        f"FROM ./{gguf_name}",
        f'TEMPLATE """{template}"""',
        "PARAMETER temperature 0",
        f"PARAMETER num_predict {longest + 2}",
    ]
    if tokenizer.eos_token:
        lines.append(f'PARAMETER stop "{tokenizer.eos_token}"')
    return "\n".join(lines) + "\n"


def _adds_bos(tokenizer) -> bool:
    """Does the tokenizer put BOS in front of plain text by itself? (SmolLM2's does not: its `<|im_start|>` opens
    every chat turn and must stay in the template.)"""
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(tokenizer.bos_token) and bool(ids) and ids[0] == tokenizer.bos_token_id


def _escape(text: str) -> str:
    """Ollama templates are Go templates: a literal `{{` in the prompt must not start an action."""
    return text.replace("{{", '{{ "{{" }}')
