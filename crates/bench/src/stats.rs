//! Medians with their spread: every figure in BENCHMARKS.md is a median over repeated runs,
//! shown with its 10th and 90th percentiles.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: Duration,
    pub p10: Duration,
    pub p90: Duration,
    pub runs: usize,
}

pub fn summarise(samples: &[Duration]) -> Summary {
    assert!(!samples.is_empty(), "a figure needs at least one run");
    let mut s = samples.to_vec();
    s.sort();
    let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    Summary {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
        runs: s.len(),
    }
}

/// `1.23 ms (p10 1.10 – p90 1.50, 400 runs)`.
pub fn show(s: &Summary) -> String {
    format!(
        "{} (p10 {} – p90 {}, {} runs)",
        ms(s.median),
        ms(s.p10),
        ms(s.p90),
        s.runs
    )
}

pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.2} ms")
    } else {
        format!("{:.1} µs", v * 1000.0)
    }
}

/// Times one call.
pub fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = std::time::Instant::now();
    let out = f();
    (t.elapsed(), out)
}

/// A median with the smallest and largest run, for figures from a handful of runs (app
/// launches) where p10/p90 would be the second-smallest and second-largest anyway.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

pub fn range(samples: &[f64]) -> Range {
    assert!(!samples.is_empty(), "a figure needs at least one run");
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    // The mean of the middle two for an even count, so the median is not biased upwards.
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Range {
        median,
        min: s[0],
        max: s[n - 1],
        runs: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_takes_the_middle_and_the_ends() {
        let r = range(&[5.0, 1.0, 3.0]);
        assert_eq!((r.median, r.min, r.max, r.runs), (3.0, 1.0, 5.0, 3));
        let r = range(&[4.0, 1.0, 2.0, 10.0]);
        assert_eq!((r.median, r.min, r.max), (3.0, 1.0, 10.0));
    }
}
