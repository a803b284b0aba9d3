"""Alpaca / ShareGPT export and import, LLaMA-Factory's dataset_info.json, and the errors a bad file gets."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from fintune.data.dataset import LabeledSplits
from fintune.data.instruction_io import (
    InstructionExample,
    detect_format,
    examples_to_frame,
    export_alpaca,
    export_sharegpt,
    export_splits,
    human_prompt,
    load_alpaca,
    load_sharegpt,
    to_examples,
    write_dataset_info,
)
from fintune.data.prompts import PromptTemplate
from fintune.errors import FintuneError

LABELS = ["negative", "neutral", "positive"]


def _frame(*rows):
    return pd.DataFrame(rows, columns=["id", "text", "label"])


FRAME = _frame((7, "Profit rose 12 %", "positive"), (8, "Sales fell — sharply", "negative"))


def test_to_examples_uses_the_template_instruction():
    examples = to_examples(FRAME, LABELS)
    instruction = PromptTemplate().instruction.format(choices="negative/neutral/positive")
    assert instruction.endswith("{negative/neutral/positive}.")
    assert examples == [
        InstructionExample(instruction, "Profit rose 12 %", "positive", "7"),
        InstructionExample(instruction, "Sales fell — sharply", "negative", "8"),
    ]


def test_alpaca_round_trip_keeps_unicode(tmp_path):
    examples = to_examples(FRAME, LABELS)
    path = export_alpaca(examples, tmp_path / "a.json")
    assert "—" in path.read_text(encoding="utf-8")
    assert set(json.loads(path.read_text(encoding="utf-8"))[0]) == {"instruction", "input", "output"}
    assert detect_format(path) == "alpaca"
    assert load_alpaca(path) == [replace(e, id="") for e in examples]


def test_sharegpt_round_trip_joins_instruction_and_input(tmp_path):
    examples = to_examples(FRAME, LABELS) + [InstructionExample("Say hi", "", "hi")]
    path = export_sharegpt(examples, tmp_path / "s.json")
    first = json.loads(path.read_text(encoding="utf-8"))[0]["conversations"]
    assert first == [
        {"from": "human", "value": examples[0].instruction + "\nProfit rose 12 %"},
        {"from": "gpt", "value": "positive"},
    ]
    assert detect_format(path) == "sharegpt"
    assert load_sharegpt(path) == [InstructionExample(human_prompt(e), "", e.output) for e in examples]
    assert load_sharegpt(path)[-1].instruction == "Say hi"


def test_dataset_info_entries_and_merge(tmp_path):
    (tmp_path / "dataset_info.json").write_text(json.dumps({"other": {"file_name": "o.json"}}), encoding="utf-8")
    write_dataset_info(tmp_path, {"fpb_train": ("fpb_train.json", "alpaca"), "chat": ("c.json", "sharegpt")})
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info == {
        "other": {"file_name": "o.json"},
        "fpb_train": {
            "file_name": "fpb_train.json",
            "columns": {"prompt": "instruction", "query": "input", "response": "output"},
        },
        "chat": {
            "file_name": "c.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
        },
    }
    with pytest.raises(FintuneError, match="unknown instruction format 'chatml'"):
        write_dataset_info(tmp_path, {"x": ("x.json", "chatml")})


def test_export_splits_names_files_after_a_path_source(tmp_path):
    splits = LabeledSplits("data/my news.csv", LABELS, FRAME, FRAME.iloc[:1], FRAME.iloc[1:])
    paths = export_splits(splits, tmp_path / "out", fmt="sharegpt")
    names = [p.name for p in paths]
    assert names == ["my_news_train.json", "my_news_validation.json", "my_news_test.json", "dataset_info.json"]
    info = json.loads(paths[-1].read_text(encoding="utf-8"))
    assert info["my_news_test"]["file_name"] == "my_news_test.json"
    assert info["my_news_test"]["formatting"] == "sharegpt"
    assert len(load_sharegpt(paths[1])) == 1


def test_jsonl_is_accepted_with_ids(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"instruction": "Sentiment?", "input": "Up 5%", "output": "positive", "id": 3}\n\n'
        '{"instruction": "Sentiment?", "output": "neutral"}\n',
        encoding="utf-8",
    )
    assert detect_format(path) == "alpaca"
    assert load_alpaca(path) == [
        InstructionExample("Sentiment?", "Up 5%", "positive", "3"),
        InstructionExample("Sentiment?", "", "neutral"),
    ]


@pytest.mark.parametrize(
    ("loader", "records", "message"),
    [
        (load_alpaca, [{"instruction": "i", "output": "o"}] * 2 + [{"instruction": "i"}], "record 3: missing 'output'"),
        (load_alpaca, [{"instruction": "i", "output": 1}], "record 1: 'output' is not a string"),
        (load_alpaca, [{"instruction": "i", "output": "o"}, ["i", "o"]], "record 2: not a JSON object"),
        (load_sharegpt, [{"messages": []}], "record 1: missing 'conversations'"),
        (load_sharegpt, [{"conversations": [{"from": "human", "value": "q"}]}], "record 1: no turn from 'gpt'"),
        (load_sharegpt, [{"conversations": [{"from": "gpt", "value": "a"}]}], "record 1: no turn from 'human'"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path, loader, records, message):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(FintuneError) as error:
        loader(path)
    assert str(error.value).startswith(f"instruction file '{path}', {message}")
    assert "\n" not in str(error.value)


def test_unreadable_files_name_the_file(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('[{"instruction": "i",', encoding="utf-8")
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"instruction": "i", "output": "o"}\n{oops}\n', encoding="utf-8")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('[{"instruction": "café", "output": "o"}]'.encode("latin-1"))
    with pytest.raises(FintuneError, match=r"bad\.json' is not valid JSON"):
        load_alpaca(bad_json)
    with pytest.raises(FintuneError, match=r"bad\.jsonl', line 2: invalid JSON"):
        load_alpaca(bad_jsonl)
    with pytest.raises(FintuneError, match=r"latin1\.json' is not UTF-8"):
        load_alpaca(latin1)
    with pytest.raises(FintuneError, match=r"missing\.json' not found"):
        detect_format(tmp_path / "missing.json")


def test_examples_to_frame_checks_labels():
    examples = [
        InstructionExample("Sentiment?", "Up 5%", " positive\n", "a"),
        InstructionExample("Headline only", "", "neutral"),
    ]
    frame = examples_to_frame(examples, LABELS)
    assert frame.to_dict("records") == [
        {"id": "a", "text": "Up 5%", "label": "positive"},
        {"id": "1", "text": "Headline only", "label": "neutral"},
    ]
    bad = examples + [InstructionExample("Sentiment?", "Down", "bearish")]
    with pytest.raises(FintuneError, match=r"^instruction file 'x\.json', record 3: output 'bearish' is not one of"):
        examples_to_frame(bad, LABELS, source="x.json")
    assert examples_to_frame(bad)["label"].tolist() == ["positive", "neutral", "bearish"]
