//! Markdown tables of a run.

use std::fmt::Write;

use super::results::{PathId, PathResult, Results, ratio};
use crate::harness::listing::NEXT_LISTS;

/// The whole report of a run: comparison, cost, scale scenarios, targets, headroom.
/// `plot` is the path of the SVG relative to where the markdown is read from.
pub fn report(results: &Results, plot: Option<&str>) -> String {
    let mut out = String::new();
    let s = &results.settings;
    let _ = writeln!(
        out,
        "Run {}{}: `{}`\n\nMachine: {}.\n",
        results.started_utc,
        if s.quick {
            " (**--quick**: short runs, noisy numbers)"
        } else {
            ""
        },
        results.command,
        results.machine.line()
    );
    let _ = writeln!(
        out,
        "### The paths\n\nThroughput: closed loop, {} connections, {} sessions, median of {} interleaved round(s) of {:.0} s. \
         Latency: open loop at {:.0} req/s ({:.0} s per round, all rounds merged), measured from each request's scheduled send time \
         (so it includes how late the load generator itself sent, shown as its lag).\n",
        s.concurrency,
        s.sessions,
        s.rounds,
        s.throughput_duration.as_secs_f64(),
        s.rate,
        s.latency_duration.as_secs_f64(),
    );
    out.push_str(&comparison_table(&results.paths));
    out.push('\n');
    out.push_str(&cost_table(&results.paths));
    out.push_str(&auth_cost(&results.paths));
    if let Some(plot) = plot {
        let _ = writeln!(out, "\n![latency vs offered load]({plot})\n");
    }
    out.push_str(&scale_tables(results));
    if !results.failures.is_empty() {
        out.push_str("\n### Failed scenarios\n\n");
        for failure in &results.failures {
            let _ = writeln!(out, "- {}", failure.replace('\n', " "));
        }
    }
    out.push_str(&targets_table(results));
    if let Some(h) = &results.headroom {
        let _ = writeln!(
            out,
            "\n**Headroom.** Load generator and echo backend together sustain {} req/s direct, {:.1}x the best proxied path ({} req/s): \
             the load generator spends {:.1} µs of CPU per call and the backend {:.1} µs, against {:.1} µs for the gateway (Envoy + router).",
            thousands(h.direct_throughput),
            h.factor,
            thousands(h.best_proxied_throughput),
            h.loadgen_cpu_us_per_call,
            h.backend_cpu_us_per_call,
            h.gateway_cpu_us_per_call,
        );
    }
    out
}

/// Throughput and latency per path, with ratios.
pub fn comparison_table(paths: &[PathResult]) -> String {
    let mut out = String::from(
        "| path | req/s | vs (1) | vs (4) | p50 µs | p90 µs | p99 µs | p99.9 µs | added p50 vs (1) | load generator lag p50 / p99 µs | errors |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for p in paths {
        let l = &p.latency.latency_us;
        let errors: u64 =
            p.throughput.errors.values().sum::<u64>() + (p.latency.requests - p.latency.ok);
        let _ = writeln!(
            out,
            "| ({}) {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {errors} |",
            p.path.number(),
            p.path.title(),
            thousands(p.throughput.median),
            times(p.ratios.throughput_vs_direct),
            times(p.ratios.throughput_vs_mcp_router),
            l.p50,
            l.p90,
            l.p99,
            l.p99_9,
            p.ratios
                .p50_added_us
                .map_or_else(|| "n/a".to_owned(), |v| format!("{v:+.0} µs")),
            p.latency.send_lag_us.map_or_else(
                || "n/a".to_owned(),
                |l| format!("{:.0} / {:.0}", l.p50, l.p99)
            ),
        );
    }
    out
}

/// CPU per 1,000 calls and peak memory per path.
pub fn cost_table(paths: &[PathResult]) -> String {
    let mut out = String::from(
        "| path | CPU s / 1k calls: Envoy | router | gateway total | vs (4) | at fixed rate: gateway total | backend | peak RSS MB: Envoy | router |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for p in paths {
        let c = &p.cpu_saturated;
        let _ = writeln!(
            out,
            "| ({}) {} | {} | {} | {:.3} | {} | {:.3} | {:.3} | {} | {} |",
            p.path.number(),
            p.path.title(),
            opt(c.envoy, 3),
            opt(c.router, 3),
            c.gateway,
            times(p.ratios.cpu_vs_mcp_router),
            p.cpu_at_rate.gateway,
            c.backend,
            opt(p.peak_rss_mb.envoy, 1),
            opt(p.peak_rss_mb.router, 1),
        );
    }
    out
}

