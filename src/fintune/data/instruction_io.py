"""Instruction data in and out of fintune: Alpaca / ShareGPT files as LLaMA-Factory and FinGPT use them.

Export turns a labelled split into FinGPT-style instruction examples (the prompt of `PromptTemplate`) and
writes them with the `dataset_info.json` entries LLaMA-Factory needs to train on them. Import reads Alpaca or
ShareGPT files (a JSON list or JSONL) back, and `examples_to_frame` makes them a classification source.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from fintune.data.dataset import LabeledSplits
from fintune.data.prompts import PromptTemplate
from fintune.errors import FintuneError

Format = Literal["alpaca", "sharegpt"]
FORMATS = ("alpaca", "sharegpt")
DATASET_INFO = "dataset_info.json"
SPLITS = ("train", "validation", "test")

# LLaMA-Factory's documented descriptions (data/README.md); the sharegpt tags are its defaults, written out so
# the file says what it holds.
_INFO = {
    "alpaca": {"columns": {"prompt": "instruction", "query": "input", "response": "output"}},
    "sharegpt": {
        "formatting": "sharegpt",
        "columns": {"messages": "conversations"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
    },
}


@dataclass(frozen=True)
class InstructionExample:
    instruction: str
    input: str
    output: str
    id: str = ""


def to_examples(
    frame: pd.DataFrame, labels: list[str], template: PromptTemplate = PromptTemplate()
) -> list[InstructionExample]:
    """Rows `id, text, label` as examples: the template's instruction (choices filled in), the text, the label."""
    instruction = template.instruction.format(choices="/".join(labels))
    return [
        InstructionExample(instruction, str(text), str(label), str(id_))
        for id_, text, label in zip(frame["id"], frame["text"], frame["label"])
    ]


def human_prompt(example: InstructionExample) -> str:
    """The user turn LLaMA-Factory builds from an Alpaca record: `instruction\\ninput`, or the instruction alone."""
    return f"{example.instruction}\n{example.input}" if example.input else example.instruction


def export_alpaca(examples: list[InstructionExample], path: Path) -> Path:
    """Write a JSON list of `{instruction, input, output}`; ids are not written (LLaMA-Factory has no use for them)."""
    records = [{"instruction": e.instruction, "input": e.input, "output": e.output} for e in examples]
    return _write_json(records, Path(path))


def export_sharegpt(examples: list[InstructionExample], path: Path) -> Path:
    """Write a JSON list of two-turn `conversations` (human: `human_prompt`, gpt: the output)."""
    records = [
        {"conversations": [{"from": "human", "value": human_prompt(e)}, {"from": "gpt", "value": e.output}]}
        for e in examples
    ]
    return _write_json(records, Path(path))


def write_dataset_info(folder: Path, entries: dict[str, tuple[str, str]]) -> Path:
    """Add `name -> (file name, format)` entries to `folder/dataset_info.json`, keeping the entries already there."""
    path = Path(folder) / DATASET_INFO
    info = _read_json(path) if path.exists() else {}
    if not isinstance(info, dict):
        raise FintuneError(f"'{path}' is not a JSON object; move it away or fix it")
    for name, (file_name, fmt) in entries.items():
        info[name] = {"file_name": file_name, **_INFO[_check_format(fmt)]}
    return _write_json(info, path)


def export_splits(
    splits: LabeledSplits, folder: Path, fmt: str = "alpaca", template: PromptTemplate = PromptTemplate()
) -> list[Path]:
    """Write `<name>_<split>.json` for train / validation / test and their `dataset_info.json` entries.

    Returns the split files, then `dataset_info.json`.
    """
    write = {"alpaca": export_alpaca, "sharegpt": export_sharegpt}[_check_format(fmt)]
    folder = Path(folder)
    stem = _dataset_stem(splits.name)
    paths, entries = [], {}
    for split in SPLITS:
        path = write(to_examples(getattr(splits, split), splits.labels, template), folder / f"{stem}_{split}.json")
        paths.append(path)
        entries[f"{stem}_{split}"] = (path.name, fmt)
    paths.append(write_dataset_info(folder, entries))
    return paths


def detect_format(path: Path) -> Format:
    """'sharegpt' if the first record has `conversations`, 'alpaca' if it has `instruction`."""
    path = Path(path)
    first = _read_records(path)[0]
    if "conversations" in first:
        return "sharegpt"
    if "instruction" in first:
        return "alpaca"
    raise FintuneError(
        f"instruction file '{path}', record 1: neither 'instruction' (alpaca) nor 'conversations' (sharegpt)"
    )


