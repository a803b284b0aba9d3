"""The config sections every task shares: data, model, adapter, training, prompt, evaluation, tracking."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from fintune.config.section import Section
from fintune.config.tasks import TASK_SECTIONS, TASK_SOURCES, SignalConfig, TrendConfig, WindowsConfig

Method = Literal["none", "lora", "lora_plus", "rslora", "dora", "pissa", "qlora", "full", "freeze"]
ADAPTER_METHODS = ("lora", "lora_plus", "rslora", "dora", "pissa", "qlora")
FORECAST_BASELINES = ("naive_last", "naive_drift", "lstm")


class DataConfig(Section):
    """Which examples a run reads and how they are split."""

    source: str | list[str] = "fpb"
    """A registered dataset name (`fintune data list`) or a path to a CSV/JSONL file; a list of labelled-text
    datasets trains one model on the union of their training splits and tests on each one's own test split."""
    test_source: str | None = None
    """Optional separate test file for a path source; otherwise the test split is carved out."""
    text_column: str = "text"
    """Column of a path source holding the text."""
    label_column: str = "label"
    """Column of a path source holding the label."""
    labels: list[str] | None = None
    """Label order for a path source (default: sorted distinct values). Values outside it are errors."""
    label_map: dict[str, str] | None = None
    """Rename raw label values of a path source, e.g. {"0": negative, "1": positive}."""
    test_fraction: float = Field(0.25, gt=0, lt=1)
    """Share of a path source carved out as test (registered sets keep their published split)."""
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    """Share of the training side held out for validation (choosing epochs, thresholds, calibration)."""
    split_seed: int = 42
    """Seed of the data split; kept apart from train.seed so seeds vary the model, not the test set."""
    max_length: int = Field(128, ge=8)
    """Tokens per example (prompt + answer for causal LMs); longer inputs are cut."""
    max_train_samples: int | None = Field(None, ge=1)
    """Keep only the first N training examples (after shuffling with split_seed): quick experiments."""
    max_eval_samples: int | None = Field(None, ge=1)
    """Keep N validation and N test examples: drawn with split_seed (per dataset for a list of datasets), or the
    earliest N where the split is by time. Numbers are then not comparable with the full test split's."""
    trend: TrendConfig | None = None
    """Posts, prices, labels and time splits when source is `trend` (filled with the defaults then)."""
    windows: WindowsConfig | None = None
    """Tickers, (past, future) pairs and time splits when source is `windows` (forecasting)."""
    signal: SignalConfig | None = None
    """News, label definition and time splits when source is `signal` (investment-signal detection)."""

    @model_validator(mode="before")
    @classmethod
    def _default_task_section(cls, raw: Any) -> Any:
        """A task's source without its section gets the section's defaults (filled in the input, before validation,
        so no validator rewrites a field afterwards)."""
        if isinstance(raw, dict):
            source = raw.get("source")
            if isinstance(source, list) and len(source) == 1:
                source, raw = source[0], {**raw, "source": source[0]}  # a list of one is that dataset
            section = TASK_SECTIONS.get(source) if isinstance(source, str) else None
            if section and raw.get(section) is None:
                raw = {**raw, section: {}}
        return raw

    @model_validator(mode="after")
    def _check_union(self) -> DataConfig:
        if not isinstance(self.source, list):
            return self
        task_sources = [s for s in self.source if any(s in names for names in TASK_SOURCES.values())]
        if not self.source or task_sources:
            raise ValueError(
                "data.source as a list joins labelled-text datasets; "
                f"{task_sources or 'an empty list'} cannot be joined"
            )
        if len(set(self.source)) != len(self.source):
            raise ValueError(f"data.source lists a dataset twice: {self.source}")
        if self.test_source:
            raise ValueError("data.test_source does not apply to a list of datasets (each keeps its own test split)")
        return self


class ModelConfig(Section):
    """The pretrained model a run starts from."""

    path: str = "minilm"
    """Hub id, local directory, a `.gguf` file, or a bundled alias: `minilm` (all-MiniLM-L6-v2, the default encoder),
    `smollm2` (SmolLM2-135M-Instruct), `gemma3-270m` (Gemma 3 270M). GGUF checkpoints (the two LLM aliases are
    4-bit GGUF files) are de-quantised to fp32 and converted once into $FINTUNE_HOME/models/."""
    gguf_file: str | None = None
    """With a directory in `path`: the GGUF file inside it to load (as transformers' `gguf_file`)."""
    trust_remote_code: bool = False
    """Run the model repository's own Python code (ChatGLM, Baichuan2 need it); off unless asked: it is code."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to load; None: the default branch."""
    kind: Literal["auto", "encoder", "causal"] = "auto"
    """encoder: a sequence classifier (BERT family); causal: an instruction-tuned LM that writes the label."""
    pooling: Literal["auto", "cls", "mean"] = "auto"
    """Sentence vector for the head; auto: what a sentence-transformers checkpoint says, else [CLS]."""


