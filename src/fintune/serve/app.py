"""The HTTP API over a loaded model: POST /v1/classify, POST /v1/forecast, GET /v1/model, GET /healthz, /docs.

HTTP only: the model arrives as an object with `labels` and `predict_proba(texts)` (`Predictor`, or the ONNX
engine's), or as a `Forecaster`, so tests can pass a fake one and engines can be swapped without touching this.
"""

# no `from __future__ import annotations` here: FastAPI reads the endpoint annotations at runtime, and the
# classify body is a model built inside create_app (its limits come from the settings)

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Security
from fastapi.security import APIKeyHeader

from fintune import __version__
from fintune.errors import FintuneError
from fintune.serve import handlers
from fintune.serve.auth import ApiKeyMiddleware
from fintune.serve.batcher import MicroBatcher, Overloaded
from fintune.serve.info import model_info
from fintune.serve.protocol import (
    ClassifyResponse,
    ErrorBody,
    ForecastRequest,
    ForecastResponse,
    ModelInfo,
    classify_request_model,
)
from fintune.serve.settings import ServeSettings

log = logging.getLogger("fintune.serve")

DESCRIPTION = """Classify financial texts (or forecast prices) with a finished fintune run.

Limits: at most `max_texts` texts per request and `max_chars` characters per text (see GET /v1/model);
breaking one gives **422**, as does any other schema error (wrong types, empty list or text, unknown field).
A body that is not JSON gives **400**; a body larger than any valid request gives **413**; a full queue
gives **503** with Retry-After. When the server has an API key, every path except /healthz needs the
header `X-API-Key` (**401** otherwise). Errors are JSON: `{"detail": ...}`.
"""


def _errors(*codes: int) -> dict:
    return {code: {"model": ErrorBody} for code in codes}


def create_app(
    predictor=None,
    settings: ServeSettings | None = None,
    *,
    forecaster=None,
    name: str | None = None,
) -> FastAPI:
    """An app serving `predictor` (classification) or `forecaster` (a forecasting run); exactly one of them."""
    settings = settings or ServeSettings()
    if (predictor is None) == (forecaster is None):
        raise ValueError("create_app serves exactly one of predictor or forecaster")
    kind = "forecaster" if forecaster is not None else getattr(predictor, "kind", "encoder")
    info = model_info(predictor if predictor is not None else forecaster, kind, settings, name)
    run_name = info["model"]
    ClassifyRequest = classify_request_model(settings.max_texts, settings.max_chars)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher = None
        if predictor is not None:
            batcher = MicroBatcher(
                predictor.predict_proba,
                len(predictor.labels),
                settings.max_batch,
                settings.max_wait_ms,
                settings.max_pending_texts,
            )
            await batcher.start()
        app.state.batcher = batcher
        # generation is long and not batched: one forecast at a time, off the event loop
        app.state.forecast_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fintune-forecast")
        try:
            yield
        finally:  # uvicorn has let in-flight requests finish; the batcher drains whatever is still queued
            if batcher is not None:
                await batcher.stop()
            app.state.forecast_pool.shutdown(wait=True)

    app = FastAPI(
        title="fintune",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        # with a key, the schema declares the header, so the docs page offers to send it (the middleware checks it)
        dependencies=[Security(APIKeyHeader(name="X-API-Key", auto_error=False))] if settings.api_key else None,
    )
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key)
    handlers.install(app)

    @app.get("/healthz")
    async def healthz() -> dict:
        """Liveness for load balancers and scripts; open even when the server has an API key."""
        return {"status": "ok"}

    @app.get("/v1/model", responses=_errors(401))
    async def model() -> ModelInfo:
        """Run name, kind, labels, the run's test metrics, package versions and this server's limits."""
        return ModelInfo(**info)

    @app.post("/v1/classify", responses=_errors(400, 401, 409, 413, 422, 500, 503))
    async def classify(body: ClassifyRequest) -> ClassifyResponse:
        """Label and class probabilities for each text, in request order."""
        if predictor is None:
            raise HTTPException(409, f"'{run_name}' is a forecasting run, not a classifier; use POST /v1/forecast")
        try:
            probs = await app.state.batcher.submit(body.texts)
        except Overloaded as e:
            raise HTTPException(503, str(e), headers={"Retry-After": "1"}) from None
        except Exception:
            log.exception("prediction failed for a request of %d texts", len(body.texts))
            raise HTTPException(500, "the model failed on this request; see the server log") from None
        labels = predictor.labels
        predictions = [
            {"label": labels[int(row.argmax())], "probs": {lab: float(p) for lab, p in zip(labels, row)}}
            for row in probs
        ]
        return ClassifyResponse(model=run_name, predictions=predictions)

    @app.post("/v1/forecast", responses=_errors(400, 401, 409, 413, 422, 500))
    async def forecast(body: ForecastRequest) -> ForecastResponse:
        """The next `future` trading days of `ticker` after `date`, from the `past` days up to it."""
        if forecaster is None:
            raise HTTPException(409, f"'{run_name}' is a classification run, not a forecaster; use POST /v1/classify")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                app.state.forecast_pool, forecaster.forecast, body.ticker, body.past, body.future, body.date
            )
        except FintuneError as e:  # unknown ticker, a date without trading, too little history
            raise HTTPException(422, str(e)) from None
        except Exception:
            log.exception("forecast failed for %s", body.ticker)
            raise HTTPException(500, "the model failed on this request; see the server log") from None
        return _forecast_body(result, run_name)

    return app


def _forecast_body(result, run_name: str) -> ForecastResponse:
    rows = result.parsed.rows
    dates, out, missing = [], [], []
    for day in result.future_dates:
        stamp = f"{day:%Y-%m-%d}"
        dates.append(stamp)
        key = day.tz_localize(None).normalize() if day.tzinfo else day.normalize()
        if key in rows.index:
            out.append({"date": stamp, **{col: float(v) for col, v in rows.loc[key].items()}})
        else:
            missing.append(stamp)
    return ForecastResponse(
        model=run_name, ticker=result.ticker, dates=dates, rows=out, missing=missing, text=result.text
    )
