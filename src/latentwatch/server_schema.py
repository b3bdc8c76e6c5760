"""The REST service's bodies as pydantic models, for its OpenAPI description (``/docs``).

The service reads request bodies itself (JSON records, CSV or Parquet, with the one-line
errors of ``latentwatch score``), so these models describe the bodies rather than parse
them: :func:`request_body` is the ``requestBody`` of ``POST /v1/score`` and
``POST /v1/explain`` (one schema per content type) and :data:`RESPONSES` the documented
answers. :func:`component_schemas` gives the models' JSON schemas, to be added to the
OpenAPI document's ``components``.

Examples
--------
>>> sorted(ScoreRequest.model_json_schema()["properties"])
['context', 'rows']
>>> request_body("score")["content"]["application/json"]["schema"]["oneOf"][1]
{'$ref': '#/components/schemas/ScoreRequest'}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REF = "#/components/schemas/{model}"
Record = dict[str, Any]

_ROW_EXAMPLE = {"transaction_id": "T0000001", "timestamp": "2024-03-20 17:30:15",
                "merchant_category": "grocery", "country": "DE", "amount": 42.5,
                "is_online": False}


class ScoreRequest(BaseModel):
    """Rows to score, and for a time-series model the rows before them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"rows": [_ROW_EXAMPLE]}]})

    rows: list[Record] = Field(
        description="One JSON object per row, keyed by column name (the model's columns "
        "and any id columns); a value may be a number, text, a boolean or null (a gap). "
        "One result per row, in order.")
    context: list[Record] = Field(
        default_factory=list,
        description="Time-series models only: the rows that came before `rows` in the "
        "series, oldest first; at least `context_rows` of them (GET /v1/model) for the "
        "scores `latentwatch score` gives the same rows of the whole file. A table model "
        "refuses a non-empty context.")


class ScoreResponse(BaseModel):
    """The scored rows, one per input row, in order."""

    n_rows: int = Field(description="Rows in the answer (= rows sent).")
    n_anomalies: int = Field(description="Rows above the model's threshold.")
    threshold: float | None = Field(description="The score above which a row is an "
                                    "anomaly (null: the model has no threshold).")
    series_start: bool | None = Field(
        None, description="Time-series models: true when the first rows were scored as "
        "the start of a series (too few context rows).")
    warnings: list[str] | None = Field(None, description="Time-series models: why "
                                       "series_start is true.")
    rows: list[Record] = Field(
        description="Per row: the id columns, score, is_anomaly, p_value (calibrated "
        "models), top1, top1_nats, ... (the columns of `latentwatch score`); with "
        "keep_bad_rows, reason.")


class Contribution(BaseModel):
    """One column's part of a row's score."""

    model_config = ConfigDict(extra="allow")

    column: str
    nats: float = Field(description="The column's part of the score, in nats.")
    observed: Any = Field(description="The value in the row.")
    expected: Any = Field(description="What the model expected, in the column's units.")
    kind: str | None = Field(None, description="The column's kind (numeric, categorical, "
                             "...).")
    probability: float | None = Field(None, description="Categories and booleans: the "
                                      "probability of the observed value.")
    unseen: bool | None = Field(None, description="A category never seen in training.")
    text: str | None = Field(None, description="The contribution as `explain` prints it.")


class ExplainedRow(BaseModel):
    """One row's explanation; the row's id columns come first."""

    model_config = ConfigDict(extra="allow")

    row: int = Field(description="Counted from 1 in the request.")
    score: float
    is_anomaly: bool | None = Field(description="null: the model has no threshold yet.")
    contributions: list[Contribution] = Field(description="Largest first.")


class ExplainResponse(BaseModel):
    """The largest contributions of each row, one entry per row, in order."""

    n_rows: int
    series_start: bool | None = None
    warnings: list[str] | None = None
    rows: list[ExplainedRow]


class Problem(BaseModel):
    """A value that cannot be scored."""

    row: int = Field(description="Counted from 1 in the request.")
    column: str
    value: Any
    message: str


class ErrorResponse(BaseModel):
    """A refused request: one line saying what was wrong, where, and what to do."""

    detail: str | list[Any] = Field(description="One line (a list for a query parameter "
                                    "out of range).")
    problems: list[Problem] = Field(default_factory=list,
                                    description="The rows that cannot be scored (422).")


MODELS: tuple[type[BaseModel], ...] = (ScoreRequest, ScoreResponse, ExplainResponse,
                                       ErrorResponse)


def component_schemas() -> dict[str, Any]:
    """The JSON schema of every model, keyed by name, with references between them
    pointing into the OpenAPI document's ``components``."""
    schemas: dict[str, Any] = {}
    for model in MODELS:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def request_body(endpoint: str) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of ``/v1/score`` or ``/v1/explain``: JSON (a list of
    records, or a :class:`ScoreRequest`), CSV or Parquet."""
    records = {"type": "array", "items": {"type": "object"},
               "description": "A list of rows, each a JSON object keyed by column name."}
    return {
        "required": True,
        "description": f"The rows to {endpoint}, in the format named by Content-Type.",
        "content": {
            "application/json": {
                "schema": {"oneOf": [records, {"$ref": REF.format(model="ScoreRequest")}]},
                "examples": {
                    "records": {"summary": "a list of records", "value": [_ROW_EXAMPLE]},
                    "rows and context": {"summary": "rows (and, for a time series, the "
                                         "rows before them)",
                                         "value": {"rows": [_ROW_EXAMPLE], "context": []}}}},
            "text/csv": {"schema": {"type": "string"},
                         "example": "transaction_id,amount,country\nT0000001,42.5,DE\n"},
            "application/vnd.apache.parquet": {"schema": {"type": "string",
                                                          "format": "binary"}},
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {
        "schema": {"$ref": REF.format(model="ErrorResponse")}}}}


def responses(answer: str) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a scoring endpoint whose success body is ``answer``."""
    return {
        200: {"description": "One result per row, in order.", "content": {
            "application/json": {"schema": {"$ref": REF.format(model=answer)}}}},
        400: _error("The body is not valid JSON."),
        401: _error("Missing or wrong API key (when the service has one)."),
        413: _error("Too many rows or bytes in one request: split it."),
        415: _error("A Content-Type that is not JSON, CSV or Parquet."),
        422: _error("Rows that cannot be scored (listed in problems), or a body of the "
                    "wrong shape."),
    }


__all__ = ["ErrorResponse", "ExplainResponse", "ScoreRequest", "ScoreResponse",
           "component_schemas", "request_body", "responses"]
