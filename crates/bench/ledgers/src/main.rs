//! `redeemdesk-bench-ledgers DIR [--quick]`: makes the benchmark ledgers missing from DIR
//! (scripts/bench-record.sh runs it while the rest of the release build compiles).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: redeemdesk-bench-ledgers DIR [--quick]");
        std::process::exit(2);
    };
    let sizes: &[u64] = if quick {
        &redeemdesk_bench_ledgers::QUICK_SIZES
    } else {
        &redeemdesk_bench_ledgers::SIZES
    };
    for &n in sizes {
        redeemdesk_bench_ledgers::ensure(std::path::Path::new(dir), n, true);
    }
}
