"""The `fintune` command: parse arguments, load the config, run the recipe of its task.

Bad input (FintuneError, a usage mistake) ends with exit code 2 and one line on stderr (cli_errors.py); anything
else is a bug.

The commands import what they use inside their functions, on purpose: the package pulls in torch and transformers,
seconds of start-up that `fintune --help`, `fintune data list` and a one-line config error should not pay. cli.py is
the top layer, so none of these imports points up (pyproject.toml, [tool.importlinter]).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from fintune.cli_data import data_app
from fintune.cli_errors import run_app, user_errors
from fintune.errors import FintuneError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Fine-tune language models on financial text; evaluate them honestly.",
)


def _print_version(asked: bool) -> None:
    if asked:
        from fintune import __version__

        print(f"fintune {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Fine-tune language models on financial text; evaluate them honestly."""


app.add_typer(data_app, name="data")


NPROC_HELP = "Data-parallel processes on this machine (DDP, started with torchrun); see README 'Multi-process'."


def _quiet_libraries() -> None:
    from fintune.library_noise import quiet_libraries

    quiet_libraries()


@app.command()
@user_errors
def run(
    config: Path = typer.Argument(..., help="YAML config (see configs/)."),
    overrides: list[str] | None = typer.Argument(None, help="key.sub=value overrides, e.g. train.epochs=1"),
    resume: bool = typer.Option(False, "--resume", help="Continue the unfinished run of the same name."),
    nproc: int = typer.Option(1, "--nproc", min=1, help=NPROC_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the config and data, print the resolved config and the plan; train nothing."
    ),
):
    """Train, evaluate against baselines and write a report into runs/<name>/ (the recipe of the config's task)."""
    from fintune.config import load_config

    cfg = load_config(config, overrides)
    if dry_run:
        from fintune.recipes.plan import dry_run_plan

        plan = dry_run_plan(cfg)  # reads the data first, so a data problem is one line, not after the whole config
        print(cfg.to_yaml().rstrip())
        print("---")
        print("\n".join(plan))
        return
    _run_recipe("run", config, overrides, resume, nproc, cfg, with_test=True)


@app.command()
@user_errors
def train(
    config: Path = typer.Argument(..., help="YAML config (see configs/)."),
    overrides: list[str] | None = typer.Argument(None, help="key.sub=value overrides"),
    resume: bool = typer.Option(False, "--resume", help="Continue the unfinished run of the same name."),
    nproc: int = typer.Option(1, "--nproc", min=1, help=NPROC_HELP),
):
    """Train only (validation metrics, weights); evaluate later with `fintune eval`."""
    from fintune.config import load_config

    cfg = load_config(config, overrides)
    path = _run_recipe("train", config, overrides, resume, nproc, cfg, with_test=False)
    if path is not None:
        print(f"run: {path}")


def _run_recipe(command, config, overrides, resume, nproc, cfg, with_test: bool) -> Path | None:
    """Run the task's recipe here (one process, or one rank of a torchrun job), or re-run `command` under torchrun
    in `nproc` processes. Returns the run folder where this process is the one that wrote it, else None."""
    if os.environ.get("RANK", "0") == "0":  # before the heavy imports: on a loaded CPU they take tens of seconds
        print(  # on stdout: stderr stays the one line of an error that may follow
            f"{command} '{cfg.name}': task {cfg.task}, model {cfg.model.path} + {cfg.adapter.method}; "
            "loading the libraries, the data and the model ...",
            flush=True,
        )
    from fintune.recipes import run_recipe
    from fintune.recipes.pieces import check_strategy
    from fintune.train import distributed
    from fintune.train.rundir import RunDir

    if nproc > 1:
        RunDir(cfg).check(resume)  # refuse here what every rank would refuse after starting up
        check_strategy(cfg, nproc)
        distributed.launch([command, str(config), *(overrides or []), *(["--resume"] if resume else [])], nproc)
        return None
    try:
        with distributed.session(cfg.train.strategy) as dist:
            path = run_recipe(cfg, resume=resume, with_test=with_test, dist=dist)
    except FintuneError as e:
        if distributed.report_error(e):  # a worker of --nproc: the launcher prints it, once
            raise typer.Exit(2) from None
        raise
    return path if dist.is_main else None


