//! THE contract test: one list of scenarios run against every channel through the real
//! core client and the sandbox over loopback. (Filled in once the core's client exists.)
