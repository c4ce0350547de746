//! Benchmark 2's figures: `make bench` builds the criterion benchmark `src/bin/signing.rs`
//! with everything else and runs it first; this reads criterion's estimates
//! (target/criterion/*/new/) into BENCHMARKS.md.

use std::path::Path;

fn read(dir: &Path) -> Option<(String, f64, f64, f64)> {
    let bench: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("new/benchmark.json")).ok()?)
            .ok()?;
    let est: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("new/estimates.json")).ok()?)
            .ok()?;
    let median = &est["median"];
    Some((
        bench["title"].as_str()?.to_owned(),
        median["point_estimate"].as_f64()?,
        median["confidence_interval"]["lower_bound"].as_f64()?,
        median["confidence_interval"]["upper_bound"].as_f64()?,
    ))
}

fn ns(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.2} ms", v / 1_000_000.0)
    } else if v >= 1_000.0 {
        format!("{:.2} µs", v / 1_000.0)
    } else {
        format!("{v:.0} ns")
    }
}

pub fn markdown(criterion_dir: &Path) -> String {
    let mut rows: Vec<_> = std::fs::read_dir(criterion_dir)
        .map(|d| d.flatten().filter_map(|e| read(&e.path())).collect())
        .unwrap_or_default();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from(
        "## 2. Signing and decoding per channel\n\n\
         criterion (`crates/bench/src/bin/signing.rs`): signing a typical request and decoding a typical \
         successful answer (its signature checked) with the demo credentials and RSA-2048 key \
         pairs made for the run. Median with its 95% confidence interval.\n\n| what | median (95% CI) |\n|---|---|\n",
    );
    if rows.is_empty() {
        out.push_str("| not run | `make bench BENCH=2` first |\n");
    }
    for (title, m, lo, hi) in rows {
        out.push_str(&format!(
            "| {title} | {} ({} – {}) |\n",
            ns(m),
            ns(lo),
            ns(hi)
        ));
    }
    out
}