class AdapterConfig(Section):
    """How the model is fine-tuned: an adapter method and its settings."""

    method: Method = "lora"
    """none (zero-shot, causal LMs), a LoRA-family adapter (lora, lora_plus, rslora, dora, pissa, qlora), full
    fine-tuning, or freeze (only the head and the top layers train)."""
    r: int = Field(16, ge=1)
    """Rank of each adapter's low-rank update."""
    alpha: int = Field(32, ge=1)
    """Adapter scaling numerator: the update is multiplied by alpha / r (alpha / sqrt(r) for rslora)."""
    dropout: float = Field(0.0, ge=0, lt=1)
    """LoRA dropout; 0 (PEFT's default) also skips a copy of every adapter input, which is faster
    (benchmarks/RESULTS.md)."""
    target_modules: list[str] | None = None
    """Modules that get adapters; default: the model family's attention and MLP projections."""
    loraplus_lr_ratio: float = Field(16.0, gt=0)
    """LoRA+: the B matrices learn this many times faster than A (Hayou et al., 2024)."""
    qlora_bits: Literal[4, 8] = 4
    """qlora: quantise the frozen base weights to 4-bit NF4 or 8-bit (bitsandbytes; 4-bit also on CPU, slowly)."""
    freeze_trainable_layers: int = Field(0, ge=0)
    """freeze: how many of the top encoder layers train besides the classification head."""


class TrainConfig(Section):
    """The optimisation: how long, how fast, in which precision and batches."""

    epochs: int = Field(3, ge=1)
    """Passes over the training set; the best epoch on validation is kept."""
    max_steps: int | None = Field(None, ge=1)
    """When set, overrides epochs."""
    seed: int = 42
    """Seed of the model's initialisation (head, adapter) and the batch order; the data split has its own."""
    batch_size: int = Field(32, ge=1)
    """Examples per optimizer step, across all processes of a multi-process run."""
    gradient_accumulation_steps: int = Field(1, ge=1)
    """Split each batch into this many forward/backward passes (less memory, same result)."""
    learning_rate: float | None = Field(None, gt=0)
    """Default depends on the method: 1e-3 for adapters and freeze, 5e-5 for full fine-tuning."""
    weight_decay: float = Field(0.01, ge=0)
    """AdamW weight decay (not applied to biases and norms)."""
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    """Share of the steps the learning rate rises linearly from 0, before it decays linearly to 0."""
    max_grad_norm: float | None = Field(1.0, gt=0)
    """Clip the gradient to this norm (None: no clipping)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory for long prompts, one more forward per step."""
    class_weights: bool = False
    """Encoders: weight the loss by inverse class frequency in training (for rare classes such as signals)."""
    group_by_length: bool = True
    """Batch texts of similar length together so dynamic padding wastes little compute."""
    early_stopping_patience: int | None = Field(None, ge=1)
    """Stop after this many epochs without a better validation score (None: never)."""
    save_steps: int = Field(100, ge=1)
    """Write a resumable checkpoint every N optimizer steps."""
    eval_steps: int | None = Field(None, ge=1)
    """Also measure validation loss every N optimizer steps (a finer curve for steps-to-target-loss comparisons;
    the best epoch is still chosen at epoch ends). None: at epoch ends only."""
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """bf16 autocast for training where the hardware supports it natively (auto), or force one."""
    num_threads: int | None = Field(None, ge=1)
    """torch CPU threads (None: torch's default)."""
    strategy: Literal["auto", "none", "ddp", "fsdp"] = "auto"
    """How the processes of `--nproc N` (or torchrun) share the model: ddp, a whole copy each (auto's choice);
    fsdp, causal LMs sharded by decoder layer (FSDP2), for a model whose training state outgrows one device.
    One process is always plain, so a sharded run resumes in one process."""

    def resolved_learning_rate(self, method: str) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-5 if method == "full" else 1e-3


