//! Log template mining: `mine` over a column of messages and the incremental `TemplateMiner`.

use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{ArrayRef, DictionaryArray, StringArray, UInt32Array, UInt64Array};
use faultline::cluster::{split_header, ClusterId, MinerConfig, MinerSnapshot, TemplateMiner as Miner};
use pyo3::prelude::*;

use crate::columns::{self, Column};
use crate::convert;
use crate::errors::{input_error, internal_error, IntoPy};
use crate::output::ArrowData;

fn miner_config(config: Option<&Bound<'_, PyAny>>) -> PyResult<MinerConfig> {
    Ok(convert::pipeline_config(config)?.logs.miner)
}

/// Adds every message of `col` to `miner`, returning the (unresolved) cluster id of each.
fn add_all(py: Python<'_>, miner: &mut Miner, col: &Column, raw: bool) -> PyResult<Vec<u32>> {
    columns::check_strings(col, "messages")?;
    Ok(py.detach(|| {
        let mut ids = Vec::with_capacity(columns::len(col));
        let mut add = |text: &str| {
            let msg = if raw { split_header(text).message } else { text };
            ids.push(miner.add(msg).0);
        };
        match col {
            Column::Arrow(chunks) => {
                for a in chunks {
                    columns::for_each_str(a, |_, s| add(s));
                }
            }
            Column::Strings(v) => v.iter().for_each(|s| add(s)),
            Column::Floats(_) => {}
        }
        ids
    }))
}

/// Resolves ids to surviving clusters and builds the `cluster`, `template` table (the template
/// column is dictionary-encoded: one string per cluster, not per row).
fn result_table(miner: &Miner, ids: Vec<u32>) -> PyResult<ArrowData> {
    let bound = miner.id_bound() as usize;
    let mut resolved_of: Vec<u32> = (0..bound as u32).collect();
    for (i, r) in resolved_of.iter_mut().enumerate() {
        *r = miner.resolve(ClusterId(i as u32)).0;
    }
    let resolved: Vec<u32> = ids
        .iter()
        .map(|&id| resolved_of.get(id as usize).copied().unwrap_or(id))
        .collect();
    let templates: Vec<Option<String>> = (0..bound as u32).map(|i| miner.template(ClusterId(i))).collect();
    let keys = UInt32Array::from(resolved.clone());
    let dict = DictionaryArray::<UInt32Type>::try_new(keys, Arc::new(StringArray::from(templates)))
        .map_err(|e| internal_error(format!("cannot build the template column: {e}")))?;
    ArrowData::table(vec![
        ("cluster", Arc::new(UInt32Array::from(resolved)) as ArrayRef),
        ("template", Arc::new(dict) as ArrayRef),
    ])
}

/// Mines templates from a column of log messages: a table with one row per message,
/// `cluster` (uint32) and `template` (text with `<*>`, dictionary-encoded), as
/// `faultline mine` prints. With `raw`, header fields (timestamp, level, ...) are stripped
/// first. `config` is a `PipelineConfig` dict (its `logs.miner` section is used).
#[pyfunction]
#[pyo3(signature = (messages, *, config=None, raw=false))]
pub fn mine(
    py: Python<'_>,
    messages: &Bound<'_, PyAny>,
    config: Option<&Bound<'_, PyAny>>,
    raw: bool,
) -> PyResult<ArrowData> {
    let mut miner = Miner::new(miner_config(config)?).py_err()?;
    let col = columns::column(messages, "messages")?;
    let ids = add_all(py, &mut miner, &col, raw)?;
    result_table(&miner, ids)
}

/// An incremental template miner: feed it messages as they arrive, read templates at any time,
/// snapshot and restore its state.
#[pyclass(module = "faultline._native")]
pub struct TemplateMiner {
    inner: Miner,
}

#[pymethods]
impl TemplateMiner {
    /// A miner configured by a `PipelineConfig` dict (its `logs.miner` section).
    #[new]
    #[pyo3(signature = (config=None))]
    fn new(config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(Self {
            inner: Miner::new(miner_config(config)?).py_err()?,
        })
    }

    /// Adds one message; returns its cluster id.
    fn add(&mut self, message: &str) -> u32 {
        self.inner.add(message).0
    }

    /// Adds a column of messages (Arrow string column or list); returns the `cluster`,
    /// `template` table of these messages, as `mine` does.
    #[pyo3(signature = (messages, *, raw=false))]
    fn add_many(&mut self, py: Python<'_>, messages: &Bound<'_, PyAny>, raw: bool) -> PyResult<ArrowData> {
        let col = columns::column(messages, "messages")?;
        let ids = add_all(py, &mut self.inner, &col, raw)?;
        result_table(&self.inner, ids)
    }

    /// The surviving cluster of `cluster_id` (clusters merge as the miner learns).
    fn resolve(&self, cluster_id: u32) -> u32 {
        self.inner.resolve(ClusterId(cluster_id)).0
    }

    /// The current template of a cluster, or None.
    fn template(&self, cluster_id: u32) -> Option<String> {
        self.inner.template(ClusterId(cluster_id))
    }

    /// Number of messages of a cluster, or None.
    fn count(&self, cluster_id: u32) -> Option<u64> {
        self.inner.count(ClusterId(cluster_id))
    }

    /// Variable parts of `message` under the template of `cluster_id`, or None.
    fn parameters(&self, cluster_id: u32, message: &str) -> Option<Vec<String>> {
        self.inner.parameters(ClusterId(cluster_id), message)
    }

    /// All live clusters as a table of `cluster`, `template`, `count`, most frequent first.
    fn templates(&self) -> PyResult<ArrowData> {
        let mut rows: Vec<(u32, String, u64)> = self
            .inner
            .cluster_ids()
            .map(|id| {
                (
                    id.0,
                    self.inner.template(id).unwrap_or_default(),
                    self.inner.count(id).unwrap_or(0),
                )
            })
            .collect();
        rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        ArrowData::table(vec![
            (
                "cluster",
                Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
            ),
            (
                "template",
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.1))) as ArrayRef,
            ),
            (
                "count",
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))) as ArrayRef,
            ),
        ])
    }

    /// The miner's state as a dict (JSON-serialisable), for `TemplateMiner.restore`.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::ser_to_py(py, &self.inner.snapshot())
    }

    /// A miner restored from `snapshot()`'s dict.
    #[staticmethod]
    fn restore(snapshot: &Bound<'_, PyAny>) -> PyResult<Self> {
        let v = convert::to_json(snapshot, "snapshot")?;
        let snap: MinerSnapshot =
            serde_json::from_value(v).map_err(|e| input_error(format!("snapshot: {e}")))?;
        Ok(Self {
            inner: Miner::restore(snap).py_err()?,
        })
    }

    /// Number of live clusters.
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The miner's configuration as a dict (`logs.miner` of a `PipelineConfig`).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::ser_to_py(py, self.inner.config())
    }

    fn __repr__(&self) -> String {
        format!("TemplateMiner(clusters={})", self.inner.len())
    }
}
