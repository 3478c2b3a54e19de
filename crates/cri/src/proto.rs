//! The CRI `runtime.v1` messages, server and client, generated at build
//! time from the vendored `proto/api.proto` (k8s.io/cri-api).
#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("runtime.v1");