class PromptConfig(Section):
    """How a causal LM is asked (FinGPT's sentiment prompt by default, so numbers are comparable)."""

    instruction: str = "What is the sentiment of this news? Please choose an answer from {{{choices}}}."
    """{choices} becomes the labels joined by '/'. FinGPT's sentiment question by default; `task: trend` and
    `task: signal` get their own question instead (config/tasks.py, TASK_INSTRUCTIONS)."""
    template: str = "Instruction: {instruction}\nInput: {input}\nAnswer: "
    """The prompt without a chat template (FinGPT's): {instruction} and {input} (the text) are filled in."""
    chat_template: Literal["auto", "always", "never"] = "auto"
    """auto: ask through the tokenizer's chat template when it has one; never: FinGPT's plain prompt everywhere."""
    system: str | None = None
    """Chat template only: a system message before the user turn. None: whatever the template writes by itself
    (SmolLM2's adds "You are a helpful AI assistant named SmolLM, trained by Hugging Face"); "" an empty one,
    which costs fewer tokens in every training step and prediction."""


class EvalConfig(Section):
    """How a run is measured: baselines beside the model, the metric that chooses, and the LLM evaluation modes."""

    baselines: list[Literal["majority", "tfidf_lr", "momentum", "random", "naive_last", "naive_drift", "lstm"]] = [
        "majority",
        "tfidf_lr",
    ]
    """momentum (the previous window's direction) needs a trend source; random draws from the training labels;
    forecasting (`task: forecast`) has naive_last, naive_drift and lstm, all three by default."""
    batch_size: int = Field(128, ge=1)
    """Examples per forward pass when predicting (validation, test, label scoring)."""
    select_metric: Literal["accuracy", "f1_macro", "f1_weighted", "mcc", "loss"] = "f1_weighted"
    """Validation metric that picks the best epoch (never the test split); with eval.threshold other than argmax,
    measured at the cut chosen on validation, as the run's validation block is."""
    cost_bps: float = Field(10.0, ge=0)
    """Trend runs: transaction cost per unit of position change in the backtest, in basis points."""
    generate: bool = True
    """Causal LMs: also evaluate FinGPT-style generate-and-parse (`test_generate`) beside label scoring."""
    max_new_tokens: int | None = Field(None, ge=1)
    """Generate-and-parse budget. None: as many tokens as the longest label plus EOS for a fine-tuned model (it was
    trained to answer with the label alone; generation stops once every row of a batch wrote EOS), and 16 for a
    zero-shot base model, which answers in a sentence ("The sentiment of this news is positive.")."""
    calibration: Literal["none", "content_free"] = "none"
    """Causal LMs, label scoring: content_free divides each label's probability by its mean probability for
    content-free inputs ("N/A", "", "[MASK]") and renormalises (contextual calibration, Zhao et al. 2021), the
    standard fix for a zero-shot model's strong prior for one label. Every zero-shot run reports both ways on
    validation (`calibration` in metrics.json) so the choice can be made there."""
    threshold: Literal["argmax", "max_f1", "target_precision"] = "argmax"
    """Binary runs: the cut on p(second label), chosen on validation (max_f1 of that label, or the lowest cut
    reaching eval.target_precision) and applied unchanged to test; argmax is a 0.5 cut."""
    target_precision: float | None = Field(None, gt=0, le=1)
    """With eval.threshold: target_precision, the precision of the second label the cut must reach on validation."""
    sentiment_run: str | None = None
    """Trend runs: a finished sentiment run (e.g. runs/fpb-minilm-lora) that scores every post; the mean score
    before each entry is tested as a predictor (`sentiment_index`) beside the baselines."""
    sentiment_window: str | None = None
    """How far back the sentiment index averages posts (default: data.trend.per_period, else 1D)."""


class TrackingConfig(Section):
    """Optional experiment tracking of every run, beside (never instead of) metrics.json and the report.

    Needs `pip install 'fintune[tracking]'`. Off by default so a plain run writes nothing outside its folder.
    """

    tensorboard: bool = False
    """Write TensorBoard event files to <run dir>/tensorboard/: per-step training loss and learning rate (train/lr),
    validation metrics, final test metrics, the resolved config as text."""
    mlflow: bool = False
    """Log the run to MLflow: the resolved config as params, the same metrics as TensorBoard."""
    mlflow_uri: str | None = None
    """MLflow tracking URI; default sqlite:///<output_dir>/mlflow.db (a local SQLite file, no server)."""
    experiment: str | None = None
    """MLflow experiment the run is filed under (default: fintune)."""
