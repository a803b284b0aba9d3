"""Request and response bodies of the HTTP API. Limits live in the schema, so /docs shows them and a request
that breaks one gets 422 with the field named, before any model work."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, create_model


def _encodable(text: str) -> str:
    # JSON may carry "\ud800"; Python keeps the lone surrogate, and the tokenizer would fail on it later (a 500)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text holds a lone UTF-16 surrogate, which is not valid Unicode") from None
    return text


def classify_request_model(max_texts: int, max_chars: int) -> type[BaseModel]:
    """The body of POST /v1/classify with this server's limits built in."""
    text = Annotated[
        str,
        StringConstraints(strict=True, min_length=1, max_length=max_chars),
        AfterValidator(_encodable),
    ]
    return create_model(
        "ClassifyRequest",
        __config__=ConfigDict(
            extra="forbid",
            json_schema_extra={"examples": [{"texts": ["Operating profit rose to EUR 13.1 mn from EUR 8.7 mn"]}]},
        ),
        texts=(
            list[text],
            Field(
                min_length=1,
                max_length=max_texts,
                description=f"1 to {max_texts} non-empty texts of at most {max_chars} characters each.",
            ),
        ),
    )


class Prediction(BaseModel):
    label: str = Field(description="The most probable label.")
    probs: dict[str, float] = Field(description="Probability of every label, in the run's label order.")


class ClassifyResponse(BaseModel):
    model: str = Field(description="Name of the run being served.")
    predictions: list[Prediction] = Field(description="One per text, in the order of the request.")


class ForecastRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"ticker": "2330.TW", "past": 5}]})

    # the ticker becomes part of a price file's name: no slashes, no leading dot
    ticker: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9.^=_-]{0,19}$", strict=True, description="e.g. 2330.TW")
    past: int = Field(5, ge=1, le=250, strict=True, description="Trading days shown to the model.")
    future: int = Field(5, ge=1, le=60, strict=True, description="Trading days to predict.")
    date: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        strict=True,
        description="Last past day, YYYY-MM-DD (default: the last day of the data).",
    )


class ForecastResponse(BaseModel):
    model: str
    ticker: str
    dates: list[str] = Field(description="The predicted days, YYYY-MM-DD.")
    rows: list[dict[str, Any]] = Field(description="One per day the model wrote well: date plus one value per field.")
    missing: list[str] = Field(description="Predicted days the model's answer did not give (or gave malformed).")
    text: str = Field(description="The model's raw answer.")


class ModelInfo(BaseModel):
    model: str = Field(description="Run name.")
    kind: str = Field(description="encoder, causal or forecaster.")
    engine: str = Field(description="torch or onnx.")
    precision: str = Field(description="torch: fp32 or bf16; onnx: int8 or fp32.")
    near_tie_margin: float | None = Field(
        None, description="onnx int8: texts whose top two probabilities are closer than this are re-scored in fp32."
    )
    labels: list[str]
    test_metrics: dict[str, Any] | None = Field(description="The run's test block of metrics.json, if it has one.")
    versions: dict[str, str]
    limits: dict[str, int] = Field(description="max_texts, max_chars, max_batch of this server.")


class ErrorBody(BaseModel):
    detail: str | list[dict[str, Any]] = Field(description="What was wrong; for 422 one entry per field.")
