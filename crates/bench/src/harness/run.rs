//! One whole benchmark run: start, compare, sweep, scale scenarios, listing, then write the
//! results (JSON, markdown, SVG) and the generated part of `docs/performance.md`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::listing::listing;
use super::replicas::replicas;
use super::scale::{SCALE_PATHS, sessions, storm};
use super::settings::Settings;
use super::stack::{Binaries, Stack};
use super::suite::{compare, sweep};
use crate::report::machine::{Machine, load_average};
use crate::report::{
    PathResult, ReplicaResult, Results, SessionsResult, StormResult, SweepPoint, doc, headroom,
    markdown, svg, targets, time,
};

/// Parts of a run that can be left out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Skip {
    /// The latency-vs-load sweep.
    pub sweep: bool,
    /// Concurrent sessions and the first-call storm.
    pub scale: bool,
    /// The many-backends `tools/list` scenario.
    pub listing: bool,
    /// One process on memory and on Redis, three replicas on Redis.
    pub replicas: bool,
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Sizes and durations.
    pub settings: Settings,
    /// Programs to start.
    pub bins: Binaries,
    /// Parts left out.
    pub skip: Skip,
    /// Where `<timestamp>.json|md|svg` go.
    pub out_dir: PathBuf,
    /// The document whose generated part is replaced, if any.
    pub doc: Option<PathBuf>,
    /// Configs and logs of the started processes.
    pub work_dir: PathBuf,
    /// The command line, for the record.
    pub command: String,
}

/// Files a run wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The JSON results.
    pub json: PathBuf,
    /// The markdown report.
    pub markdown: PathBuf,
    /// The plot.
    pub svg: PathBuf,
}

/// Runs the benchmark and writes its results.
pub async fn run(options: &RunOptions) -> Result<(Results, Written)> {
    let started = time::utc(SystemTime::now());
    let mut machine = Machine::describe();
    let settings = &options.settings;
    let (bins, dir) = (&options.bins, options.work_dir.as_path());
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!(
        "mcp-bench: {}; logs and configs in {}",
        machine.line(),
        dir.display()
    );

    let stack = Stack::start(bins, settings, dir).await?;
    let outcome = measure_stack(&stack, options).await;
    stack.stop().await;
    let mut measured = outcome?;
    let listing_result = if options.skip.listing {
        None
    } else {
        scenario(
            "tools/list",
            &mut measured.failures,
            listing(bins, settings, dir),
        )
        .await
    };
    machine.load_after = load_average();
    let mut results = Results {
        started_utc: started,
        command: options.command.clone(),
        machine,
        settings: settings.clone(),
        headroom: headroom(&measured.paths),
        paths: measured.paths,
        sweep: measured.sweep,
        sessions: measured.sessions,
        storms: measured.storms,
        replicas: measured.replicas,
        listing: listing_result,
        targets: Vec::new(),
        failures: measured.failures,
    };
    results.targets = targets::evaluate(&results);
    let written = write(&results, options)?;
    Ok((results, written))
}

/// What the two-backend stack produced.
struct Measured {
    paths: Vec<PathResult>,
    sweep: Vec<SweepPoint>,
    sessions: Vec<SessionsResult>,
    storms: Vec<StormResult>,
    replicas: Vec<ReplicaResult>,
    failures: Vec<String>,
}

/// Runs one scenario; a failure is recorded instead of ending the run.
async fn scenario<T>(
    name: &str,
    failures: &mut Vec<String>,
    run: impl std::future::Future<Output = Result<T>>,
) -> Option<T> {
    match run.await {
        Ok(value) => Some(value),
        Err(e) => {
            eprintln!("mcp-bench: {name} failed: {e:#}");
            failures.push(format!("{name}: {e:#}"));
            None
        }
    }
}