def load_alpaca(path: Path) -> list[InstructionExample]:
    """Examples from Alpaca records; `instruction` and `output` are required, `input` and `id` optional."""
    path = Path(path)
    examples = []
    for number, record in enumerate(_read_records(path), start=1):
        instruction, output = (_field(record, key, path, number) for key in ("instruction", "output"))
        text = _field(record, "input", path, number) if record.get("input") is not None else ""
        examples.append(InstructionExample(instruction, text, output, _record_id(record)))
    return examples


def load_sharegpt(path: Path) -> list[InstructionExample]:
    """Examples from ShareGPT records: the first human turn and the first gpt turn after it.

    The human turn cannot be split back into instruction and input without guessing, so all of it becomes
    `instruction` and `input` is ''. Later turns are ignored.
    """
    path = Path(path)
    examples = []
    for number, record in enumerate(_read_records(path), start=1):
        turns = record.get("conversations")
        if not isinstance(turns, list):
            raise _record_error(
                path, number, "missing 'conversations'" if turns is None else "'conversations' is not a list"
            )
        human = gpt = None
        for turn in turns:
            if not isinstance(turn, dict):
                raise _record_error(path, number, "a turn in 'conversations' is not a JSON object")
            role = turn.get("from")
            if human is None and role == "human":
                human = _field(turn, "value", path, number)
            elif human is not None and role == "gpt":
                gpt = _field(turn, "value", path, number)
                break
        if human is None:
            raise _record_error(path, number, "no turn from 'human'")
        if gpt is None:
            raise _record_error(path, number, "no turn from 'gpt' after the first 'human' turn")
        examples.append(InstructionExample(human, "", gpt, _record_id(record)))
    return examples


def examples_to_frame(
    examples: list[InstructionExample], labels: list[str] | None = None, source: Path | str | None = None
) -> pd.DataFrame:
    """Columns `id, text, label`: text is the input (the instruction when there is none), label the stripped output.

    With `labels`, an output outside them is an error naming the record (1-based) and, if given, the `source` file.
    Missing ids become the 0-based position, as for a user file without an id column.
    """
    where = f"instruction file '{source}'" if source is not None else "instructions"
    rows = []
    for number, e in enumerate(examples, start=1):
        text, label = (e.input or e.instruction).strip(), e.output.strip()
        if not text:
            raise FintuneError(f"{where}, record {number}: empty 'instruction' and 'input'")
        if not label:
            raise FintuneError(f"{where}, record {number}: empty 'output'")
        if labels is not None and label not in labels:
            raise FintuneError(f"{where}, record {number}: output {label!r} is not one of {labels}")
        rows.append((e.id or str(number - 1), text, label))
    return pd.DataFrame(rows, columns=["id", "text", "label"])


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise FintuneError(f"unknown instruction format '{fmt}' (use alpaca or sharegpt)")
    return fmt


def _dataset_stem(name: str) -> str:
    """'fpb' stays 'fpb'; a path source 'data/my news.csv.gz' becomes 'my_news'."""
    base = Path(name).name
    for suffix in (".gz", ".csv", ".tsv", ".jsonl", ".json"):
        base = base.removesuffix(suffix)
    return re.sub(r"[^\w.-]+", "_", base).strip("_.") or "dataset"


def _write_json(data, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def _decode(path: Path) -> str:
    if not path.is_file():
        raise FintuneError(f"instruction file '{path}' not found")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FintuneError(f"instruction file '{path}' is not UTF-8 (line {line}); re-save it as UTF-8") from None


def _read_json(path: Path):
    try:
        return json.loads(_decode(path))
    except json.JSONDecodeError as e:
        raise FintuneError(f"'{path}' is not valid JSON (line {e.lineno}: {e.msg})") from None


def _read_records(path: Path) -> list[dict]:
    """A JSON list, or JSONL (one object per line); every record must be an object."""
    text = _decode(path)
    if text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as e:
            raise FintuneError(f"instruction file '{path}' is not valid JSON (line {e.lineno}: {e.msg})") from None
    else:
        records = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise FintuneError(
                    f"instruction file '{path}', line {line_no}: invalid JSON ({e.msg}); "
                    "expected a JSON list or one object per line"
                ) from None
    if not records:
        raise FintuneError(f"instruction file '{path}' has no records")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise _record_error(path, number, "not a JSON object")
    return records


def _field(record: dict, key: str, path: Path, number: int) -> str:
    value = record.get(key)
    if value is None:
        raise _record_error(path, number, f"missing '{key}'")
    if not isinstance(value, str):
        raise _record_error(path, number, f"'{key}' is not a string")
    return value


def _record_id(record: dict) -> str:
    value = record.get("id")
    return "" if value is None else str(value)


def _record_error(path: Path, number: int, problem: str) -> FintuneError:
    return FintuneError(f"instruction file '{path}', record {number}: {problem}")