@app.command("eval")
@user_errors
def eval_(
    run_dir: Path = typer.Option(..., "--run", help="A finished run directory."),
    data: str | None = typer.Option(
        None, "--data", help="Registered dataset or CSV/JSONL path; a comma list (fpb,fiqa-sa) -> benchmark.md."
    ),
    split: str = typer.Option("test", "--split", help="test or validation (of a registered dataset)."),
    allow_changed_data: bool = typer.Option(
        False, "--allow-changed-data", help="Go on when the run's data files changed since it was made (recorded)."
    ),
):
    """Evaluate a finished run on its own test split or on other datasets."""
    from fintune.eval.run_eval import dataset_names, evaluate_run
    from fintune.report.table import print_results

    names = dataset_names(data)
    if len(names) > 1:  # one model load for all of them, and a table across datasets
        _benchmark(run_dir, names, split, allow_changed_data)
        return
    key, block = evaluate_run(run_dir, names[0], split, allow_changed_data)
    title = f"{run_dir.name} on {key} (n={block['n']}, {block['overlap_with_train']} seen in training)"
    print_results({"test": block, "baselines": block["baselines"]}, run_dir.name, title)
    if "unseen_only" in block:
        u = block["unseen_only"]
        print(
            f"without texts seen in training (n={u['n']}): accuracy {u['accuracy']:.4f}, "
            f"weighted F1 {u['f1_weighted']:.4f}, MCC {u['mcc']:.4f}"
        )
    print(f"recorded under evals['{key}'] in {run_dir / 'metrics.json'}")


def _benchmark(run_dir: Path, names: list[str], split: str, allow_changed_data: bool) -> None:
    from fintune.eval.benchmark_table import print_benchmark
    from fintune.eval.run_eval import benchmark_run

    results, table = benchmark_run(run_dir, names, split, allow_changed_data)
    print_benchmark(table, f"{run_dir.name} on {len(results)} datasets ({split}), each beside its majority baseline")
    print(f"recorded under evals {[key for key, _ in results]} in {run_dir / 'metrics.json'}")
    print(f"table: {run_dir / 'benchmark.md'}, {run_dir / 'benchmark.csv'}")


@app.command()
@user_errors
def predict(
    run_dir: Path = typer.Option(..., "--run", help="A finished run directory."),
    texts: list[str] | None = typer.Argument(None, help="Texts to classify."),
    input: Path | None = typer.Option(None, "--input", help="CSV to score."),
    output: Path | None = typer.Option(None, "--output", help="Where to write the scored CSV."),
    text_column: str = typer.Option("text", "--text-column"),
    on_bad_row: str = typer.Option(
        "stop", "--on-bad-row", help="stop: exit 2 naming the row; skip: leave it out, list it in OUT.skipped.csv."
    ),
    chunk_rows: int = typer.Option(2048, "--chunk-rows", min=1, help="Rows read and scored at a time."),
    precision: str = typer.Option("fp32", "--precision", help="fp32 (the run's numbers) or bf16 (native bf16 only)."),
):
    """Classify texts, or score a CSV keeping every column and adding pred_label and prob_<label>."""
    from fintune.atomic import check_writable_file
    from fintune.inference.predictor import Predictor
    from fintune.inference.run_files import check_finished_run

    if bool(input) != bool(output):
        raise FintuneError("--input and --output go together")
    if not texts and not input:
        raise FintuneError("give texts to classify, or --input IN.csv --output OUT.csv")
    check_finished_run(run_dir)
    if output:
        check_writable_file(output, "--output")  # before the scoring, not after it
    predictor = Predictor.load(run_dir, precision=precision)
    if input:
        report = predictor.predict_file(input, output, text_column, chunk_rows, on_bad_row)
        print(f"scored {report.scored} rows -> {output}")
        if report.skipped:
            first = ", ".join(str(row) for row, _ in report.skipped[:5])
            print(f"skipped {len(report.skipped)} bad row(s) (rows {first}...): {report.skipped_file}")
    for text, res in zip(texts or [], predictor.predict(texts or [])):
        probs = "  ".join(f"{k}={v:.3f}" for k, v in res["probs"].items())
        print(f"{res['label']:>10}  {probs}  {text}")


