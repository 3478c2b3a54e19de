//! berthd: the Kubernetes CRI (`runtime.v1` RuntimeService and
//! ImageService) over gRPC on a unix socket, a thin server over berth's
//! engine, image and storage crates. Containers run under their own
//! monitors, as `berth run -d` does, so they outlive berthd; its state is
//! the store's and the runroot's, shared with the CLI under file locks.
#![deny(missing_docs)]

pub mod cli;
pub mod config;
mod container_config;
mod container_events;
mod containers;
mod daemon;
mod images;
mod listener;
mod pod_metrics;
mod pod_stats;
mod pods;
mod prometheus;
pub mod proto;
mod resources_update;
mod runtime_info;
mod service;
mod status_codes;
mod streaming;
