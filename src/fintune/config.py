"""Run configuration: one pydantic model per concern, loaded from YAML plus dotted overrides.

Unknown keys are errors (a typo must not silently fall back to a default), and every
error names the key it is about. The resolved config, every default filled in, is what
a run saves as `config.yaml`.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fintune.errors import FintuneError

Method = Literal["none", "lora", "lora_plus", "rslora", "dora", "pissa", "qlora", "full", "freeze"]
ADAPTER_METHODS = ("lora", "lora_plus", "rslora", "dora", "pissa", "qlora")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TrendConfig(_Section):
    """Posts -> later price move (`data.source: trend`): which posts, which prices, how labels and splits are made."""

    posts: str = "reddit"
    """reddit | stocknet | crypto-news, or a CSV/JSONL path with timestamp, text and asset columns."""
    assets: list[str] = ["BTC"]
    """Keep posts routed to these assets (reddit: by subreddit; stocknet: ticker; files: the asset column)."""
    bars: Literal["1d", "5min"] = "1d"
    """Price bars the labels are measured on: the shared daily files or the reddit set's 5-minute files."""
    prices: str | None = None
    """A CSV of OHLCV bars to use instead of the shared files (then `assets` must name one asset), or a live
    daily source: `yfinance:BTC-USD`, `twstock:2330` (pip install 'fintune[live]'; cached under FINTUNE_HOME)."""
    horizon: str = "1D"
    """Label window: from the first bar opening after the post to the first bar opening this much later."""
    per_period: str | None = None
    """Join all posts of each period (e.g. 1D) into one example, labelled by the move after the period."""
    threshold: float | None = Field(0.005, ge=0)
    """Neutral band half-width: |return| <= threshold is 'flat'."""
    vol_multiple: float | None = Field(None, gt=0)
    """Instead of a fixed threshold: this many standard deviations of recent horizon returns."""
    vol_window: int = Field(20, ge=2)
    validation_start: datetime.date = datetime.date(2022, 5, 12)
    """First day (UTC) of the validation period; earlier posts train."""
    test_start: datetime.date = datetime.date(2022, 5, 19)
    test_end: datetime.date | None = None
    """First day after the test period (default: the end of the data)."""
    embargo: str | None = None
    """Gap before each split boundary; default the horizon. Label windows crossing a boundary are purged."""
    subreddits: list[str] | None = None
    """Reddit: keep only these subreddits (names without r/), e.g. [Bitcoin]."""
    min_score: int | None = None
    """Drop posts scored below this (Reddit votes, or a posts file's `score` column)."""
    min_chars: int | None = Field(None, ge=0)
    max_chars: int | None = Field(None, ge=1)
    """Drop posts shorter / longer than this many characters."""
    language: str | None = Field(None, pattern=r"^[a-z]{2}(-[a-z]{2})?$")
    """Keep posts detected as this language (ISO 639-1, e.g. en); posts under 20 letters are kept unguessed."""
    include_comments: bool = False

    @model_validator(mode="after")
    def _check_band(self) -> TrendConfig:
        if self.threshold is None and self.vol_multiple is None:
            raise ValueError("set data.trend.threshold or data.trend.vol_multiple")
        if self.prices and len(self.assets) != 1:
            raise ValueError("data.trend.prices is one asset's bars; name exactly one asset in data.trend.assets")
        return self


class WindowsConfig(_Section):
    """Past N days of OHLCV -> the next M days (`data.source: windows`), split by time in whole windows."""

    tickers: list[str] = ["2330.TW"]
    """Shared daily files: Taiwan (2330.TW ...), StockNet's US tickers, DJIA, BTC-USD / ETH-USD."""
    prices: str | None = None
    """A CSV of daily OHLCV bars to use instead of the shared files (then `tickers` names exactly one), or
    `yfinance:2330.TW` / `twstock:2330` (see data.trend.prices)."""
    pairs: list[tuple[int, int]] = [(5, 5)]
    """(past, future) day counts, mixed in one training set, e.g. [[1, 1], [5, 5], [20, 5], [60, 20]]."""
    fields: Literal["ohlcv", "ohlc", "close"] = "ohlcv"
    stride: int = Field(1, ge=1)
    """Days between consecutive windows' starts (training and evaluation)."""
    validation_start: datetime.date = datetime.date(2018, 1, 1)
    test_start: datetime.date = datetime.date(2019, 1, 1)
    test_end: datetime.date | None = None
    news: str | None = None
    """Headlines for the prompt: `stocknet` tweets, or a CSV/JSONL with timestamp, text and asset (= ticker)."""
    max_headlines: int = Field(10, ge=1)
    """The most recent this many headlines of the window's days (none published after its last past day)."""

    @model_validator(mode="after")
    def _check(self) -> WindowsConfig:
        if self.prices and len(self.tickers) != 1:
            raise ValueError("data.windows.prices is one ticker's bars; name exactly one in data.windows.tickers")
        if not self.validation_start < self.test_start:
            raise ValueError("data.windows.validation_start must come before data.windows.test_start")
        return self


