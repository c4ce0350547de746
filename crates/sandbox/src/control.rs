//! The control endpoints under `/_control` for tests and demos driven from outside the
//! process (the Rust API on `RunningSandbox` does the same in-process):
//! `POST /_control/faults` adds a [`FaultRule`] (`{channel, code?, fault, times?,
//! operation?, delay_ms?}`), `GET` lists the pending rules, `DELETE` clears them;
//! `GET /_control/ground-truth` returns every committed consumption and notification;
//! `GET /_control/readings` returns the current [`Readings`], `POST` merges a partial one
//! (`{"allinpay":{"shape":"envelope"}}`: a channel object given replaces that channel's
//! reading, its missing fields taking their defaults) and answers the readings now.

use crate::channels::Shared;
use crate::fault::FaultRule;
use crate::reading::{Readings, ReadingsPatch};
use crate::store::GroundTruth;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_control/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_control/ground-truth", get(ground_truth))
        .route("/_control/readings", get(readings).post(merge_readings))
}

async fn add_fault(
    State(shared): State<Arc<Shared>>,
    Json(rule): Json<FaultRule>,
) -> Json<serde_json::Value> {
    shared.faults.add(rule);
    Json(serde_json::json!({ "ok": true }))
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Json<Vec<FaultRule>> {
    Json(shared.faults.pending())
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    shared.faults.clear();
    Json(serde_json::json!({ "ok": true }))
}

async fn ground_truth(State(shared): State<Arc<Shared>>) -> Json<GroundTruth> {
    Json(shared.store().ground_truth())
}

async fn readings(State(shared): State<Arc<Shared>>) -> Json<Readings> {
    Json(shared.readings())
}

async fn merge_readings(
    State(shared): State<Arc<Shared>>,
    Json(patch): Json<ReadingsPatch>,
) -> Json<Readings> {
    // Read and write under one lock so two patches to different channels both land.
    let mut now = shared.readings.write().unwrap_or_else(|p| p.into_inner());
    *now = now.merged(patch);
    Json(*now)
}
