//! The burst's tables, targets and graph (an SVG written by hand: no plotting crate).

use std::fmt::Write as _;
use std::time::Duration;

use crate::burst::{BurstRun, Delivery};
use crate::Implementation;

/// Time to isolate every ENI within this factor of the floor, at every N.
pub const FLOOR_FACTOR: f64 = 1.5;
/// At N = 50, the Rust bootstrap isolates every ENI at least this many times sooner than the baseline.
pub const BASELINE_FACTOR: f64 = 3.0;
const BASELINE_AT: usize = 50;

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn find(runs: &[BurstRun], d: Delivery, i: Implementation, n: usize) -> Option<&BurstRun> {
    runs.iter().find(|r| r.delivery == d && r.implementation == i && r.instances == n)
}

/// The Markdown: the burst table, calls per API at the largest N, and the targets' verdicts.
pub fn render(runs: &[BurstRun], latency: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Burst: N instances against EC2's request token buckets\n");
    let _ = writeln!(
        out,
        "Every answer delayed {} ms; EC2's documented buckets, full at the start; every process warm and waiting when the burst is queued.\n",
        latency.as_millis()
    );
    let _ = writeln!(out, "| delivery | N | ENIs | implementation | processes | every ENI isolated | × floor | floor | every plan done | answers contained | requests | throttled |");
    let _ = writeln!(out, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in runs {
        let isolated = r.to_isolate.map(secs).unwrap_or_else(|| "**not all**".into());
        let factor =
            r.to_isolate.map(|t| format!("{:.2}", t.as_secs_f64() / r.floor.as_secs_f64())).unwrap_or_default();
        let answers = match &r.other_outcome {
            None => format!("{}/{}", r.contained, r.answers),
            Some(other) => format!("{}/{} ({})", r.contained, r.answers, other.chars().take(60).collect::<String>()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {isolated} | {factor} | {} | {} | {answers} | {} | {} |",
            r.delivery.label(),
            r.instances,
            r.interfaces,
            r.implementation.label(),
            r.processes,
            secs(r.floor),
            secs(r.to_done),
            r.requests(),
            r.throttled()
        );
    }
    calls_table(&mut out, runs);
    targets(&mut out, runs);
    out
}

fn calls_table(out: &mut String, runs: &[BurstRun]) {
    let Some(largest) = runs.iter().map(|r| r.instances).max() else { return };
    let at: Vec<&BurstRun> = runs.iter().filter(|r| r.instances == largest).collect();
    let mut apis: Vec<&String> = at.iter().flat_map(|r| r.calls.keys()).collect();
    apis.sort();
    apis.dedup();
    let _ = writeln!(out, "\n### Calls per API at N = {largest} (throttled in brackets)\n");
    let header: Vec<String> =
        at.iter().map(|r| format!("{}, {}", r.implementation.label(), r.delivery.label())).collect();
    let _ = writeln!(out, "| API | {} |", header.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(at.len()));
    for api in apis {
        let cells: Vec<String> = at
            .iter()
            .map(|r| r.calls.get(api).map(|c| format!("{} ({})", c.all, c.throttled)).unwrap_or_else(|| "–".into()))
            .collect();
        let _ = writeln!(out, "| {api} | {} |", cells.join(" | "));
    }
}

fn targets(out: &mut String, runs: &[BurstRun]) {
    let _ = writeln!(out, "\n### Targets\n");
    for delivery in [Delivery::Findings, Delivery::Sequence] {
        let rust: Vec<&BurstRun> =
            runs.iter().filter(|r| r.delivery == delivery && r.implementation == Implementation::Rust).collect();
        if rust.is_empty() {
            continue;
        }
        let worst = rust
            .iter()
            .map(|r| r.to_isolate.map(|t| t.as_secs_f64() / r.floor.as_secs_f64()).unwrap_or(f64::INFINITY))
            .fold(0.0, f64::max);
        let met = if worst <= FLOOR_FACTOR { "met" } else { "NOT met" };
        let _ = writeln!(
            out,
            "- {}: every ENI isolated within {FLOOR_FACTOR}× the floor at every N: **{met}** (worst {worst:.2}×)",
            delivery.label()
        );
        let pair = (
            find(runs, delivery, Implementation::Rust, BASELINE_AT),
            find(runs, delivery, Implementation::PythonBaseline, BASELINE_AT),
        );
        if let (Some(rust), Some(python)) = pair {
            let verdict = match (rust.to_isolate, python.to_isolate) {
                (Some(r), Some(p)) => {
                    let ratio = p.as_secs_f64() / r.as_secs_f64();
                    format!("**{}** ({ratio:.1}×)", if ratio >= BASELINE_FACTOR { "met" } else { "NOT met" })
                }
                (Some(_), None) => "**met** (the baseline did not isolate every ENI)".into(),
                _ => "**NOT met** (the Rust bootstrap did not isolate every ENI)".into(),
            };
            let _ = writeln!(
                out,
                "- {}: ≥ {BASELINE_FACTOR}× sooner than the baseline at N = {BASELINE_AT}: {verdict}",
                delivery.label()
            );
        }
    }
}

/// One line of the graph: label, colour, dash pattern, (N, seconds) points.
type Series<'a> = (String, &'a str, &'a str, Vec<(f64, f64)>);

/// Time to isolate every ENI against N: each implementation and delivery, and the floor.
pub fn svg(runs: &[BurstRun]) -> String {
    let (w, h, left, right, top, bottom) = (880.0, 420.0, 70.0, 390.0, 30.0, 50.0);
    let max_n = runs.iter().map(|r| r.instances).max().unwrap_or(1).max(1) as f64;
    let max_t = runs
        .iter()
        .flat_map(|r| [r.to_isolate.unwrap_or(r.to_done), r.floor])
        .map(|d| d.as_secs_f64())
        .fold(0.1, f64::max)
        * 1.05;
    let x = |n: f64| left + (w - left - right) * n / max_n;
    let y = |t: f64| h - bottom - (h - top - bottom) * t / max_t;
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"18\" font-size=\"14\">Time until every ENI is isolated, against N instances</text>"
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>",
        h - bottom,
        w - right,
        h - bottom
    );
    let _ = writeln!(s, "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>", h - bottom);
    let mut ns: Vec<usize> = runs.iter().map(|r| r.instances).collect();
    ns.sort_unstable();
    ns.dedup();
    for n in &ns {
        let px = x(*n as f64);
        let _ = writeln!(s, "<line x1=\"{px:.1}\" y1=\"{}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"black\"/><text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{n}</text>", h - bottom, h - bottom + 5.0, h - bottom + 18.0);
    }
    for k in 0..=5 {
        let t = max_t * k as f64 / 5.0;
        let py = y(t);
        let _ = writeln!(s, "<line x1=\"{}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{t:.1} s</text>", left, w - right, left - 6.0, py + 4.0);
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">N (instances)</text>",
        (left + w - right) / 2.0,
        h - 12.0
    );
    let mut series: Vec<Series> = Vec::new();
    for (implementation, colour) in [(Implementation::Rust, "#1f77b4"), (Implementation::PythonBaseline, "#ff7f0e")] {
        for (delivery, dash) in [(Delivery::Findings, ""), (Delivery::Sequence, "6,4")] {
            let points: Vec<(f64, f64)> = ns
                .iter()
                .filter_map(|n| find(runs, delivery, implementation, *n))
                .filter_map(|r| r.to_isolate.map(|t| (r.instances as f64, t.as_secs_f64())))
                .collect();
            if !points.is_empty() {
                series.push((format!("{}, {}", implementation.label(), delivery.label()), colour, dash, points));
            }
        }
    }
    // The floor differs by delivery: N findings are taken a few per process, one after another.
    for (delivery, dash) in [(Delivery::Findings, "2,3"), (Delivery::Sequence, "1,5")] {
        let floor: Vec<(f64, f64)> = ns
            .iter()
            .filter_map(|n| runs.iter().find(|r| r.instances == *n && r.delivery == delivery))
            .map(|r| (r.instances as f64, r.floor.as_secs_f64()))
            .collect();
        if !floor.is_empty() {
            series.push((format!("floor, {}", delivery.label()), "black", dash, floor));
        }
    }
    for (i, (label, colour, dash, points)) in series.iter().enumerate() {
        let path: Vec<String> = points.iter().map(|(n, t)| format!("{:.1},{:.1}", x(*n), y(*t))).collect();
        let _ = writeln!(s, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" points=\"{}\"/>", path.join(" "));
        for (n, t) in points {
            let _ = writeln!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>", x(*n), y(*t));
        }
        let ly = top + 20.0 + 20.0 * i as f64;
        let lx = w - right + 15.0;
        let _ = writeln!(s, "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{label}</text>", lx + 25.0, lx + 30.0, ly + 4.0);
    }
    s.push_str("</svg>\n");
    s
}
