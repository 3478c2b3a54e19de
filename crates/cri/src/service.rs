//! The two gRPC services, each call handed to the module that answers it.
//! Calls that touch the store or run a runtime go to the blocking pool
//! ([`blocking`]); the rest answer inline. What is not built yet answers
//! Unimplemented with what is missing.

use crate::daemon::{blocking, Daemon};
use crate::proto::image_service_server::{ImageService, ImageServiceServer};
use crate::proto::runtime_service_server::{RuntimeService, RuntimeServiceServer};
use crate::proto::*;
use crate::{
    container_events, containers, images, pod_metrics, pod_stats, pods, resources_update,
    runtime_info, streaming,
};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The CRI server: one [`Daemon`] behind both services.
#[derive(Clone)]
pub struct Cri {
    daemon: Arc<Daemon>,
}

/// Serve both services on `listener` until SIGTERM or SIGINT.
pub async fn serve(
    daemon: Arc<Daemon>,
    listener: std::os::unix::net::UnixListener,
) -> anyhow::Result<()> {
    let listener = tokio::net::UnixListener::from_std(listener)?;
    let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
    tokio::spawn(streaming::serve(Arc::clone(&daemon)));
    if !daemon.config.metrics_address.is_empty() {
        let addr = &daemon.config.metrics_address;
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("metrics_address {addr}: {e}"))?;
        tokio::spawn(crate::prometheus::serve(metrics, Arc::clone(&daemon)));
    }
    let cri = Cri { daemon };
    tracing::info!("berthd serving");
    tonic::transport::Server::builder()
        .add_service(RuntimeServiceServer::new(cri.clone()))
        .add_service(ImageServiceServer::new(cri))
        .serve_with_incoming_shutdown(incoming, shutdown())
        .await?;
    tracing::info!("berthd stopped");
    Ok(())
}

async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without handlers the default actions end berthd anyway.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// The body of one RPC: `blocking` runs `handler(&Daemon, request)` on
/// the blocking pool, `inline` on the async thread, `missing` answers
/// Unimplemented with the reason.
macro_rules! rpc_body {
    (blocking, $self:ident, $request:ident, $h:expr) => {{
        let req = $request.into_inner();
        blocking(&$self.daemon, move |d| $h(d, req))
            .await
            .map(Response::new)
    }};
    (inline, $self:ident, $request:ident, $h:expr) => {
        $h(&$self.daemon, $request.into_inner()).map(Response::new)
    };
    (missing, $self:ident, $request:ident, $why:expr) => {{
        let _ = (&$self, $request);
        Err(Status::unimplemented($why))
    }};
}

/// A service's impl, one RPC per line (the bodies as [`rpc_body`]), then
/// any items written out in full.
macro_rules! rpcs {
    ($service:ident { $($kind:ident $name:ident($req:ty) -> $resp:ty = $h:expr;)* } $($extra:item)*) => {
        #[tonic::async_trait]
        impl $service for Cri {
            $(
                async fn $name(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    let began = std::time::Instant::now();
                    let r = rpc_body!($kind, self, request, $h);
                    self.daemon.metrics.operation(stringify!($name), began.elapsed(), r.is_ok());
                    r
                }
            )*
            $($extra)*
        }
    };
}

use crate::container_events::EventStream;

rpcs! {
    RuntimeService {
        inline version(VersionRequest) -> VersionResponse = |_: &Daemon, _| Ok(runtime_info::version());
        inline status(StatusRequest) -> StatusResponse =
            |d: &Daemon, r: StatusRequest| Ok(runtime_info::status(d, r.verbose));
        inline runtime_config(RuntimeConfigRequest) -> RuntimeConfigResponse =
            |d: &Daemon, _| Ok(runtime_info::runtime_config(d));
        inline update_runtime_config(UpdateRuntimeConfigRequest) -> UpdateRuntimeConfigResponse =
            runtime_info::update_runtime_config;
        blocking run_pod_sandbox(RunPodSandboxRequest) -> RunPodSandboxResponse = pods::run;
        blocking stop_pod_sandbox(StopPodSandboxRequest) -> StopPodSandboxResponse = pods::stop;
        blocking remove_pod_sandbox(RemovePodSandboxRequest) -> RemovePodSandboxResponse = pods::remove;
        blocking pod_sandbox_status(PodSandboxStatusRequest) -> PodSandboxStatusResponse = pods::status;
        blocking list_pod_sandbox(ListPodSandboxRequest) -> ListPodSandboxResponse = pods::list;
        blocking create_container(CreateContainerRequest) -> CreateContainerResponse = containers::create;
        blocking start_container(StartContainerRequest) -> StartContainerResponse = containers::start;
        blocking stop_container(StopContainerRequest) -> StopContainerResponse = containers::stop;
        blocking remove_container(RemoveContainerRequest) -> RemoveContainerResponse = containers::remove;
        blocking list_containers(ListContainersRequest) -> ListContainersResponse = containers::list;
        blocking container_status(ContainerStatusRequest) -> ContainerStatusResponse = containers::status;
        blocking update_container_resources(UpdateContainerResourcesRequest) -> UpdateContainerResourcesResponse = resources_update::update;
        blocking reopen_container_log(ReopenContainerLogRequest) -> ReopenContainerLogResponse = containers::reopen_log;
        blocking exec_sync(ExecSyncRequest) -> ExecSyncResponse = containers::exec_sync;
        blocking exec(ExecRequest) -> ExecResponse = streaming::exec;
        blocking attach(AttachRequest) -> AttachResponse = streaming::attach;
        blocking port_forward(PortForwardRequest) -> PortForwardResponse = streaming::port_forward;
        blocking container_stats(ContainerStatsRequest) -> ContainerStatsResponse = containers::stats;
        blocking list_container_stats(ListContainerStatsRequest) -> ListContainerStatsResponse = containers::list_stats;
        blocking pod_sandbox_stats(PodSandboxStatsRequest) -> PodSandboxStatsResponse = pod_stats::stats;
        blocking list_pod_sandbox_stats(ListPodSandboxStatsRequest) -> ListPodSandboxStatsResponse = pod_stats::list;
        missing checkpoint_container(CheckpointContainerRequest) -> CheckpointContainerResponse = "checkpoint is not built yet";
        inline list_metric_descriptors(ListMetricDescriptorsRequest) -> ListMetricDescriptorsResponse = pod_metrics::descriptors;
        blocking list_pod_sandbox_metrics(ListPodSandboxMetricsRequest) -> ListPodSandboxMetricsResponse = pod_metrics::list;
    }

    type GetContainerEventsStream = EventStream;

    async fn get_container_events(
        &self,
        _request: Request<GetEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        Ok(Response::new(container_events::stream(Arc::clone(&self.daemon))))
    }
}

rpcs! {
    ImageService {
        blocking list_images(ListImagesRequest) -> ListImagesResponse = images::list;
        blocking image_status(ImageStatusRequest) -> ImageStatusResponse = images::status;
        blocking pull_image(PullImageRequest) -> PullImageResponse = images::pull;
        blocking remove_image(RemoveImageRequest) -> RemoveImageResponse = images::remove;
        blocking image_fs_info(ImageFsInfoRequest) -> ImageFsInfoResponse = |d: &Daemon, _| images::fs_info(d);
    }
}
