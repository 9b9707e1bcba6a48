//! Log template mining: a whole batch of lines at once ([`mine`], [`mine_sync`]) or a
//! long-lived [`Miner`] fed incrementally, whose state can be snapshotted and restored.

use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};

use faultline::cluster::{split_header, ClusterId, MinerConfig, MinerSnapshot, TemplateMiner};
use napi::bindgen_prelude::{AsyncTask, PromiseRaw, Uint32Array};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::config::strict;
use crate::error::{Fallible, Family, JsFailure};
use crate::lines::{input, utf8_text, Batch, Copied, Input, LinesArg};
use crate::task::Job;

/// Options of `mine` / `mineSync`.
#[napi(object)]
pub struct MineOptions {
    /// Lines carry headers (timestamp, level, component, pid) to strip before mining, as
    /// `faultline mine --raw`.
    pub raw: Option<bool>,
    /// Miner settings (mirrors `PipelineConfig.logs.miner`).
    #[napi(ts_type = "MinerConfig")]
    pub config: Option<Value>,
}

/// What `mine` returns: the cluster of every line and the clusters' templates.
#[napi(object)]
pub struct MineResult {
    /// Cluster id of each input line, in input order (the cluster that survived merges, so
    /// every line of a cluster shows its final template).
    pub clusters: Uint32Array,
    /// Template text with `<*>` for variables, indexed by cluster id (`templates[clusters[i]]`);
    /// empty for ids merged into another cluster or evicted at the cluster cap.
    pub templates: Vec<String>,
    /// Lines per cluster, indexed like `templates`.
    pub counts: Vec<u32>,
}

/// The plain-Rust form of [`MineResult`] (built off the JavaScript thread).
pub struct Mined {
    clusters: Vec<u32>,
    templates: Vec<String>,
    counts: Vec<u32>,
}

pub(crate) fn miner_config(v: Option<Value>) -> Fallible<MinerConfig> {
    let cfg: MinerConfig = strict(v, "miner")?;
    cfg.validate()
        .map_err(|e| JsFailure::from_std(Family::Config, &e))?;
    Ok(cfg)
}

/// Mines `lines` with a fresh miner: the same calls as `faultline::protocol::mine_lines`
/// (add every message, then resolve every line's cluster after the last merge).
pub(crate) fn mine_all(batch: &Batch, raw: bool, cfg: MinerConfig) -> Fallible<Mined> {
    let mut miner = new_miner(cfg)?;
    let mut clusters: Vec<u32> = Vec::with_capacity(batch.len_hint());
    let lines = batch.iter();
    add_all(&mut miner, lines, raw, &mut clusters);
    Ok(finish(&miner, clusters))
}

fn new_miner(cfg: MinerConfig) -> Fallible<TemplateMiner> {
    TemplateMiner::new(cfg).map_err(|e| JsFailure::from_std(Family::Config, &e))
}

fn add_all<'a>(
    miner: &mut TemplateMiner,
    lines: impl Iterator<Item = &'a str>,
    raw: bool,
    out: &mut Vec<u32>,
) {
    for line in lines {
        let line = trim_eol(line);
        let msg = if raw { split_header(line).message } else { line };
        out.push(miner.add(msg).0);
    }
}

/// `line` without trailing `\n` / `\r` (a byte loop: cheaper than a `char` pattern per line).
fn trim_eol(line: &str) -> &str {
    let b = line.as_bytes();
    let mut n = b.len();
    while n > 0 && matches!(b.get(n - 1), Some(b'\n' | b'\r')) {
        n -= 1;
    }
    line.get(..n).unwrap_or(line)
}

/// Resolves every line's cluster after the last merge and builds the template tables.
fn finish(miner: &TemplateMiner, mut clusters: Vec<u32>) -> Mined {
    for c in &mut clusters {
        *c = miner.resolve(ClusterId(*c)).0;
    }
    let (templates, counts) = tables(miner);
    Mined {
        clusters,
        templates,
        counts,
    }
}

/// What the JavaScript thread sends the mining thread: the next lines, or the error that
/// stopped reading them.
enum Feed {
    Lines(Copied),
    Failed(JsFailure),
}

