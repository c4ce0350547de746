//! Benchmark 1, redemption overhead (issue 4, issue 7): a redemption through the engine
//! against the sandbox over loopback, vs. the same HTTP exchange made by the channel client
//! alone (same channel, same payload, same signing and decoding), vs. the two durable SQLite
//! commits a redemption needs (the same ledger code, PRAGMAs and row sizes, on another file
//! in the same directory). Headline: (engine − bare exchange) / (two commits), target ≤ 1.2.
//! The three are interleaved run by run so that machine noise falls on all of them alike.

use crate::stats::{self, summarise, Summary};
use redeemdesk_core::app_info::Mode;
use redeemdesk_core::channel::{ChannelKind, CouponCode, RedeemRequest, RedemptionId};
use redeemdesk_core::clock::{Clock, SystemClock};
use redeemdesk_core::desk::Desk;
use redeemdesk_core::ledger::{self, Actor, AttemptState, Ledger, NewAttempt, Transition};
use redeemdesk_core::redeem::{PrepareInput, Prepared, RedeemInput};
use redeemdesk_core::scan::ScanRules;
use redeemdesk_sandbox::{DemoData, Sandbox, SandboxOptions};
use std::sync::Arc;

pub struct Result {
    pub engine: Summary,
    pub bare: Summary,
    pub commits: Summary,
    pub ratio: f64,
}

const TEMPLATE: &str = "679533922928";

fn code(kind: char, i: usize) -> String {
    format!("6795{kind}{i:07}")
}

pub async fn run(runs: usize) -> Result {
    let warmup = runs / 10 + 5;
    let total = warmup + runs;
    let mut demo = DemoData::embedded().expect("demo data");
    let base = demo
        .coupons
        .iter()
        .find(|c| c.code == TEMPLATE)
        .expect("template")
        .clone();
    for i in 0..total {
        for kind in ['1', '2'] {
            let mut c = base.clone();
            c.code = code(kind, i);
            demo.coupons.push(c);
        }
    }
    let sandbox = Sandbox::start(SandboxOptions {
        demo: Some(demo),
        ..Default::default()
    })
    .await
    .expect("sandbox");
    let dir = tempfile::tempdir().expect("temp dir");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = sandbox.demo_config();
    let desk_ledger = Arc::new(
        Ledger::open(
            &dir.path().join(ledger::file_name(Mode::Sandbox)),
            Mode::Sandbox,
        )
        .unwrap(),
    );
    let desk = Desk::open(
        desk_ledger,
        config.build_channels(clock.clone()).unwrap(),
        clock.clone(),
        ScanRules::default(),
    )
    .unwrap();
    desk.start_shift(redeemdesk_core::roles::DEFAULT_CASHIER, None)
        .unwrap();
    let bare = config
        .build_channels(clock.clone())
        .unwrap()
        .into_iter()
        .find(|c| c.kind() == ChannelKind::Shoubei)
        .expect("shoubei");
    let baseline = Ledger::open(&dir.path().join("baseline.sqlite"), Mode::Sandbox).unwrap();

    let (mut engine, mut bare_t, mut commits) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..total {
        // The engine: the cashier's confirmation of a preview (the preview is not timed).
        let prepared = desk
            .prepare(PrepareInput {
                channel: ChannelKind::Shoubei,
                platform: None,
                raw_code: code('1', i),
            })
            .await
            .unwrap();
        let Prepared::Ready { token, .. } = prepared else {
            panic!("preview: {prepared:?}")
        };
        let t = std::time::Instant::now();
        let done = desk
            .redeem(RedeemInput {
                token,
                count: 1,
                certificates: vec![],
            })
            .await
            .unwrap();
        let e = t.elapsed();
        assert_eq!(
            done.attempt.state,
            AttemptState::Succeeded,
            "a benchmark of failures is no benchmark"
        );

        // The same exchange without the engine.
        let req = RedeemRequest {
            id: RedemptionId::new_v4(),
            code: CouponCode::new(code('2', i)).unwrap(),
            count: 1,
            platform: None,
            certificates: vec![],
            order_amount: None,
            paid_amount: None,
            remaining_before: None,
            cashier: Some("bench".into()),
            remark: None,
            attempted_at_ms: clock.now_ms(),
        };
        let t = std::time::Instant::now();
        let answer = bare.redeem(&req).await.unwrap();
        let b = t.elapsed();

        // The two commits, with the rows the engine writes (its exchange included).
        let x = &answer.exchanges[0];
        let exchange = ledger::Exchange {
            request: Some(format!("{} {}\n{}", x.method, x.url, x.request)),
            response: x.response.clone(),
            http_status: x.http_status,
        };
        let (c, _) = stats::time(|| {
            let id = baseline
                .begin_attempt(NewAttempt {
                    created_ms: clock.now_ms(),
                    channel: ChannelKind::Shoubei,
                    platform: None,
                    code: code('2', i),
                    count: 1,
                    cashier: "bench".into(),
                    face_value: done.attempt.face_value,
                    price: done.attempt.price,
                    remaining_before: None,
                    prepare: ledger::Exchange::default(),
                })
                .unwrap();
            baseline
                .record(
                    &id,
                    Transition::new(
                        AttemptState::Succeeded,
                        clock.now_ms(),
                        Actor::Cashier("bench".into()),
                    )
                    .channel_id("order_no", "516375643352141195430506")
                    .exchange(exchange),
                )
                .unwrap()
        });
        if i >= warmup {
            engine.push(e);
            bare_t.push(b);
            commits.push(c);
        }
    }
    let (engine, bare, commits) = (summarise(&engine), summarise(&bare_t), summarise(&commits));
    let ratio =
        (engine.median.as_secs_f64() - bare.median.as_secs_f64()) / commits.median.as_secs_f64();
    Result {
        engine,
        bare,
        commits,
        ratio,
    }
}

pub fn markdown(r: &Result) -> String {
    format!(
        "## 1. Redemption overhead\n\n\
         A 收呗 redemption through the engine (checks, write-ahead commit, the exchange, the \
         recorded answer) against the sandbox over loopback; the same exchange made by the \
         channel client alone; the two durable commits (WAL, `synchronous=FULL`) with the \
         same rows on another ledger file. Interleaved run by run.\n\n\
         | what | median (spread) |\n|---|---|\n\
         | engine redemption | {} |\n\
         | bare exchange | {} |\n\
         | two durable commits | {} |\n\n\
         **(engine − bare) / two commits = {:.2}** (target ≤ 1.2: the engine adds nothing \
         beyond the commits it needs but {:.0}%).\n",
        stats::show(&r.engine),
        stats::show(&r.bare),
        stats::show(&r.commits),
        r.ratio,
        (r.ratio - 1.0).max(0.0) * 100.0,
    )
}