@app.command()
@user_errors
def chat(
    run_dir: Path = typer.Option(..., "--run", help="A finished causal-LM run (sentiment, trend or signal)."),
    once: str | None = typer.Option(None, "--once", help="Answer this one text and exit (for scripts)."),
    show_prompt: bool = typer.Option(False, "--show-prompt", help="Also print the exact prompt the model sees."),
    max_new_tokens: int | None = typer.Option(
        None, "--max-new-tokens", min=1, help="Answer length (default: the run's)."
    ),
):
    """Talk to a fine-tuned LLM: each line goes into the run's prompt; label probabilities and the answer come back."""
    from fintune.inference.run_files import check_chat_run

    check_chat_run(run_dir)
    from fintune.progress import phase

    with phase(f"loading {run_dir}"):  # torch and an LLM take a while to load on a CPU; a log hears it is alive
        from fintune.inference.chat import Chat
        from fintune.inference.predictor import Predictor

        session = Chat(Predictor.load(run_dir), max_new_tokens)

    def answer(text: str) -> None:
        reply = session.reply(text)
        if show_prompt:
            print(f"--- prompt ---\n{reply.prompt}\n--- end of prompt ---")
        probs = "  ".join(f"{label} {p:.3f}" for label, p in sorted(reply.probs.items(), key=lambda kv: -kv[1]))
        print(f"label scoring: {probs}")
        print(f"answer: {reply.answer or '(none: the model ended its answer at once)'}")

    if once is not None:
        answer(once)
        return
    print(f"{run_dir}: labels {', '.join(session.predictor.labels)}; one text per line, Ctrl-D to quit")
    while True:
        try:
            text = input("> ")
        except EOFError:  # Ctrl-D: a clean end of the conversation
            print()
            return
        if text.strip():
            answer(text)