/// Lines per piece handed from the JavaScript thread to the mining thread.
const CHUNK_LINES: u32 = 16 * 1024;

/// [`mine_all`] on lines arriving in pieces from `feed`, `n` lines in all.
fn mine_feed(feed: Receiver<Feed>, raw: bool, config: Option<Value>, n: usize) -> Fallible<Mined> {
    let mut miner = new_miner(miner_config(config)?)?;
    let mut clusters: Vec<u32> = Vec::with_capacity(n);
    for piece in feed {
        match piece {
            Feed::Lines(piece) => add_all(&mut miner, piece.decode("lines")?.iter(), raw, &mut clusters),
            Feed::Failed(e) => return Err(e),
        }
    }
    Ok(finish(&miner, clusters))
}

fn tables(miner: &TemplateMiner) -> (Vec<String>, Vec<u32>) {
    let n = miner.id_bound() as usize;
    let mut templates = vec![String::new(); n];
    let mut counts = vec![0u32; n];
    for id in miner.cluster_ids() {
        let slot = id.0 as usize;
        if slot < n {
            templates[slot] = miner.template(id).unwrap_or_default();
            counts[slot] = u32::try_from(miner.count(id).unwrap_or(0)).unwrap_or(u32::MAX);
        }
    }
    (templates, counts)
}

fn to_result(_: &Env, m: Mined) -> napi::Result<MineResult> {
    Ok(MineResult {
        clusters: Uint32Array::new(m.clusters),
        templates: m.templates,
        counts: m.counts,
    })
}

fn options(o: Option<MineOptions>) -> (bool, Option<Value>) {
    match o {
        Some(o) => (o.raw.unwrap_or(false), o.config),
        None => (false, None),
    }
}

/// Mines log templates from `lines` off the JavaScript thread: the cluster of every line and
/// each cluster's template, as `faultline mine` prints them. `lines` is an array with one
/// record per string, or newline-separated text as a `Buffer` (UTF-8) or a string (a final
/// newline ends the last line; `\r\n` endings are fine). Array strings are copied out on the
/// calling thread while a worker thread already mines the lines copied so far; text is copied
/// in one piece (the fastest input: no per-line cost on the JavaScript thread). Rejects with
/// `ERR_FAULTLINE_INPUT` naming the index of an array element that is not a string or the
/// byte offset of invalid UTF-8 in a `Buffer`, `ERR_FAULTLINE_CONFIG` on unknown or
/// out-of-range miner settings.
///
/// ```js
/// const { clusters, templates } = await mine(lines)
/// console.log(templates[clusters[0]]) // "user <*> logged in from <*>"
/// const fromFile = await mine(fs.readFileSync('app.log'))
/// ```
#[napi(ts_return_type = "Promise<MineResult>")]
pub fn mine<'e>(
    env: &'e Env,
    #[napi(ts_arg_type = "Array<string> | Buffer | string")] lines: LinesArg<'_>,
    options_: Option<MineOptions>,
) -> napi::Result<PromiseRaw<'e, MineResult>> {
    let (raw, config) = options(options_);
    let lines = match input(lines, "lines") {
        Ok(Input::Array(array)) => array,
        Ok(Input::Text(bytes)) => return settle(env, move || mine_text(bytes, raw, config)),
        Err(e) => return settle(env, move || Err(e)),
    };
    let n = lines.len() as usize;
    let (tx, rx) = channel();
    let promise = settle(env, move || mine_feed(rx, raw, config, n))?;
    // The miner is waiting: copy the lines piece by piece (stopping when it gave up).
    if let Err(e) = Copied::read_chunked(env, &lines, "lines", CHUNK_LINES, |piece| {
        tx.send(Feed::Lines(piece)).is_ok()
    }) {
        // A closed channel means the miner failed already; its error settles the promise.
        let _ = tx.send(Feed::Failed(e));
    }
    Ok(promise)
}