/// What auth and policy add per call: path (7) against path (3), in one sentence.
pub fn auth_cost(paths: &[PathResult]) -> String {
    let find = |id: PathId| paths.iter().find(|p| p.path == id);
    let (Some(auth), Some(gateway)) = (find(PathId::GatewayAuth), find(PathId::Gateway)) else {
        return String::new();
    };
    let delta = |a: Option<f64>, g: Option<f64>| match (a, g) {
        (Some(a), Some(g)) => format!("{:+.3}", a - g),
        _ => "n/a".to_owned(),
    };
    let (a, g) = (&auth.cpu_saturated, &gateway.cpu_saturated);
    format!(
        "\n**Auth and policy.** ({}) against ({}): {} vs {} req/s ({}), p50 {} at the fixed rate; \
         CPU s / 1k calls saturated: Envoy {} (`jwt_authn`), router {}, gateway total {:+.3} \
         ({:.3} vs {:.3}).\n",
        PathId::GatewayAuth.number(),
        PathId::Gateway.number(),
        thousands(auth.throughput.median),
        thousands(gateway.throughput.median),
        times(ratio(auth.throughput.median, gateway.throughput.median)),
        auth.ratios
            .p50_added_vs_gateway_us
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:+.0} µs")),
        delta(a.envoy, g.envoy),
        delta(a.router, g.router),
        a.gateway - g.gateway,
        a.gateway,
        g.gateway,
    )
}

/// Sessions, storm and listing scenarios.
pub fn scale_tables(results: &Results) -> String {
    let mut out = String::new();
    if !results.sessions.is_empty() {
        out.push_str(
            "\n### Concurrent sessions (each initialized, one call, kept open)\n\n\
             | path | sessions | connections | errors | initialize p50 / p99 µs | call p50 / p99 µs | backend initializes | RSS MB after: Envoy | router | peak: Envoy | router |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for s in &results.sessions {
            let _ = writeln!(
                out,
                "| ({}) {} | {} | {} | {} | {:.0} / {:.0} | {:.0} / {:.0} | {} | {} | {} | {} | {} |",
                s.path.number(),
                s.path.title(),
                s.sessions,
                s.connections,
                s.errors,
                s.init.latency_us.p50,
                s.init.latency_us.p99,
                s.calls.latency_us.p50,
                s.calls.latency_us.p99,
                s.backend_initializes,
                opt(s.rss_mb.envoy, 1),
                opt(s.rss_mb.router, 1),
                opt(s.peak_rss_mb.envoy, 1),
                opt(s.peak_rss_mb.router, 1),
            );
        }
    }
    if !results.storms.is_empty() {
        out.push_str(
            "\n### First-call storm (new sessions, first calls released at once)\n\n\
             | path | sessions x calls | errors | backend initializes | expected | p50 µs | p99 µs | max µs |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for s in &results.storms {
            let _ = writeln!(
                out,
                "| ({}) {} | {} x {} | {} | {} | {} | {:.0} | {:.0} | {:.0} |",
                s.path.number(),
                s.path.title(),
                s.sessions,
                s.calls_per_session,
                s.errors,
                s.initializes,
                s.expected_initializes,
                s.calls.latency_us.p50,
                s.calls.latency_us.p99,
                s.calls.latency_us.max,
            );
        }
    }
    if !results.replicas.is_empty() {
        out.push_str(
            "\n### Replicas (one Envoy, round robin; closed loop on one tool)\n\n\
             | replicas | store | sessions | connections | calls/s | errors | p50 / p99 µs | CPU ms per call: Envoy | replicas | Redis | Redis scripts (commands) per call | replicas RSS MB |\n\
             | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for r in &results.replicas {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.0} | {} | {:.0} / {:.0} | {:.3} | {:.3} | {} | {} ({}) | {:.1} |",
                r.replicas,
                r.store,
                r.sessions,
                r.concurrency,
                r.calls.throughput,
                r.errors,
                r.calls.latency_us.p50,
                r.calls.latency_us.p99,
                r.envoy_cpu_s_per_1000,
                r.replicas_cpu_s_per_1000,
                opt(r.redis_cpu_s_per_1000, 3),
                opt(r.redis_scripts_per_call, 2),
                opt(r.redis_commands_per_call, 1),
                r.replicas_rss_mb,
            );
        }
        if let (Some(memory), Some(redis)) = (
            results
                .replicas
                .iter()
                .find(|r| r.replicas == 1 && r.store == "memory"),
            results
                .replicas
                .iter()
                .find(|r| r.replicas == 1 && r.store == "redis"),
        ) {
            let store = redis.replicas_cpu_s_per_1000 + redis.redis_cpu_s_per_1000.unwrap_or(0.0)
                - memory.replicas_cpu_s_per_1000;
            let _ = writeln!(
                out,
                "\nThe Redis store's cost per call (one replica, against memory): {:.0} µs of CPU \
                 (the replica's extra and Redis's own), {} round trips (scripts).",
                store * 1_000.0,
                opt(redis.redis_scripts_per_call, 2),
            );
        }
    }
    if let Some(l) = &results.listing {
        let _ = write!(
            out,
            "\n### Aggregated tools/list: {} backends x {} tools\n\n\
             | path | tools listed | p50 / p99 µs (one at a time) | req/s at {} connections | change visible after | first list after change µs | next {} lists p50 µs |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
            l.backends, l.tools_per_backend, results.settings.listing_concurrency, NEXT_LISTS,
        );
        for p in &l.paths {
            let (visible, first, next) = p.after_change.as_ref().map_or_else(
                || ("n/a".to_owned(), "n/a".to_owned(), "n/a".to_owned()),
                |a| {
                    (
                        format!("{:.0} ms", a.visible_after_ms),
                        format!("{:.0}", a.first_latency_us),
                        format!("{:.0}", a.next_p50_us),
                    )
                },
            );
            let _ = writeln!(
                out,
                "| ({}) {} | {} | {:.0} / {:.0} | {:.0} | {visible} | {first} | {next} |",
                p.path.number(),
                p.path.title(),
                p.tools_listed,
                p.sequential.latency_us.p50,
                p.sequential.latency_us.p99,
                p.concurrent.throughput,
            );
        }
        let _ = writeln!(
            out,
            "\nThe synthetic backends do not announce changes (`notifications/tools/list_changed`); the \
             gateway's refresh interval is {:.0} s here (`--discovery-interval`). \"After a change\" is the \
             first list that shows the change.",
            l.discovery_interval_s
        );
    }
    out
}

