//! A latency-vs-load line plot as a standalone SVG (linear x, log-scale y), written by hand.

use std::fmt::Write;

use super::results::{PathId, SweepPoint};

const WIDTH: f64 = 840.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 230.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;

/// One line of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Stroke colour.
    pub color: &'static str,
    /// Dashed line.
    pub dashed: bool,
    /// (x, y, hollow marker) points; y must be positive (log scale).
    pub points: Vec<(f64, f64, bool)>,
}

/// A plot: offered load on x, latency in microseconds on a log y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Title at the top.
    pub title: String,
    /// The lines.
    pub series: Vec<Series>,
}

fn color(path: PathId) -> &'static str {
    match path {
        PathId::Direct => "#4d4d4d",
        PathId::PlainEnvoy => "#1f77b4",
        PathId::Gateway => "#d62728",
        PathId::EnvoyMcpRouter => "#2ca02c",
        PathId::ExtProcFloor => "#9467bd",
        PathId::GatewayAuth => "#ff7f0e",
    }
}

/// p50 (dashed) and p99 (solid) per path; saturated points are hollow.
pub fn sweep_plot(points: &[SweepPoint], title: &str) -> Plot {
    let mut series = Vec::new();
    for path in PathId::ALL {
        let mine: Vec<&SweepPoint> = points.iter().filter(|p| p.path == path).collect();
        if mine.is_empty() {
            continue;
        }
        for (name, dashed) in [("p99", false), ("p50", true)] {
            let points = mine
                .iter()
                .map(|p| {
                    let y = if dashed { p.p50_us } else { p.p99_us };
                    (p.offered, y.max(1.0), p.saturated)
                })
                .collect();
            series.push(Series {
                label: format!("({}) {} {name}", path.number(), path.short()),
                color: color(path),
                dashed,
                points,
            });
        }
    }
    Plot {
        title: title.to_owned(),
        series,
    }
}

/// A step of 1, 2 or 5 times a power of ten giving about `ticks` intervals over `range`.
pub fn nice_step(range: f64, ticks: usize) -> f64 {
    if !(range.is_finite() && range > 0.0) {
        return 1.0;
    }
    let raw = range / ticks.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn rate_label(rate: f64) -> String {
    if rate >= 1_000.0 {
        let k = rate / 1_000.0;
        if (k - k.round()).abs() < 1e-9 {
            format!("{k:.0}k")
        } else {
            format!("{k:.1}k")
        }
    } else {
        format!("{rate:.0}")
    }
}

fn latency_label(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{:.0} s", us / 1_000_000.0)
    } else if us >= 1_000.0 {
        format!("{:.0} ms", us / 1_000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG document.
pub fn render(plot: &Plot) -> String {
    let all: Vec<(f64, f64)> = plot
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(x, y, _)| (x, y)))
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="24" font-size="15" text-anchor="middle">{}</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        escape(&plot.title)
    );
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    if all.is_empty() {
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">no data</text></svg>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
        return out;
    }
    let x_max_data = all.iter().map(|p| p.0).fold(0.0, f64::max);
    let x_step = nice_step(x_max_data, 5);
    let x_max = (x_max_data / x_step).ceil().max(1.0) * x_step;
    let y_min = 10f64.powf(
        all.iter()
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor(),
    );
    let y_max = 10f64.powf(all.iter().map(|p| p.1).fold(0.0, f64::max).log10().ceil());
    let y_max = if y_max <= y_min { y_min * 10.0 } else { y_max };
    let sx = |x: f64| LEFT + x / x_max * plot_w;
    let sy = |y: f64| {
        TOP + plot_h - (y.log10() - y_min.log10()) / (y_max.log10() - y_min.log10()) * plot_h
    };

    // Grid and ticks.
    let mut x = 0.0;
    while x <= x_max + x_step / 2.0 {
        let px = sx(x);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0,
            rate_label(x)
        );
        x += x_step;
    }
    let mut y = y_min;
    while y <= y_max * 1.0001 {
        let py = sy(y);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 8.0,
            py + 4.0,
            latency_label(y)
        );
        y *= 10.0;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">offered load (requests/s, open loop)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0
    );
    let _ = writeln!(
        out,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">latency from scheduled send (log scale)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );

    // Lines, markers and legend.
    for (i, series) in plot.series.iter().enumerate() {
        let dash = if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let coords: Vec<String> = series
            .points
            .iter()
            .filter(|(x, y, _)| x.is_finite() && y.is_finite() && *y > 0.0)
            .map(|&(x, y, _)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
            coords.join(" "),
            series.color
        );
        for &(x, y, hollow) in &series.points {
            if !(x.is_finite() && y.is_finite() && y > 0.0) {
                continue;
            }
            let fill = if hollow { "white" } else { series.color };
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{fill}" stroke="{}"/>"#,
                sx(x),
                sy(y),
                series.color
            );
        }
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = LEFT + plot_w + 14.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 24.0,
            series.color,
            lx + 30.0,
            ly + 4.0,
            escape(&series.label)
        );
    }
    let note_y = TOP + 10.0 + plot.series.len() as f64 * 20.0 + 10.0;
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{note_y:.1}" font-size="11" fill="#555">hollow: could not keep up</text>"##,
        LEFT + plot_w + 14.0
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(path: PathId, offered: f64, p50: f64, p99: f64, saturated: bool) -> SweepPoint {
        SweepPoint {
            path,
            offered,
            achieved: offered,
            p50_us: p50,
            p99_us: p99,
            errors: 0,
            saturated,
        }
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10_000.0, 5), 2_000.0);
        assert_eq!(nice_step(9_000.0, 5), 2_000.0);
        assert_eq!(nice_step(4_300.0, 5), 1_000.0);
        assert_eq!(nice_step(120.0, 5), 50.0);
        assert_eq!(nice_step(0.0, 5), 1.0);
    }

    #[test]
    fn labels() {
        assert_eq!(rate_label(2_000.0), "2k");
        assert_eq!(rate_label(2_500.0), "2.5k");
        assert_eq!(rate_label(500.0), "500");
        assert_eq!(latency_label(100.0), "100 µs");
        assert_eq!(latency_label(10_000.0), "10 ms");
        assert_eq!(latency_label(1_000_000.0), "1 s");
    }

    #[test]
    fn plot_has_two_lines_per_path_and_hollow_saturated_points() {
        let points = vec![
            point(PathId::Direct, 1_000.0, 80.0, 150.0, false),
            point(PathId::Direct, 4_000.0, 90.0, 200.0, false),
            point(PathId::Gateway, 1_000.0, 300.0, 800.0, false),
            point(PathId::Gateway, 4_000.0, 20_000.0, 90_000.0, true),
        ];
        let plot = sweep_plot(&points, "latency <vs> load");
        assert_eq!(plot.series.len(), 4);
        assert!(plot.series.iter().any(|s| s.dashed));
        let svg = render(&plot);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches("<circle").count(), 8);
        assert_eq!(svg.matches(r##"fill="white" stroke="#d62728""##).count(), 2);
        assert!(svg.contains("latency &lt;vs&gt; load"));
        // Decades from 10 µs to 100 ms.
        assert!(svg.contains(">10 µs<") && svg.contains(">100 ms<"));
    }

    #[test]
    fn empty_plot_says_so() {
        let svg = render(&sweep_plot(&[], "empty"));
        assert!(svg.contains("no data"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
