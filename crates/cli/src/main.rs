//! The `faultline` command: a thin layer over the `faultline` library.
//!
//! Exit codes: 0 ok, 2 bad input (malformed bundle, bad arguments or configuration), 1
//! internal error.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use faultline::{render, Error, Pipeline, PipelineConfig};

mod fix;
mod serve;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Incident analysis: what is abnormal, why, and what to do",
    long_about = "faultline turns an incident's metrics, logs, traces, change events, alerts and \
                  topology into a ranked, evidenced root-cause report and a fix plan.\n\n\
                  Set FAULTLINE_LOG=debug for diagnostics on stderr.",
    after_help = "Exit codes: 0 ok, 2 bad input, 1 internal error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Md,
    /// One self-contained HTML page with SVG charts of the anomalous series.
    Html,
}

/// LLM narration options of `analyze` (they set `narration.llm` of the configuration).
#[derive(clap::Args)]
struct LlmArgs {
    /// Narrate with an OpenAI-compatible chat endpoint (https:// or http://, e.g.
    /// https://api.openai.com or http://127.0.0.1:11434 for Ollama). The model may only
    /// rephrase: its answer is checked against the report, and any failure keeps the
    /// template narrative.
    #[arg(long, value_name = "URL")]
    llm_url: Option<String>,
    /// Model name for --llm-url.
    #[arg(long, value_name = "NAME")]
    llm_model: Option<String>,
    /// Environment variable holding the API key (the key itself is never an argument).
    #[arg(long, value_name = "VAR")]
    llm_key_env: Option<String>,
    /// Upper bound on the model call, in milliseconds.
    #[arg(long, value_name = "MS")]
    llm_timeout_ms: Option<u64>,
}

impl LlmArgs {
    /// Applies the options to `cfg` (starting from its `narration.llm` or the defaults).
    fn apply(self, cfg: &mut PipelineConfig) {
        let any = self.llm_url.is_some()
            || self.llm_model.is_some()
            || self.llm_key_env.is_some()
            || self.llm_timeout_ms.is_some();
        if !any {
            return;
        }
        let llm = cfg.narration.llm.get_or_insert_with(Default::default);
        if let Some(v) = self.llm_url {
            llm.base_url = v;
        }
        if let Some(v) = self.llm_model {
            llm.model = v;
        }
        if let Some(v) = self.llm_key_env {
            llm.api_key_env = Some(v);
        }
        if let Some(v) = self.llm_timeout_ms {
            llm.timeout_ms = v;
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Analyse an incident bundle and print the report.
    #[command(
        after_help = "Example:\n  faultline analyze examples/incidents/checkout-deploy --format md\n  \
        OPENAI_API_KEY=... faultline analyze BUNDLE --format md --llm-url https://api.openai.com \\\n      \
        --llm-model gpt-4o-mini --llm-key-env OPENAI_API_KEY\n\n\
        BUNDLE is a directory with incident.json and any of metrics.csv, logs.jsonl, logs/<service>.log,\n\
        events.jsonl, traces.jsonl, alerts.jsonl, topology.csv (each optionally .gz). See docs/bundle-format.md."
    )]
    Analyze {
        /// The incident bundle directory.
        bundle: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Keep only the N best hypotheses.
        #[arg(long)]
        top: Option<usize>,
        /// Pipeline configuration (YAML or JSON); every field has a default. E.g.
        /// `detect: {method: multi_res}` picks the detector (segment, robust_z, rolling_z,
        /// sh_esd, seasonal_z, iqr, variance, multi_res; without `method`, the segment
        /// detector's settings), `detect: {red: {enabled: false}}` turns off the RED series
        /// derived from traces. See docs/detect.md.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Score a metric series for anomalies (causal, streaming).
    #[command(after_help = "Example:\n  faultline detect latency.csv > scored.csv\n\n\
        Input: CSV `timestamp,value` (header optional; RFC 3339, epoch seconds or milliseconds).\n\
        Output: CSV `timestamp,value,anomaly_score`, one row per input row, score in [0,1];\n\
        row i's score depends only on rows up to i.")]
    Detect {
        /// Input CSV file, or - for stdin.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Mine log templates, one record per input line.
    #[command(after_help = "Example:\n  faultline mine app.log --raw\n\n\
        Output: one JSON object per input line, in order: {\"cluster\": id, \"template\": \"text with <*>\"}.\n\
        With --raw, header fields (timestamp, level, logger, pid) are recognised and stripped first.")]
    Mine {
        /// Input file, or - for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Lines carry headers (timestamp, level, component) to strip.
        #[arg(long)]
        raw: bool,
    },
    /// Decompose a series into trend, seasonal and remainder (STL).
    #[command(after_help = "Example:\n  faultline decompose --period 1440 series.csv\n\n\
        Input: CSV `timestamp,value`. Output: CSV `timestamp,trend,seasonal,remainder`.\n\
        Defaults follow statsmodels' STL (seasonal 7, trend and low-pass from the period).")]
    Decompose {
        /// Input CSV file, or - for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Season length in samples.
        #[arg(long)]
        period: usize,
        /// Seasonal smoother length (odd, at least 3).
        #[arg(long, default_value_t = 7)]
        seasonal: usize,
        /// Trend smoother length (odd); default from the period.
        #[arg(long)]
        trend: Option<usize>,
        /// Low-pass filter length (odd); default: smallest odd above the period.
        #[arg(long)]
        low_pass: Option<usize>,
        /// Robust fitting (outer iterations with bisquare weights).
        #[arg(long)]
        robust: bool,
    },
    #[command(flatten)]
    Fix(fix::FixCommand),
    /// Run the reference server: ingest, incidents, fixes, reports (embedded store).
    #[command(
        after_help = "Example:\n  faultline serve                      # ./faultline.db, example incidents preloaded\n  \
        faultline serve --listen 0.0.0.0:7878 --config server.yaml\n\n\
        Without an API keys file the server listens on loopback only. See docs/server.md."
    )]
    Serve(serve::ServeArgs),
}

