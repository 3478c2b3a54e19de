//! Containers from images, daemonless: the `engine` of berth's design.
//!
//! An [`Engine`] turns an image in storage into a container: a read-write
//! layer over the image (storage's `create_container`), and a bundle whose
//! `config.json` merges the image config (Entrypoint, Cmd, Env, WorkingDir,
//! User, StopSignal) with the user's [`CreateOptions`] under podman's
//! default confinement. It runs containers through the OCI runtime's
//! binary: in the foreground (the caller's stdio, signals passed on, the
//! exit code returned) or detached under a small per-container
//! [monitor] that writes the log in the CRI format and records the exit.
//! Run state lives under the runroot ([`record`]) behind flocks, so every
//! command works from any process.
#![deny(missing_docs)]

mod attach;
mod attach_hub;
mod attach_socket;
mod attach_stream;
mod boot;
mod bundle;
pub mod clock;
mod command_lookup;
mod commit;
mod commit_config;
pub mod config_changes;
pub mod confinement;
mod console_socket;
mod container_fs;
mod container_network;
pub mod detach_keys;
mod diff_between;
mod engine;
mod engine_networks;
mod engine_volumes;
mod error;
mod etc_files;
pub mod events;
mod exec;
mod exec_capture;
mod exec_detached;
mod exec_process;
mod exec_streams;
mod exit_codes;
pub mod health;
pub mod health_action;
mod health_timer;
mod host_devices;
pub mod image_config;
#[cfg(test)]
mod image_config_parse;
mod image_removal;
mod image_users;
mod init;
mod launcher;
mod layer_timestamp;
pub mod life_options;
mod lifecycle;
pub mod listen_fds;
mod log_link;
pub mod logs;
mod memory_stat;
mod meta;
pub mod monitor;
mod mount_apply;
pub mod network;
pub mod options;
mod output_watch;
mod pause;
pub mod pod;
mod proc_stat;
mod process_ref;
mod pty_relay;
mod reboot;
pub mod records;
mod rename;
mod resource_update;
mod restart;
mod restart_policy;
pub mod rootfs_reader;
pub mod rootless;
mod runtime;
pub mod sd_notify;
pub mod seccomp_profile;
mod signal_forwarding;
pub mod spec;
mod spec_apply;
mod spec_create;
#[cfg(test)]
mod spec_equivalence;
pub mod spec_options;
mod stats;
pub mod system_spec;
mod terminal;
pub mod top;
mod tree_view;
mod user_mounts;
mod volume_copy_up;
mod volume_error;
pub mod volume_options;
pub mod volumes;
mod working_commit;
mod working_containers;
mod working_mounts;
mod working_run;

pub use attach::{AttachEnd, AttachOptions};
pub use attach_stream::{AttachStream, ATTACH_RESIZE, ATTACH_STDERR, ATTACH_STDIN, ATTACH_STDOUT};
pub use berth_storage::PathChange;
pub use boot::LastRun;
pub use commit::{ImageFormat, NewImageOptions};
pub use container_fs::PathKind;
pub use container_network::{default_network_mode, published_ports};
pub use engine::{ContainerInfo, Engine, EngineOptions};
pub use error::{Error, Result};
pub use exec_capture::ExecOutput;
pub use exec_process::ExecOptions;
pub use exec_streams::{ExecStreams, ProcessFile};
pub use image_removal::ImageRemoval;
pub use memory_stat::MemoryStat;
pub use meta::Meta;
pub use network::{ports::PortMapping, Attachment};
pub use options::{CreateOptions, NetworkMode, Volume};
pub use pod::{PodDns, PodError, PodInfo, PodOptions, PodState};
pub use pty_relay::resize_terminal;
pub use records::{State, Status};
pub use resource_update::ResourceUpdate;
pub use rootfs_reader::RootfsReader;
pub use spec_create::DEFAULT_STOP_TIMEOUT;
pub use stats::ContainerStats;
pub use tree_view::{TreeKind, TreeView, ViewLayer};
pub use volumes::{VolumeError, VolumeInfo};
pub use working_commit::WorkingCommit;
pub use working_containers::{is_working_container, WORKING_CONTAINER_KEY};
pub use working_run::WorkingRun;