class SignalConfig(_Section):
    """Dated news -> 'signal' or 'none' (`data.source: signal`), split by publication time."""

    news: str = "gold-headlines"
    """gold-headlines | crypto-news | reuters, or a CSV/JSONL with timestamp and text (and human label columns)."""
    label: str = "human:future_information"
    """human:<column> (a 0/1 column of the data) | reaction (the asset's move after publication) |
    teacher:<run dir> (a finished run labels the articles)."""
    asset: str = "BTC"
    """reaction: whose price reacts (shared daily files, or data.signal.prices)."""
    prices: str | None = None
    horizon: str = "1D"
    vol_multiple: float = Field(2.0, gt=0)
    """reaction: a signal moves more than this many standard deviations of recent returns over the horizon."""
    vol_window: int = Field(20, ge=2)
    teacher_signal_labels: list[str] = ["signal"]
    """teacher: which of the teacher run's labels count as a signal (e.g. [negative, positive])."""
    validation_start: datetime.date = datetime.date(2016, 1, 1)
    test_start: datetime.date = datetime.date(2017, 1, 1)
    test_end: datetime.date | None = None

    @model_validator(mode="after")
    def _check(self) -> SignalConfig:
        kind = self.label.split(":", 1)[0]
        if kind not in ("human", "reaction", "teacher") or (kind != "reaction" and ":" not in self.label):
            raise ValueError("data.signal.label must be human:<column>, reaction or teacher:<run dir>")
        return self


class DataConfig(_Section):
    source: str = "fpb"
    """A registered dataset name (`fintune data list`) or a path to a CSV/JSONL file."""
    test_source: str | None = None
    """Optional separate test file for a path source; otherwise the test split is carved out."""
    text_column: str = "text"
    label_column: str = "label"
    labels: list[str] | None = None
    """Label order for a path source (default: sorted distinct values). Values outside it are errors."""
    label_map: dict[str, str] | None = None
    """Rename raw label values of a path source, e.g. {"0": negative, "1": positive}."""
    test_fraction: float = Field(0.25, gt=0, lt=1)
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    split_seed: int = 42
    """Seed of the data split; kept apart from train.seed so seeds vary the model, not the test set."""
    max_length: int = Field(128, ge=8)
    max_train_samples: int | None = Field(None, ge=1)
    """Keep only the first N training examples (after shuffling with split_seed): quick experiments."""
    max_eval_samples: int | None = Field(None, ge=1)
    """Keep only the first N validation and test examples. Numbers are then not comparable."""
    trend: TrendConfig | None = None
    """Posts, prices, labels and time splits when source is `trend` (filled with the defaults then)."""
    windows: WindowsConfig | None = None
    """Tickers, (past, future) pairs and time splits when source is `windows` (forecasting)."""
    signal: SignalConfig | None = None
    """News, label definition and time splits when source is `signal` (investment-signal detection)."""

    @model_validator(mode="after")
    def _fill_task(self) -> DataConfig:
        if self.source == "trend" and self.trend is None:
            self.trend = TrendConfig()
        if self.source == "windows" and self.windows is None:
            self.windows = WindowsConfig()
        if self.source == "signal" and self.signal is None:
            self.signal = SignalConfig()
        return self


class ModelConfig(_Section):
    path: str = "minilm"
    """Hub id, local directory, a `.gguf` file, or a bundled alias: `minilm` (all-MiniLM-L6-v2, the default encoder),
    `smollm2` (SmolLM2-135M-Instruct), `gemma3-270m` (Gemma 3 270M). GGUF checkpoints (the two LLM aliases are
    4-bit GGUF files) are de-quantised to fp32 and converted once into $FINTUNE_HOME/models/."""
    gguf_file: str | None = None
    """With a directory in `path`: the GGUF file inside it to load (as transformers' `gguf_file`)."""
    trust_remote_code: bool = False
    revision: str | None = None
    kind: Literal["auto", "encoder", "causal"] = "auto"
    """encoder: a sequence classifier (BERT family); causal: an instruction-tuned LM that writes the label."""
    pooling: Literal["auto", "cls", "mean"] = "auto"
    """Sentence vector for the head; auto: what a sentence-transformers checkpoint says, else [CLS]."""


class AdapterConfig(_Section):
    method: Method = "lora"
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.0, ge=0, lt=1)
    """LoRA dropout; 0 (PEFT's default) also skips a copy of every adapter input, ~35% faster on CPU."""
    target_modules: list[str] | None = None
    """Modules that get adapters; default: the model family's attention and MLP projections."""
    loraplus_lr_ratio: float = Field(16.0, gt=0)
    """LoRA+: the B matrices learn this many times faster than A (Hayou et al., 2024)."""
    qlora_bits: Literal[4, 8] = 4
    """qlora: quantise the frozen base weights to 4-bit NF4 or 8-bit (bitsandbytes, CUDA only)."""
    freeze_trainable_layers: int = Field(0, ge=0)
    """freeze: how many of the top encoder layers train besides the classification head."""


