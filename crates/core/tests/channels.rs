//! The channels' integration tests: signing golden vectors, the seeds' own
//! examples decoded into outcomes, decoder property tests, configuration loading, the
//! HTTP policy against a local responder, and the no-secrets-in-logs check.

#[path = "channels/support.rs"]
mod support;

#[path = "channels/signing.rs"]
mod signing;

#[path = "channels/seeds.rs"]
mod seeds;

#[path = "channels/decoding.rs"]
mod decoding;

#[path = "channels/config.rs"]
mod config;

#[path = "channels/calls.rs"]
mod calls;

#[path = "channels/logging.rs"]
mod logging;

#[path = "channels/clock_skew.rs"]
mod clock_skew;