fn open_input(file: &str) -> Result<Box<dyn BufRead>, Error> {
    if file == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let f = File::open(file).map_err(|e| Error::Input(format!("cannot open {file}: {e}")))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
}

fn input_name(file: &str) -> &str {
    if file == "-" {
        "stdin"
    } else {
        file
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    let stdout = io::stdout();
    match cli.command {
        Command::Analyze {
            bundle,
            format,
            top,
            config,
            llm,
        } => {
            let mut cfg = match config {
                Some(p) => PipelineConfig::from_file(p)?,
                None => PipelineConfig::default(),
            };
            llm.apply(&mut cfg);
            cfg.validate()?;
            let b = faultline::bundle::read_bundle(&bundle)?;
            let pipeline = Pipeline::builder().config(cfg).build()?;
            let mut report = pipeline.analyze(&b.incident, &b.signals)?;
            if let Some(n) = top {
                report.hypotheses.truncate(n);
            }
            if pipeline.has_narrator() {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .map_err(|e| {
                        Error::Core(faultline::core::CoreError::Internal(format!(
                            "cannot start the async runtime: {e}"
                        )))
                    })?;
                rt.block_on(pipeline.narrate(&mut report));
            }
            let text = match format {
                Format::Json => render::to_json(&report),
                Format::Md => render::to_markdown(&report),
                Format::Html => faultline::html::to_html(&report, Some(&b.signals)),
            };
            let mut out = stdout.lock();
            writeln!(out, "{text}").map_err(|e| Error::Input(format!("cannot write output: {e}")))?;
        }
        Command::Detect { file } => {
            faultline::protocol::detect_csv(
                open_input(&file)?,
                stdout.lock(),
                input_name(&file),
                &Default::default(),
            )?;
        }
        Command::Mine { file, raw } => {
            faultline::protocol::mine_lines(open_input(&file)?, stdout.lock(), raw, &Default::default())?;
        }
        Command::Decompose {
            file,
            period,
            seasonal,
            trend,
            low_pass,
            robust,
        } => {
            let mut p = faultline::detect::StlParams::new(period);
            p.seasonal = seasonal;
            p.trend = trend;
            p.low_pass = low_pass;
            p.robust = robust;
            if robust {
                // statsmodels' defaults for robust fitting.
                p.inner_iter = 2;
                p.outer_iter = 15;
            }
            faultline::protocol::decompose_csv(open_input(&file)?, stdout.lock(), input_name(&file), &p)?;
        }
        Command::Fix(c) => fix::run(c)?,
        Command::Serve(a) => serve::run(a)?,
    }
    Ok(())
}

fn init_cli_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FAULTLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server installs its own (JSON) logging.
    if !matches!(cli.command, Command::Serve(_)) {
        init_cli_logging();
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stdout (e.g. `| head`) is not an error worth reporting.
            let msg = e.chain();
            if msg.contains("Broken pipe") {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(io::stderr(), "error: {msg}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}
