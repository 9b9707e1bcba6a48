"""faultline: incident analysis for notebooks and data pipelines.

Detect metric anomalies, mine log templates, rank root causes and plan fixes, with the Rust
core of faultline doing the work (the GIL is released while it runs).

Inputs are Arrow data through the Arrow PyCapsule interface (pyarrow, polars, duckdb, ...),
pandas objects (through pyarrow), numpy arrays or plain lists; float64 columns are read in
place, never copied. Outputs are pyarrow tables/arrays (``polars.from_arrow`` and
``.to_pandas()`` convert them) and dicts shaped like the JSON report. Fixes go through
:class:`Fixer` (plan, preflight, approve, execute, verify, with a signed audit log). Configuration is a plain
dict shaped like ``PipelineConfig`` (see :func:`default_config`); unknown keys are errors.

>>> import faultline
>>> scores = faultline.score([10.0, 11.0, 10.0, 10.5] * 50 + [80.0])
>>> len(scores)
201
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pyarrow as pa

from . import _native
from ._native import (
    AdapterError,
    AnalysisError,
    ArrowData,
    BundleError,
    ConfigError,
    DetectError,
    FaultlineError,
    FixError,
    Fixer,
    InputError,
    InternalError,
    MiningError,
    NotAllowedError,
    comparisons,
    default_catalog,
    default_config,
    generate_key,
    render_markdown,
    validate_config,
    verify_audit,
)

__version__ = _native.__version__

__all__ = [
    "AdapterError",
    "AnalysisError",
    "ArrowData",
    "BundleError",
    "ConfigError",
    "DetectError",
    "FaultlineError",
    "FixError",
    "Fixer",
    "InputError",
    "InternalError",
    "MiningError",
    "NotAllowedError",
    "TemplateMiner",
    "analyze",
    "analyze_bundle",
    "comparisons",
    "decompose",
    "default_catalog",
    "default_config",
    "detect",
    "generate_key",
    "mine",
    "render_markdown",
    "score",
    "tables",
    "validate_config",
    "verify_audit",
]


def _column(x: Any, name: str) -> Any:
    """An input column as something the native module reads: Arrow data passes as it is;
    numpy arrays and pandas series go through pyarrow (zero-copy for numeric dtypes)."""
    if x is None or hasattr(x, "__arrow_c_stream__") or hasattr(x, "__arrow_c_array__"):
        return x
    if isinstance(x, (list, tuple)):
        return x
    mod = type(x).__module__
    if mod.startswith("pandas"):
        try:
            return pa.array(x, from_pandas=False) if hasattr(x, "dtype") else x
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"`{name}`: cannot read the pandas column: {e}") from e
    if hasattr(x, "__array__") and hasattr(x, "ndim"):
        if x.ndim != 1:
            raise InputError(f"`{name}`: expected a 1-D array, got {x.ndim} dimensions with shape {x.shape}")
        if getattr(getattr(x, "dtype", None), "kind", "") == "O":
            return list(x)
        try:
            return pa.array(x)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
            raise InputError(f"`{name}`: cannot read the array: {e}") from e
    return x


def _table(x: Any, name: str) -> Any:
    """An input table: Arrow tables/DataFrames pass as they are; pandas goes through pyarrow;
    duckdb relations through their Arrow export; a dict of columns becomes a pyarrow table."""
    if x is None or hasattr(x, "__arrow_c_stream__") or hasattr(x, "__arrow_c_array__"):
        return x
    if type(x).__module__.startswith("pandas"):
        try:
            return pa.Table.from_pandas(x, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"`{name}`: cannot read the pandas DataFrame: {e}") from e
    if hasattr(x, "arrow") and callable(x.arrow):  # duckdb relations of older versions
        return x.arrow()
    if isinstance(x, Mapping):
        try:
            return pa.table({k: _column(v, f"{name}.{k}") for k, v in x.items()})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise InputError(f"`{name}`: cannot build a table from the dict: {e}") from e
    if isinstance(x, list) and name == "topology":
        return x
    raise InputError(f"`{name}`: expected a table (pyarrow, polars, pandas, duckdb), got {type(x).__name__}")


def score(values: Any, *, config: Mapping[str, Any] | None = None) -> pa.Array:
    """Causal anomaly scores in [0, 1], one per value (row i's score uses rows <= i only), as
    the ``faultline detect`` command computes them. ``config``: a ``StreamConfig`` dict."""
    return pa.array(_native.score(_column(values, "values"), config=config))


def detect(
    values: Any,
    timestamps: Any = None,
    *,
    service: str = "series",
    metric: str = "value",
    config: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Anomaly episodes (level shifts, trends, outliers) of one series, as report-shaped dicts
    (``start``, ``end``, ``peak``, ``score``, ``kind``, ...). ``config``: a ``PipelineConfig``
    dict (its ``detect`` section: ``method`` picks the detector, e.g.
    ``{"detect": {"method": "multi_res"}}``; without ``method``, the segment detector's
    settings)."""
    return _native.detect(
        _column(values, "values"),
        _column(timestamps, "timestamps"),
        service=service,
        metric=metric,
        config=config,
    )


def decompose(values: Any, period: int, *, robust: bool = False) -> pa.Table:
    """STL decomposition of ``values`` with a seasonal ``period`` in samples: a table of
    ``trend``, ``seasonal`` and ``remainder``."""
    return pa.table(_native.decompose(_column(values, "values"), period, robust=robust))


def mine(messages: Any, *, config: Mapping[str, Any] | None = None, raw: bool = False) -> pa.Table:
    """Log templates of a column of messages: one row per message with ``cluster`` and
    ``template`` (text with ``<*>``; dictionary-encoded). ``raw`` strips header fields
    (timestamp, level, ...) first. ``config``: a ``PipelineConfig`` dict (``logs.miner``)."""
    return pa.table(_native.mine(_column(messages, "messages"), config=config, raw=raw))


class TemplateMiner:
    """An incremental template miner: feed messages as they arrive, read templates any time,
    snapshot and restore the state (a JSON-serialisable dict)."""

    def __init__(self, config: Mapping[str, Any] | None = None, *, _inner: Any = None) -> None:
        self._inner = _inner if _inner is not None else _native.TemplateMiner(config)

    def add(self, message: str) -> int:
        """Adds one message; returns its cluster id."""
        return self._inner.add(message)

    def add_many(self, messages: Any, *, raw: bool = False) -> pa.Table:
        """Adds a column of messages; returns their ``cluster``, ``template`` table."""
        return pa.table(self._inner.add_many(_column(messages, "messages"), raw=raw))

    def resolve(self, cluster_id: int) -> int:
        """The surviving cluster of ``cluster_id`` (clusters merge as the miner learns)."""
        return self._inner.resolve(cluster_id)

    def template(self, cluster_id: int) -> str | None:
        """The current template of a cluster."""
        return self._inner.template(cluster_id)

    def count(self, cluster_id: int) -> int | None:
        """How many messages a cluster has."""
        return self._inner.count(cluster_id)

    def parameters(self, cluster_id: int, message: str) -> list[str] | None:
        """The variable parts of ``message`` under its cluster's template."""
        return self._inner.parameters(cluster_id, message)

    def templates(self) -> pa.Table:
        """Every live cluster: ``cluster``, ``template``, ``count``, most frequent first."""
        return pa.table(self._inner.templates())

    def snapshot(self) -> dict[str, Any]:
        """The miner's state as a JSON-serialisable dict."""
        return self._inner.snapshot()

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> "TemplateMiner":
        """A miner restored from :meth:`snapshot`."""
        return cls(_inner=_native.TemplateMiner.restore(snapshot))

    @property
    def config(self) -> dict[str, Any]:
        """The miner's settings (``logs.miner`` of a ``PipelineConfig``)."""
        return self._inner.config

    def __len__(self) -> int:
        return len(self._inner)

    def __repr__(self) -> str:
        return f"TemplateMiner(clusters={len(self)})"


def analyze_bundle(
    path: Any,
    *,
    config: Mapping[str, Any] | None = None,
    llm: Any = None,
    detector: Any = None,
    catalog: Any = None,
) -> dict[str, Any]:
    """Analyses an incident bundle directory; returns the report as a dict shaped like the JSON
    report (``hypotheses``, ``evidence``, ``anomalies``, ``templates``, ``timeline``, ...).

    ``llm``: an object with ``complete(request: dict) -> str`` that narrates the report.
    ``detector``: an object with ``detect(series: dict) -> list[dict]`` that replaces the
    configured detector on every series (``series``: ``service``, ``metric``, ``labels``,
    ``timestamps`` in ns, ``values``). ``catalog``: the fix catalog used when
    ``config["plan"]["enabled"]`` (dict, list of rules, YAML text or path; see
    :func:`default_catalog`)."""
    return _native.analyze_bundle(str(path), config=config, llm=llm, detector=detector, catalog=catalog)


def analyze(
    incident: Mapping[str, Any],
    *,
    metrics: Any = None,
    logs: Any = None,
    events: Any = None,
    topology: Any = None,
    config: Mapping[str, Any] | None = None,
    llm: Any = None,
    detector: Any = None,
    catalog: Any = None,
) -> dict[str, Any]:
    """Analyses an incident from in-memory tables; returns the report as a dict.

    ``incident``: ``{"id", "onset", "title"?, "window"?: {"start", "end"}, "environment"?}``.
    ``metrics``: long table ``service, metric, timestamp, value`` (other string columns are
    labels). ``logs``: ``timestamp, service, message`` (+ ``level``, ``trace_id``,
    ``span_id``, attributes). ``events``: ``timestamp, service, kind`` (+ ``version``,
    ``description``). ``topology``: table ``source, target[, kind]`` or list of pairs.
    Tables may be pyarrow, polars, pandas or duckdb objects, or dicts of columns.
    ``llm``, ``detector`` and ``catalog``: as for :func:`analyze_bundle`.
    """
    return _native.analyze(
        dict(incident),
        metrics=_table(metrics, "metrics"),
        logs=_table(logs, "logs"),
        events=_table(events, "events"),
        topology=_table(topology, "topology"),
        config=config,
        llm=llm,
        detector=detector,
        catalog=catalog,
    )


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{name}."))
        elif isinstance(v, list) and any(isinstance(x, (Mapping, list)) for x in v):
            out[name] = json.dumps(v)
        else:
            out[name] = v
    return out


def tables(report: Mapping[str, Any]) -> dict[str, pa.Table]:
    """The list sections of a report as pyarrow tables: ``hypotheses``, ``evidence``,
    ``anomalies``, ``templates``, ``timeline``. Nested objects become dotted columns
    (``series.service``, ``cause.kind``); lists of objects become JSON text."""
    out: dict[str, pa.Table] = {}
    for key in ("hypotheses", "evidence", "anomalies", "templates", "timeline"):
        rows = [_flat(r) for r in report.get(key) or []]
        names: list[str] = []
        for r in rows:
            names.extend(n for n in r if n not in names)
        out[key] = pa.table({n: [r.get(n) for r in rows] for n in names}) if rows else pa.table({})
    return out