/// Runs `work` on a blocking thread of napi's runtime, started now; the promise settles with
/// its result converted on the JavaScript thread.
fn settle<'e>(
    env: &'e Env,
    work: impl FnOnce() -> Fallible<Mined> + Send + 'static,
) -> napi::Result<PromiseRaw<'e, MineResult>> {
    let fut = async move {
        Ok(tokio::task::spawn_blocking(work)
            .await
            .unwrap_or_else(|e| Err(JsFailure::new(Family::Internal, format!("mining thread: {e}")))))
    };
    env.spawn_future_with_callback(fut, |env, out: Fallible<Mined>| {
        out.map_err(|e| e.into_napi(env)).and_then(|m| to_result(env, m))
    })
}

/// [`mine_all`] on newline-separated UTF-8 text.
fn mine_text(bytes: Vec<u8>, raw: bool, config: Option<Value>) -> Fallible<Mined> {
    let cfg = miner_config(config)?;
    mine_all(&Batch::Text(utf8_text(bytes, "lines")?), raw, cfg)
}

/// [`mine`] on the calling thread (blocks the event loop: for small batches).
#[napi]
pub fn mine_sync(
    env: Env,
    #[napi(ts_arg_type = "Array<string> | Buffer | string")] lines: LinesArg<'_>,
    options_: Option<MineOptions>,
) -> napi::Result<MineResult> {
    let (raw, config) = options(options_);
    input(lines, "lines")
        .and_then(|i| Batch::read(&env, i, "lines"))
        .and_then(|batch| mine_all(&batch, raw, miner_config(config)?))
        .map_err(|e| e.into_napi(&env))
        .and_then(|m| to_result(&env, m))
}

/// One cluster of a [`Miner`].
#[napi(object)]
pub struct Template {
    /// Cluster id (stable for the miner's life).
    pub id: u32,
    /// Template text with `<*>` for variables.
    pub template: String,
    /// Lines that joined it.
    pub count: u32,
}

/// A long-lived template miner for incremental use (a log tail, a consumer of a queue). Ids
/// are stable: a line's cluster may later be merged into another one, which `resolve` tells.
/// Its state is small and serialisable (`snapshot` / `Miner.restore`), so a host can shard
/// miners by key and checkpoint them.
#[napi]
pub struct Miner {
    inner: Arc<Mutex<TemplateMiner>>,
}

fn poisoned() -> JsFailure {
    JsFailure::new(
        Family::Internal,
        "miner state is unusable after a panic (lock poisoned)",
    )
}

