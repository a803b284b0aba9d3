"""The HTTP API with a fake predictor: answers, every kind of bad request -> the right 4xx, API keys, and a
server that keeps answering after all of it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from fintune.errors import FintuneError
from fintune.serve.app import create_app
from fintune.serve.settings import ServeSettings
from tests.serve.conftest import LABELS, FakePredictor

KEY = "s3cret-key"


@pytest.fixture
def client(fake_predictor):
    with TestClient(create_app(fake_predictor, ServeSettings(), name="tiny-run")) as c:
        yield c


def _assert_alive(client, headers=None):
    assert client.get("/healthz").json() == {"status": "ok"}
    res = client.post("/v1/classify", json={"texts": ["profit rose"]}, headers=headers)
    assert res.status_code == 200, res.text


def test_classify_answers_in_request_order(client, fake_predictor):
    texts = ["profit rose", "loss widened", "Operating profit rose to EUR 13.1 mn", "profit rose"]
    res = client.post("/v1/classify", json={"texts": texts})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["model"] == "tiny-run"
    assert body["predictions"] == fake_predictor.predict(texts)
    assert all(list(p["probs"]) == LABELS for p in body["predictions"])


BAD_REQUESTS = {
    "empty list": ({"texts": []}, 422),
    "10,000 texts": ({"texts": ["profit rose"] * 10_000}, 422),
    "1 MB text": ({"texts": ["a" * 1_000_000]}, 422),
    "empty text": ({"texts": ["ok", ""]}, 422),
    "texts is a string": ({"texts": "profit rose"}, 422),
    "number in texts": ({"texts": ["ok", 3]}, 422),
    "null in texts": ({"texts": [None]}, 422),
    "nested list": ({"texts": [["a"]]}, 422),
    "object in texts": ({"texts": [{"text": "a"}]}, 422),
    "no texts key": ({"text": ["a"]}, 422),
    "unknown extra key": ({"texts": ["a"], "top_k": 2}, 422),
    "body is a list": (["profit rose"], 422),
    "body is null": (None, 422),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_requests_get_a_short_4xx_json_and_the_server_keeps_going(client, fake_predictor, name):
    body, status = BAD_REQUESTS[name]
    res = client.post("/v1/classify", json=body)
    assert res.status_code == status, res.text
    detail = res.json()["detail"]
    assert detail and all({"loc", "msg", "type"} <= set(d) for d in detail)
    assert len(res.content) < 4000  # the input is never echoed back
    assert fake_predictor.calls == []
    _assert_alive(client)


@pytest.mark.parametrize(
    "raw, status",
    [
        (b"{", 400),
        (b'{"texts": ["a",]}', 400),
        (b"\xff\xfe not utf-8", 400),
        (b'{"texts": ["\\ud800"]}', 422),  # a lone surrogate: valid JSON, not valid Unicode
        (b"", 422),
    ],
)
def test_broken_json_is_a_client_error(client, raw, status):
    res = client.post("/v1/classify", content=raw, headers={"content-type": "application/json"})
    assert res.status_code == status, res.text
    assert "detail" in res.json()
    _assert_alive(client)


def test_a_body_bigger_than_any_valid_request_is_413(fake_predictor):
    settings = ServeSettings(max_texts=2, max_chars=10)
    with TestClient(create_app(fake_predictor, settings)) as c:
        res = c.post("/v1/classify", content=b'{"texts": ["' + b"a" * settings.max_body_bytes + b'"]}')
        assert res.status_code == 413, res.text
        assert c.post("/v1/classify", json={"texts": ["a" * 10, "b"]}).status_code == 200
        assert c.post("/v1/classify", json={"texts": ["a"] * 3}).status_code == 422


def test_wrong_method_and_path_are_json_4xx(client):
    assert client.get("/v1/classify").status_code == 405
    res = client.post("/v1/nothing", json={})
    assert res.status_code == 404 and res.json() == {"detail": "Not Found"}


def test_a_failing_model_is_a_500_json_and_only_for_its_request(client):
    res = client.post("/v1/classify", json={"texts": ["fine", "BOOM"]})
    assert res.status_code == 500
    assert "model failed" in res.json()["detail"]
    _assert_alive(client)


def test_api_key_guards_everything_but_healthz_and_the_docs(fake_predictor):
    with TestClient(create_app(fake_predictor, ServeSettings(api_key=KEY))) as c:
        good = {"X-API-Key": KEY}
        assert c.get("/healthz").status_code == 200
        for headers in (None, {"X-API-Key": "wrong"}, {"X-API-Key": KEY + "x"}, {"X-API-Key": ""}, {"X-Api-Kex": KEY}):
            res = c.post("/v1/classify", json={"texts": ["a"]}, headers=headers)
            assert res.status_code == 401, headers
            assert "X-API-Key" in res.json()["detail"]
        res = c.post("/v1/classify", json={"texts": ["a"]}, headers=[(b"X-API-Key", b"\xff\xfe")])  # not ASCII
        assert res.status_code == 401
        for path in ("/v1/model", "/nothing"):
            assert c.get(path).status_code == 401, path
        # the docs page opens in a browser, which sends no header; its schema declares the key for the calls it makes
        assert c.get("/docs").status_code == 200
        schemes = c.get("/openapi.json").json()["components"]["securitySchemes"]
        assert [s["name"] for s in schemes.values()] == ["X-API-Key"]
        as_json = {"content-type": "application/json"}
        assert c.post("/v1/classify", content=b"{", headers=good | as_json).status_code == 400
        assert c.post("/v1/classify", content=b"{", headers=as_json).status_code == 401  # the key is checked first
        _assert_alive(c, headers=good)
        assert c.get("/v1/model", headers={"x-api-key": KEY}).status_code == 200  # header names are case-blind


def test_an_empty_api_key_is_refused_rather_than_ignored():
    with pytest.raises(FintuneError, match="empty"):
        ServeSettings(api_key="  ")


def test_model_info_reads_the_run(tmp_path, fake_predictor):
    run = tmp_path / "fpb-minilm-lora"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.85, "n": 1212}}))
    fake_predictor.run_dir = run
    with TestClient(create_app(fake_predictor, ServeSettings(max_texts=8))) as c:
        info = c.get("/v1/model").json()
    assert info["model"] == "fpb-minilm-lora" and info["kind"] == "encoder" and info["engine"] == "torch"
    assert info["precision"] == "fp32" and info["near_tie_margin"] is None  # a margin only for onnx int8
    assert info["labels"] == LABELS
    assert info["test_metrics"] == {"accuracy": 0.85, "n": 1212}
    assert {"fintune", "torch", "transformers"} <= set(info["versions"])
    assert info["limits"] == {"max_texts": 8, "max_chars": 10_000, "max_batch": 64}


def test_docs_show_the_limits(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    texts = schema["components"]["schemas"]["ClassifyRequest"]["properties"]["texts"]
    assert texts["maxItems"] == 256 and texts["minItems"] == 1
    assert texts["items"]["maxLength"] == 10_000


def test_forecast_on_a_classifier_is_409(client):
    res = client.post("/v1/forecast", json={"ticker": "2330.TW", "past": 5, "future": 2})
    assert res.status_code == 409 and "not a forecaster" in res.json()["detail"]


class FakeForecaster:
    run_dir = None

    def forecast(self, ticker, past, future, last_day=None):
        if ticker == "NOPE":
            raise FintuneError("no price file for 'NOPE'")
        dates = list(pd.bdate_range("2019-07-01", periods=future, tz="UTC"))
        rows = pd.DataFrame(
            {"close": [float(past + i) for i in range(future - 1)]}, index=[d.tz_localize(None) for d in dates[:-1]]
        )
        return SimpleNamespace(ticker=ticker, future_dates=dates, parsed=SimpleNamespace(rows=rows), text="rows...")


def test_forecast_endpoint_with_a_forecaster():
    with TestClient(create_app(forecaster=FakeForecaster(), name="tw-windows")) as c:
        res = c.post("/v1/forecast", json={"ticker": "2330.TW", "past": 5, "future": 3, "date": "2019-06-28"})
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["dates"] == ["2019-07-01", "2019-07-02", "2019-07-03"]
        assert body["rows"] == [{"date": "2019-07-01", "close": 5.0}, {"date": "2019-07-02", "close": 6.0}]
        assert body["missing"] == ["2019-07-03"]
        assert c.post("/v1/forecast", json={"ticker": "NOPE"}).status_code == 422
        for bad in (
            {"ticker": "../etc/passwd"},
            {"ticker": "A", "past": 0},
            {"ticker": "A", "past": "5"},
            {"ticker": "A", "date": "June"},
        ):
            assert c.post("/v1/forecast", json=bad).status_code == 422, bad
        res = c.post("/v1/classify", json={"texts": ["a"]})
        assert res.status_code == 409 and "/v1/forecast" in res.json()["detail"]
        assert c.get("/v1/model").json()["kind"] == "forecaster"


def test_create_app_serves_exactly_one_model():
    with pytest.raises(ValueError):
        create_app()
    with pytest.raises(ValueError):
        create_app(FakePredictor(), forecaster=FakeForecaster())