async fn measure_stack(stack: &Stack, options: &RunOptions) -> Result<Measured> {
    let (settings, bins, dir) = (&options.settings, &options.bins, options.work_dir.as_path());
    let paths = compare(stack, settings).await?;
    let mut failures = Vec::new();
    let sweep_points = if options.skip.sweep {
        Vec::new()
    } else {
        scenario("sweep", &mut failures, sweep(stack, settings, &paths))
            .await
            .unwrap_or_default()
    };
    let mut sessions_results = Vec::new();
    let mut storms = Vec::new();
    if !options.skip.scale {
        for id in SCALE_PATHS {
            let name = format!("sessions via {}", id.title());
            let run = sessions(id, bins, settings, dir, stack);
            sessions_results.extend(scenario(&name, &mut failures, run).await);
        }
        for id in SCALE_PATHS {
            let name = format!("storm via {}", id.title());
            let run = storm(id, bins, settings, dir, stack);
            storms.extend(scenario(&name, &mut failures, run).await);
        }
    }
    let replica_results = if options.skip.replicas {
        Vec::new()
    } else {
        scenario(
            "replicas",
            &mut failures,
            replicas(bins, settings, dir, stack),
        )
        .await
        .unwrap_or_default()
    };
    Ok(Measured {
        paths,
        sweep: sweep_points,
        sessions: sessions_results,
        storms,
        replicas: replica_results,
        failures,
    })
}

/// Writes the files of `results` again (e.g. after the report format changed), without
/// measuring anything.
pub fn render(results_json: &Path, options: &RunOptions) -> Result<Written> {
    let text = std::fs::read_to_string(results_json)
        .with_context(|| format!("reading {}", results_json.display()))?;
    let mut results: Results = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a results file", results_json.display()))?;
    results.targets = targets::evaluate(&results);
    write(&results, options)
}

fn write(results: &Results, options: &RunOptions) -> Result<Written> {
    let out = &options.out_dir;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let stamp = time::file_stamp(&results.started_utc);
    let written = Written {
        json: out.join(format!("{stamp}.json")),
        markdown: out.join(format!("{stamp}.md")),
        svg: out.join(format!("{stamp}.svg")),
    };
    let title = format!(
        "MCP tools/call latency vs offered load ({}{})",
        results.started_utc,
        if results.settings.quick {
            ", quick"
        } else {
            ""
        }
    );
    write_file(
        &written.svg,
        &svg::render(&svg::sweep_plot(&results.sweep, &title)),
    )?;
    write_file(&written.json, &serde_json::to_string_pretty(results)?)?;
    let svg_name = format!("{stamp}.svg");
    let has_plot = !results.sweep.is_empty();
    write_file(
        &written.markdown,
        &markdown::report(results, has_plot.then_some(svg_name.as_str())),
    )?;
    if let Some(doc_path) = &options.doc {
        let plot = relative(&written.svg, doc_path);
        let generated = format!(
            "## Latest results\n\n{}",
            markdown::report(results, has_plot.then_some(plot.as_str()))
        );
        let current = std::fs::read_to_string(doc_path).unwrap_or_default();
        write_file(doc_path, &doc::splice(&current, &generated))?;
    }
    Ok(written)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `target` relative to the directory of `from` (both relative to the same working directory,
/// or both absolute).
fn relative(target: &Path, from: &Path) -> String {
    let base: Vec<_> = from
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    let parts: Vec<_> = target.components().collect();
    let common = base.iter().zip(&parts).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &parts[common..] {
        out.push(part);
    }
    out.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_for_links() {
        assert_eq!(
            relative(
                Path::new("bench/results/x.svg"),
                Path::new("docs/performance.md")
            ),
            "../bench/results/x.svg"
        );
        assert_eq!(
            relative(
                Path::new("/r/bench/results/x.svg"),
                Path::new("/r/docs/performance.md")
            ),
            "../bench/results/x.svg"
        );
        assert_eq!(
            relative(Path::new("docs/x.svg"), Path::new("docs/p.md")),
            "x.svg"
        );
    }
}