#[napi]
impl Miner {
    /// A miner with the given `MinerConfig` settings (defaults when omitted).
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "MinerConfig")] config: Option<Value>) -> napi::Result<Self> {
        let cfg = miner_config(config).map_err(|e| e.into_napi(&env))?;
        let m =
            TemplateMiner::new(cfg).map_err(|e| JsFailure::from_std(Family::Config, &e).into_napi(&env))?;
        Ok(Self {
            inner: Arc::new(Mutex::new(m)),
        })
    }

    /// A miner continuing from `snapshot` (from `snapshot()`): same ids, templates, counts.
    #[napi(factory)]
    pub fn restore(env: Env, #[napi(ts_arg_type = "MinerSnapshot")] snapshot: Value) -> napi::Result<Self> {
        let s: MinerSnapshot = serde_json::from_value(snapshot)
            .map_err(|e| JsFailure::input(format!("bad miner snapshot: {e}")).into_napi(&env))?;
        let m =
            TemplateMiner::restore(s).map_err(|e| JsFailure::from_std(Family::Input, &e).into_napi(&env))?;
        Ok(Self {
            inner: Arc::new(Mutex::new(m)),
        })
    }

    fn with<T>(&self, env: &Env, f: impl FnOnce(&mut TemplateMiner) -> T) -> napi::Result<T> {
        let mut g = self.inner.lock().map_err(|_| poisoned().into_napi(env))?;
        Ok(f(&mut g))
    }

    /// Adds one message; returns its cluster id.
    #[napi]
    pub fn add(&self, env: Env, line: String) -> napi::Result<u32> {
        self.with(&env, |m| m.add(&line).0)
    }

    /// Adds messages in order; returns the cluster id of each (as assigned when added).
    #[napi]
    pub fn add_many(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Array<string> | Buffer | string")] lines: LinesArg<'_>,
    ) -> napi::Result<Uint32Array> {
        let lines = input(lines, "lines")
            .and_then(|i| Batch::read(&env, i, "lines"))
            .map_err(|e| e.into_napi(&env))?;
        self.with(&env, |m| {
            Uint32Array::new(lines.iter().map(|l| m.add(l).0).collect())
        })
    }

    /// `addMany` on the thread pool, for big batches; concurrent calls on one miner are
    /// applied one after the other.
    #[napi(ts_return_type = "Promise<Uint32Array>")]
    pub fn add_many_async(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Array<string> | Buffer | string")] lines: LinesArg<'_>,
    ) -> napi::Result<AsyncTask<Job<Vec<u32>, Uint32Array>>> {
        let lines = input(lines, "lines")
            .and_then(|i| Batch::read(&env, i, "lines"))
            .map_err(|e| e.into_napi(&env))?;
        let inner = Arc::clone(&self.inner);
        Ok(Job::spawn(
            move || {
                let mut g = inner.lock().map_err(|_| poisoned())?;
                Ok(lines.iter().map(|l| g.add(l).0).collect())
            },
            |_, v| Ok(Uint32Array::new(v)),
        ))
    }

    /// The cluster `id` was merged into (itself while it lives).
    #[napi]
    pub fn resolve(&self, env: Env, id: u32) -> napi::Result<u32> {
        self.with(&env, |m| m.resolve(ClusterId(id)).0)
    }

    /// The template of cluster `id` (after merges), or `null` when it was evicted or never existed.
    #[napi]
    pub fn template(&self, env: Env, id: u32) -> napi::Result<Option<String>> {
        self.with(&env, |m| m.template(m.resolve(ClusterId(id))))
    }

    /// Every live cluster, by id.
    #[napi]
    pub fn templates(&self, env: Env) -> napi::Result<Vec<Template>> {
        self.with(&env, |m| {
            m.cluster_ids()
                .map(|id| Template {
                    id: id.0,
                    template: m.template(id).unwrap_or_default(),
                    count: u32::try_from(m.count(id).unwrap_or(0)).unwrap_or(u32::MAX),
                })
                .collect()
        })
    }

    /// The values of the `<*>` slots of `line` under cluster `id`, or `null` when it does not match.
    #[napi]
    pub fn parameters(&self, env: Env, id: u32, line: String) -> napi::Result<Option<Vec<String>>> {
        self.with(&env, |m| m.parameters(ClusterId(id), &line))
    }

    /// Number of live clusters.
    #[napi(getter)]
    pub fn size(&self, env: Env) -> napi::Result<u32> {
        self.with(&env, |m| u32::try_from(m.len()).unwrap_or(u32::MAX))
    }

    /// The miner's state as a plain object (JSON-serialisable), for `Miner.restore`.
    #[napi(ts_return_type = "MinerSnapshot")]
    pub fn snapshot(&self, env: Env) -> napi::Result<Value> {
        let s = self.with(&env, |m| m.snapshot())?;
        serde_json::to_value(s).map_err(|e| JsFailure::new(Family::Internal, e.to_string()).into_napi(&env))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_eol_strips_only_trailing_line_ends() {
        assert_eq!(trim_eol("a b\r\n"), "a b");
        assert_eq!(trim_eol("a\nb\n\n"), "a\nb");
        assert_eq!(trim_eol("\r\n"), "");
        assert_eq!(trim_eol("ü\r"), "ü");
        assert_eq!(trim_eol(" x "), " x ");
    }

    #[test]
    fn text_batches_mine_like_their_lines() {
        let cfg = || MinerConfig::default();
        let text = Batch::Text("user a logged in\r\nuser b logged in\ndisk full\n".to_string());
        let lines = Batch::Lines(crate::lines::Lines::from_strs([
            "user a logged in",
            "user b logged in",
            "disk full",
        ]));
        let (a, b) = (mine_all(&text, false, cfg()), mine_all(&lines, false, cfg()));
        let (a, b) = (a.map_err(|e| e.message()), b.map_err(|e| e.message()));
        assert_eq!(a.as_ref().map(|m| &m.clusters), b.as_ref().map(|m| &m.clusters));
        assert_eq!(a.map(|m| m.templates), b.map(|m| m.templates));
    }
}