class TrainConfig(_Section):
    epochs: int = Field(3, ge=1)
    max_steps: int | None = Field(None, ge=1)
    """When set, overrides epochs."""
    seed: int = 42
    batch_size: int = Field(32, ge=1)
    gradient_accumulation_steps: int = Field(1, ge=1)
    learning_rate: float | None = Field(None, gt=0)
    """Default depends on the method: 1e-3 for adapters and freeze, 5e-5 for full fine-tuning."""
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.06, ge=0, lt=1)
    max_grad_norm: float | None = Field(1.0, gt=0)
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory for long prompts, ~30% slower."""
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

    def resolved_learning_rate(self, method: str) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-5 if method == "full" else 1e-3


class PromptConfig(_Section):
    """How a causal LM is asked (FinGPT's sentiment prompt by default, so numbers are comparable)."""

    instruction: str = "What is the sentiment of this news? Please choose an answer from {{{choices}}}."
    """{choices} becomes the labels joined by '/'."""
    template: str = "Instruction: {instruction}\nInput: {input}\nAnswer: "
    chat_template: Literal["auto", "always", "never"] = "auto"
    """auto: ask through the tokenizer's chat template when it has one; never: FinGPT's plain prompt everywhere."""
    system: str | None = None
    """Chat template only: a system message before the user turn. None: whatever the template writes by itself
    (SmolLM2's adds "You are a helpful AI assistant named SmolLM, trained by Hugging Face"); "" an empty one,
    which costs fewer tokens in every training step and prediction."""


class EvalConfig(_Section):
    baselines: list[Literal["majority", "tfidf_lr", "momentum", "random", "naive_last", "naive_drift", "lstm"]] = [
        "majority",
        "tfidf_lr",
    ]
    """momentum (the previous window's direction) needs a trend source; random draws from the training labels;
    forecasting (`data.source: windows`) has naive_last, naive_drift and lstm, all three by default."""
    batch_size: int = Field(128, ge=1)
    select_metric: Literal["accuracy", "f1_macro", "f1_weighted", "mcc", "loss"] = "f1_weighted"
    """Validation metric that picks the best epoch (never the test split)."""
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
    sentiment_run: str | None = None
    """Trend runs: a finished sentiment run (e.g. runs/fpb-minilm-lora) that scores every post; the mean score
    before each entry is tested as a predictor (`sentiment_index`) beside the baselines."""
    sentiment_window: str | None = None
    """How far back the sentiment index averages posts (default: data.trend.per_period, else 1D)."""


class TrackingConfig(_Section):
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


class RunConfig(_Section):
    name: str = Field("fpb-minilm-lora", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    output_dir: str = "runs"
    overwrite: bool = False
    """Replace a finished run of the same name (only once the new run has finished)."""
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    adapter: AdapterConfig = AdapterConfig()
    train: TrainConfig = TrainConfig()
    prompt: PromptConfig = PromptConfig()
    eval: EvalConfig = EvalConfig()
    tracking: TrackingConfig = TrackingConfig()

    @model_validator(mode="after")
    def _check_combinations(self) -> RunConfig:
        if self.adapter.method == "freeze" and self.adapter.target_modules:
            raise ValueError("adapter.target_modules does not apply to method 'freeze'")
        if (self.eval.sentiment_run or self.eval.sentiment_window) and self.data.source != "trend":
            raise ValueError("eval.sentiment_run needs data.source: trend (posts with prices)")
        if (self.eval.threshold == "target_precision") != (self.eval.target_precision is not None):
            raise ValueError("eval.threshold: target_precision and eval.target_precision go together")
        forecasting = ["naive_last", "naive_drift", "lstm"]
        if self.data.source == "windows":
            if "baselines" not in self.eval.model_fields_set:  # the classification default makes no sense here
                self.eval.baselines = list(forecasting)
            wrong = [b for b in self.eval.baselines if b not in forecasting]
        else:
            wrong = [b for b in self.eval.baselines if b in forecasting]
        if wrong:
            raise ValueError(f"eval.baselines {wrong} do not apply to data.source '{self.data.source}'")
        return self

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML config, apply `key.sub=value` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise FintuneError(f"config file '{path}' not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise FintuneError(f"config file '{path}' is not valid YAML: {_first_line(e)}") from None
    if not isinstance(raw, dict):
        raise FintuneError(f"config file '{path}' must be a mapping of keys to values")
    for item in overrides or []:
        apply_override(raw, item)
    return validate_config(raw, source=str(path))


def validate_config(raw: dict[str, Any], source: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as e:
        raise FintuneError(f"{source}: {describe_validation_error(e)}") from None


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Set `a.b.c=value` in a nested dict; the value is parsed as YAML (so 2, true, [a, b] work)."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise FintuneError(f"override '{item}' must look like key.sub=value")
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FintuneError(f"override '{item}': '{part}' is not a section")
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(value) if value != "" else None
    except yaml.YAMLError:
        node[parts[-1]] = value


def describe_validation_error(e: ValidationError) -> str:
    """One line per problem, each naming the dotted key."""
    lines = []
    for err in e.errors():
        key = ".".join(str(p) for p in err["loc"]) or "config"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown config key '{key}'")
        else:
            lines.append(f"bad value for '{key}': {err['msg']} (got {err.get('input')!r})")
    return "; ".join(lines)


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