@app.command()
@user_errors
def serve(
    run_dir: Path = typer.Option(..., "--run", help="A finished run (or, with --engine onnx, an ONNX export)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on; 0.0.0.0 opens it to the network."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="0 picks a free port (printed at start)."),
    api_key: str | None = typer.Option(
        None, "--api-key", help="Require this X-API-Key header; default: env FINTUNE_API_KEY (safer than argv)."
    ),
    max_batch: int = typer.Option(64, "--max-batch", min=1, help="Texts per model call across merged requests."),
    max_texts: int = typer.Option(256, "--max-texts", min=1, help="Texts per request; more -> 422."),
    max_chars: int = typer.Option(10_000, "--max-chars", min=1, help="Characters per text; longer -> 422."),
    engine: str = typer.Option("torch", "--engine", help="torch or onnx."),
    precision: str | None = typer.Option(
        None, "--precision", help="torch: fp32 (default) or bf16 (native bf16 CPUs/GPUs); onnx: int8 (default) or fp32."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Model threads (default: cores - 1, min 1)."),
):
    """Serve a run over HTTP: POST /v1/classify (or /v1/forecast), GET /v1/model, /healthz; docs at /docs."""
    _quiet_libraries()
    from fintune.serve.launch import serve as serve_run
    from fintune.serve.settings import ServeSettings

    if api_key is None:  # read here, not by click, which would take an empty variable for "no key"
        api_key = os.environ.get("FINTUNE_API_KEY")
    settings = ServeSettings(
        api_key=api_key,
        max_texts=max_texts,
        max_chars=max_chars,
        max_batch=max_batch,
        engine=engine,
        precision=precision,
        threads=threads,
    )
    serve_run(run_dir, host, port, settings)


@app.command()
@user_errors
def compare(
    sweep_file: Path = typer.Argument(..., help="Sweep YAML: base config, overrides, axes, select."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the runs the sweep stands for; run nothing."),
    part: str | None = typer.Option(
        None, "--part", help="K/N: run only every Nth run from the Kth, e.g. 1/2 and 2/2 in two shells, a core each."
    ),
):
    """Run a grid of configs (finished ones are skipped) -> leaderboard, paired tests, best.json, plots."""
    _quiet_libraries()
    from fintune.compare import compare as run_compare
    from fintune.compare.sweep import parse_part

    try:
        run_compare(sweep_file, dry_run=dry_run, part=parse_part(part) if part else None)
    except KeyboardInterrupt:
        print("fintune: interrupted; finished runs are kept, the same command goes on from there", file=sys.stderr)
        raise typer.Exit(130) from None


@app.command()
@user_errors
def forecast(
    run_dir: Path = typer.Option(..., "--run", help="A finished forecasting run (task: forecast)."),
    ticker: str = typer.Option(..., "--ticker", help="e.g. 2330.TW"),
    past: int = typer.Option(5, "--past", min=1, help="Trading days shown to the model."),
    future: int = typer.Option(5, "--future", min=1, help="Trading days to predict."),
    date: str | None = typer.Option(None, "--date", help="Last past day (default: the last day of the data)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a K-line chart of past, predicted and actual days."),
):
    """Predict the next days of one ticker and print them as rows; optionally draw a K-line chart."""
    _quiet_libraries()
    from rich.table import Table

    from fintune.atomic import check_writable_file
    from fintune.inference.forecaster import Forecaster
    from fintune.report.kline import kline_chart
    from fintune.report.table import wide_console

    if plot:
        check_writable_file(plot, "--plot")
    result = Forecaster.load(run_dir, lazy=True).forecast(ticker, past, future, date, announce=True)
    rows = result.parsed.rows
    first = result.future_dates[0]
    table = Table(title=f"{ticker}: {future} days from {first:%Y-%m-%d}, predicted from the {past} days before")
    for column in ["date", *rows.columns, "actual close"]:
        table.add_column(column, justify="right")
    for day in result.future_dates:
        key = day.tz_localize(None).normalize()
        values = (
            [f"{v:.2f}" for v in rows.loc[key]]
            if key in rows.index
            else ["(not parsed)"] + [""] * (len(rows.columns) - 1)
        )
        actual = result.actual["close"].get(day) if result.actual is not None else None
        table.add_row(f"{day:%Y-%m-%d}", *values, "-" if actual is None else f"{actual:.2f}")
    wide_console().print(table)
    p = result.parsed
    if p.n_missing or p.n_malformed or p.n_unexpected:
        print(f"{p.n_missing} of {p.n_expected} days not parsed ({p.n_malformed} malformed, {p.n_unexpected} misdated)")
    if plot:
        title = f"{ticker} {past}->{future} from {first:%Y-%m-%d} (blue/orange: predicted; line: actual)"
        print(f"chart: {kline_chart(result.past, result.future_dates, rows, result.actual, plot, title)}")


@app.command()
@user_errors
def export(
    run_dir: Path = typer.Option(..., "--run", help="A finished run directory."),
    out: Path = typer.Option(..., "--out", help="New folder for the merged model (must not exist or be empty)."),
    onnx: bool = typer.Option(False, "--onnx", help="Write ONNX (fp32 + int8) for onnxruntime; encoder runs only."),
    gguf: bool = typer.Option(False, "--gguf", help="One GGUF file (llama.cpp, Ollama) + Modelfile; causal runs."),
    gguf_type: str = typer.Option("f16", "--gguf-type", help="GGUF weight type: f16, q8_0 or f32."),
    allow_changed_data: bool = typer.Option(
        False, "--allow-changed-data", help="Go on when the run's data files changed since it was made (recorded)."
    ),
):
    """Merge a run's adapter into its base model and save it, with the tokenizer, for plain transformers (--onnx: as
    fp32 and int8 ONNX graphs for onnxruntime; --gguf: as one GGUF file for llama.cpp / Ollama, checked on reload)."""
    from fintune.export.merged import export_merged

    if onnx and gguf:
        raise FintuneError("--onnx and --gguf write different formats; give one")
    if gguf:
        from fintune.export.gguf_export import export_gguf

        print(f"exported: {export_gguf(run_dir, out, gguf_type)}")
        return
    if onnx:
        from fintune.export.onnx import export_onnx, int8_summary

        folder = export_onnx(run_dir, out, allow_changed_data)
        print(f"exported: {folder}")
        if summary := int8_summary(folder):
            print(summary, file=sys.stderr)
        return
    print(f"exported: {export_merged(run_dir, out)}")


@app.command()
@user_errors
def backtest(
    run_dir: Path = typer.Option(..., "--run", help="A finished trend run (task: trend)."),
    cost_bps: float | None = typer.Option(None, "--cost-bps", help="Cost per unit of turnover (default: the run's)."),
    allow_changed_data: bool = typer.Option(
        False, "--allow-changed-data", help="Go on when the run's data files changed since it was made (recorded)."
    ),
):
    """Trade a trend run's test predictions (long/flat, long/short) against buy-and-hold."""
    from fintune.eval.trend_backtest import backtest_run
    from fintune.report.table import print_backtest

    block, plot = backtest_run(run_dir, cost_bps, allow_changed_data)
    print_backtest(block, f"{run_dir.name}: backtest over the test period")
    print(f"equity curves: {plot}")


@app.command()
@user_errors
def table(runs: list[Path] = typer.Argument(..., help="Finished classification runs on the same test split.")):
    """Test results of several runs side by side (causal LMs both ways), with the first run's baselines."""
    import json

    from fintune.inference.run_files import check_finished_run
    from fintune.report.table import print_rows, side_by_side_rows

    loaded = []
    for run_dir in runs:
        check_finished_run(run_dir)
        loaded.append((run_dir.name, json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))))
    splits = {(m.get("data", {}).get("source"), m["test"].get("n_total", m["test"]["n"])) for _, m in loaded}
    if len(splits) > 1:
        raise FintuneError(
            f"runs were tested on different splits (source, n): {sorted(splits, key=str)}; side by side they must "
            "share one: rerun them with the same data.source and data.max_eval_samples"
        )
    source, n = splits.pop()
    print_rows(side_by_side_rows(loaded), f"{source} test (n={n})")


def main() -> None:
    _quiet_libraries()
    run_app(app)
