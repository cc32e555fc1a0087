//! `mcp-bench`: the benchmark behind `make bench`. Measures the same MCP backend reached
//! directly, through plain Envoy, through Envoy + mcp-broker-router (without and with auth and
//! policy) and through Envoy's own `mcp_router`, interleaved in one run, plus scale scenarios;
//! writes `bench/results/<timestamp>.{json,md,svg}` and the generated part of
//! `docs/performance.md`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Parser;
use mcp_gateway_bench::harness::duration;
use mcp_gateway_bench::harness::run::{RunOptions, Skip, render, run};
use mcp_gateway_bench::harness::settings::Settings;
use mcp_gateway_bench::harness::stack::Binaries;

/// Benchmark of mcp-gateway against direct, plain Envoy and Envoy's mcp_router.
#[derive(Debug, Parser)]
#[command(name = "mcp-bench", version, about)]
struct Args {
    /// Short runs and small scenarios (minutes instead of ~10); numbers are noisy.
    #[arg(long)]
    quick: bool,
    /// Interleaved rounds over every path.
    #[arg(long)]
    rounds: Option<usize>,
    /// Measured time of each throughput and fixed-rate latency run.
    #[arg(long, value_parser = duration::parse)]
    duration: Option<Duration>,
    /// Fixed low rate of the latency runs, req/s.
    #[arg(long)]
    rate: Option<f64>,
    /// Closed-loop connections of the throughput runs.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Sessions of the concurrent-sessions scenario.
    #[arg(long)]
    scale_sessions: Option<usize>,
    /// New sessions of the first-call storm.
    #[arg(long)]
    storm_sessions: Option<usize>,
    /// Backends of the tools/list scenario.
    #[arg(long)]
    listing_backends: Option<usize>,
    /// Tools per backend of the tools/list scenario.
    #[arg(long)]
    listing_tools: Option<usize>,
    /// The gateway's `--discovery-interval` in the tools/list scenario.
    #[arg(long, value_parser = duration::parse)]
    discovery_interval: Option<Duration>,
    /// Worker threads of every Envoy.
    #[arg(long)]
    envoy_concurrency: Option<usize>,
    /// Leave out the latency-vs-load sweep.
    #[arg(long)]
    skip_sweep: bool,
    /// Leave out the concurrent-sessions and storm scenarios.
    #[arg(long)]
    skip_scale: bool,
    /// Leave out the tools/list scenario.
    #[arg(long)]
    skip_listing: bool,
    /// Leave out the replica scenario (memory vs Redis store, three replicas on Redis).
    #[arg(long)]
    skip_replicas: bool,
    /// The Envoy binary (1.40, with envoy.filters.http.mcp_router).
    #[arg(long, env = "ENVOY_BIN", default_value = "envoy")]
    envoy: PathBuf,
    /// Where mcp-echo-server and mcp-broker-router are; default: next to this binary.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The directory of the OpenID provider of path (7), `idp.mjs`, with its npm packages
    /// installed (`scripts/ensure-node-packages.sh e2e/node ...`; make bench does it).
    #[arg(long, default_value = "e2e/node")]
    idp_dir: PathBuf,
    /// Where results are written.
    #[arg(long, default_value = "bench/results")]
    out_dir: PathBuf,
    /// The document whose generated part is updated.
    #[arg(long, default_value = "docs/performance.md")]
    doc: PathBuf,
    /// Do not update the document.
    #[arg(long)]
    no_doc: bool,
    /// Configs and logs of started processes; default: a new directory under the temp dir.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Measure nothing: write the markdown, SVG and document again from this results JSON.
    #[arg(long, value_name = "RESULTS_JSON")]
    render: Option<PathBuf>,
}

impl Args {
    fn settings(&self) -> Settings {
        let mut s = if self.quick {
            Settings::quick()
        } else {
            Settings::full()
        };
        if let Some(v) = self.rounds {
            s.rounds = v.max(1);
        }
        if let Some(v) = self.duration {
            s.throughput_duration = v;
            s.latency_duration = v;
        }
        if let Some(v) = self.rate {
            s.rate = v;
        }
        if let Some(v) = self.concurrency {
            s.concurrency = v.max(1);
        }
        if let Some(v) = self.scale_sessions {
            s.scale_sessions = v;
        }
        if let Some(v) = self.storm_sessions {
            s.storm_sessions = v;
        }
        if let Some(v) = self.listing_backends {
            s.listing_backends = v.max(2);
        }
        if let Some(v) = self.listing_tools {
            s.listing_tools = v.max(1);
        }
        if let Some(v) = self.discovery_interval {
            s.discovery_interval = v;
        }
        if let Some(v) = self.envoy_concurrency {
            s.envoy_concurrency = v.max(1);
        }
        s
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let own_dir = std::env::current_exe()
        .context("locating this binary")?
        .parent()
        .context("this binary has no directory")?
        .to_owned();
    let bin_dir = args.bin_dir.clone().unwrap_or_else(|| own_dir.clone());
    let bins = Binaries {
        echo: bin_dir.join("mcp-echo-server"),
        gateway: bin_dir.join("mcp-broker-router"),
        envoy: args.envoy.clone(),
        // Part of the benchmark, not of the system under test: always this build's.
        noop_ext_proc: own_dir.join("mcp-noop-ext-proc"),
        idp_dir: args.idp_dir.clone(),
    };
    let settings = args.settings();
    if args.render.is_none() {
        for binary in [&bins.echo, &bins.gateway, &bins.noop_ext_proc] {
            if !binary.exists() {
                bail!(
                    "{} not found: build with `cargo build --release -p mcp-gateway-bench -p mcp-gateway-cli`",
                    binary.display()
                );
            }
        }
        check_file_limit(&settings)?;
    }
    let options = RunOptions {
        work_dir: args.work_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("mcp-bench-{}", std::process::id()))
        }),
        skip: Skip {
            sweep: args.skip_sweep,
            scale: args.skip_scale,
            listing: args.skip_listing,
            replicas: args.skip_replicas,
        },
        out_dir: args.out_dir.clone(),
        doc: (!args.no_doc).then(|| args.doc.clone()),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        settings,
        bins,
    };
    if let Some(json) = &args.render {
        let written = render(json, &options)?;
        eprintln!(
            "mcp-bench: wrote {} and {}",
            written.markdown.display(),
            written.svg.display()
        );
        return Ok(());
    }
    // One thread runs the load generator and the orchestration; the open loop's scheduler has
    // its own thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let (results, written) = runtime.block_on(run(&options))?;
    eprintln!();
    for check in &results.targets {
        let met = match check.met {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "n/a   ",
        };
        eprintln!("mcp-bench: {met} {}: {}", check.target, check.measured);
    }
    eprintln!(
        "mcp-bench: wrote {}, {} and {}{}",
        written.json.display(),
        written.markdown.display(),
        written.svg.display(),
        options
            .doc
            .as_ref()
            .map(|d| format!(", updated {}", d.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// The storm holds three connections per session on each side of Envoy; fail early with a
/// useful message when the open-file limit cannot take it.
fn check_file_limit(settings: &Settings) -> Result<()> {
    let needed = (settings.storm_sessions * 3).max(settings.scale_connections) as u64 + 512;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    match soft {
        Some(soft) if soft < needed => bail!(
            "open-file limit {soft} is below the {needed} the storm needs: run `ulimit -n {needed}` first (make bench raises it to the hard limit)"
        ),
        _ => Ok(()),
    }
}