/// The targets.
pub fn targets_table(results: &Results) -> String {
    let mut out =
        String::from("\n### Targets\n\n| target | measured | met |\n| --- | --- | :---: |\n");
    for t in &results.targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "n/a",
        };
        let _ = writeln!(out, "| {} | {} | {met} |", t.target, t.measured);
    }
    out
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}x"))
}

/// `12345.6` as `12,346`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::path;
    use crate::report::results::compute_ratios;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(12_345.6), "12,346");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
        assert_eq!(thousands(-1_500.0), "-1,500");
    }

    #[test]
    fn comparison_rows_carry_ratios() {
        let mut paths = vec![
            path(PathId::Direct, 20_000.0, 100.0, 200.0, 0.0),
            path(PathId::Gateway, 5_000.0, 400.0, 900.0, 0.2),
            path(PathId::EnvoyMcpRouter, 4_000.0, 300.0, 800.0, 0.1),
        ];
        compute_ratios(&mut paths);
        let table = comparison_table(&paths);
        let gateway = table
            .lines()
            .find(|l| l.starts_with("| (3)"))
            .expect("gateway row");
        assert!(
            gateway.contains("| 5,000 | 0.25x | 1.25x | 400 |"),
            "{gateway}"
        );
        assert!(gateway.contains("+300 µs"), "{gateway}");
        assert_eq!(table.lines().count(), 2 + 3);
        let cost = cost_table(&paths);
        assert!(
            cost.contains("| (3) Envoy + mcp-gateway | - | - | 0.200 | 2.00x |"),
            "{cost}"
        );
    }

    #[test]
    fn auth_cost_compares_path_7_with_path_3() {
        let mut paths = vec![
            path(PathId::Gateway, 5_000.0, 400.0, 900.0, 0.2),
            path(PathId::GatewayAuth, 4_000.0, 450.0, 1_000.0, 0.25),
        ];
        paths[0].cpu_saturated.envoy = Some(0.15);
        paths[1].cpu_saturated.envoy = Some(0.19);
        compute_ratios(&mut paths);
        let text = auth_cost(&paths);
        assert!(text.contains("4,000 vs 5,000 req/s (0.80x)"), "{text}");
        assert!(text.contains("p50 +50 µs"), "{text}");
        assert!(text.contains("Envoy +0.040"), "{text}");
        assert!(text.contains("router n/a"), "{text}");
        assert!(
            text.contains("gateway total +0.050 (0.250 vs 0.200)"),
            "{text}"
        );
        assert!(auth_cost(&paths[..1]).is_empty());
    }
}
