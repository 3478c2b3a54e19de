//! berthd over its socket: Version, Status, RuntimeConfig,
//! UpdateRuntimeConfig, and the ImageService against a real registry; a
//! bad config stops berthd with the file and key named.

mod common;

use berth_cri::proto::*;
use common::{Berthd, Registry};
use tonic::Code;

#[tokio::test]
async fn version_status_and_runtime_config() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let b = Berthd::start();
    let mut rt = b.runtime().await;
    let v = rt
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.runtime_name, "berthd");
    assert_eq!(v.runtime_api_version, "v1");

    let s = rt
        .status(StatusRequest { verbose: true })
        .await
        .unwrap()
        .into_inner();
    let conds = s.status.unwrap().conditions;
    let ready = |t: &str| conds.iter().find(|c| c.r#type == t).cloned().unwrap();
    assert!(ready("RuntimeReady").status, "{conds:?}");
    assert!(ready("NetworkReady").status, "{conds:?}");
    assert!(s.info["config"].contains(&b.cgroup_parent), "{:?}", s.info);

    let c = rt
        .runtime_config(RuntimeConfigRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        c.linux.unwrap().cgroup_driver,
        CgroupDriver::Cgroupfs as i32
    );

    let update = |cidr: &str| UpdateRuntimeConfigRequest {
        runtime_config: Some(RuntimeConfig {
            network_config: Some(NetworkConfig {
                pod_cidr: cidr.into(),
            }),
        }),
    };
    rt.update_runtime_config(update("10.244.1.0/24"))
        .await
        .unwrap();
    let e = rt
        .update_runtime_config(update("10.244.1.0"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let s = rt
        .status(StatusRequest { verbose: true })
        .await
        .unwrap()
        .into_inner();
    assert!(s.info["config"].contains("10.244.1.0/24"), "{:?}", s.info);
}

/// CRI-O's `cgroup_manager = "systemd"` on a host where systemd is not
/// PID 1 (or where it is: the driver is not built): berthd serves, says
/// why it is not ready, and refuses pods, leaving nothing behind.
#[tokio::test]
async fn systemd_cgroup_driver_is_reported_unsupported() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let b = Berthd::start_with("cgroup_manager = \"systemd\"");
    let mut rt = b.runtime().await;
    let s = rt
        .status(StatusRequest { verbose: false })
        .await
        .unwrap()
        .into_inner();
    let conds = s.status.unwrap().conditions;
    let runtime = conds.iter().find(|c| c.r#type == "RuntimeReady").unwrap();
    assert!(!runtime.status, "{conds:?}");
    assert_eq!(runtime.reason, "SystemdCgroupDriverUnsupported");
    let init = std::fs::read_to_string("/proc/1/comm").unwrap();
    if init.trim() != "systemd" {
        assert!(runtime.message.contains("PID 1"), "{runtime:?}");
    }
    assert!(runtime.message.contains("cgroupfs"), "{runtime:?}");
    let e = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(common::pod_config("sd", "uid-sd")),
            runtime_handler: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("systemd"), "{e:?}");
    let pods = rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(pods.is_empty(), "{pods:?}");
    assert!(b.mounts().is_empty(), "{:?}", b.mounts());
}

#[tokio::test]
async fn pull_list_status_remove() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let mut im = b.images().await;
    let spec = |name: &str| {
        Some(ImageSpec {
            image: name.into(),
            ..Default::default()
        })
    };
    let pulled = im
        .pull_image(PullImageRequest {
            image: spec(&reg.busybox()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(pulled.image_ref.starts_with("sha256:"), "{pulled:?}");

    let list = im
        .list_images(ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.images.len(), 1);
    let img = &list.images[0];
    assert_eq!(img.id, pulled.image_ref);
    assert_eq!(img.repo_tags, vec![reg.busybox()]);
    assert!(img.repo_digests[0].starts_with(&format!("{}/busybox@sha256:", reg.addr)));
    assert!(img.size > 0);

    let st = im
        .image_status(ImageStatusRequest {
            image: spec(&reg.busybox()),
            verbose: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(st.image.unwrap().id, pulled.image_ref);
    assert!(st.info["info"].contains("imageSpec"), "{:?}", st.info);

    // The CLI sees berthd's image: same store.
    let fs = im
        .image_fs_info(ImageFsInfoRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(fs.image_filesystems[0].used_bytes.as_ref().unwrap().value > 0);

    im.remove_image(RemoveImageRequest {
        image: spec(&pulled.image_ref),
    })
    .await
    .unwrap();
    // Gone, and removing again is no error (the CRI's idempotence).
    let st = im
        .image_status(ImageStatusRequest {
            image: spec(&reg.busybox()),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(st.image.is_none());
    im.remove_image(RemoveImageRequest {
        image: spec(&pulled.image_ref),
    })
    .await
    .unwrap();
    assert!(im
        .list_images(ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images
        .is_empty());
}

#[tokio::test]
async fn bad_image_requests() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let mut im = b.images().await;
    // An image the registry does not have.
    let e = im
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: format!("{}/nothing:here", reg.addr),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    // A malformed request: no image at all.
    let e = im
        .pull_image(PullImageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let e = im
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: "UPPER/Case::bad".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // Nothing was stored.
    assert!(im
        .list_images(ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images
        .is_empty());
}

#[test]
fn bad_config_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("berthd.toml");
    std::fs::write(&cfg, "storage_driver = \"zfs\"\n").unwrap();
    let out = std::process::Command::new(common::BERTHD)
        .arg("--config")
        .arg(&cfg)
        .arg("--listen")
        .arg(dir.path().join("s.sock"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("storage_driver") && err.contains("zfs"),
        "{err}"
    );
    assert!(!dir.path().join("s.sock").exists());
    // A named file that is missing is an error too.
    let out = std::process::Command::new(common::BERTHD)
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn socket_activation_serves_systemds_socket() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    berth_testkit::require!(
        std::path::Path::new("/usr/bin/systemd-socket-activate").exists(),
        "systemd-socket-activate is not installed"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("berthd.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"{0}/bound.sock\"\nroot = \"{0}/root\"\nrunroot = \"{0}/run\"\ncgroup_parent = \"/berth-test/berthd-activated\"\n",
            d.display()
        ),
    )
    .unwrap();
    let sock = d.join("activated.sock");
    // systemd-socket-activate binds, then execs berthd (same PID) with
    // LISTEN_FDS=1 on the first connection.
    let mut child = std::process::Command::new("/usr/bin/systemd-socket-activate")
        .arg("-l")
        .arg(&sock)
        .arg(common::BERTHD)
        .arg("--config")
        .arg(&cfg)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(common::wait_for(10, || sock.exists()));
    let path = sock.clone();
    let channel = tonic::transport::Endpoint::try_from("http://[::]:50051")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(path).await?,
                ))
            }
        }))
        .await
        .unwrap();
    let mut rt = runtime_service_client::RuntimeServiceClient::new(channel);
    let v = rt
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.runtime_name, "berthd");
    // It served systemd's socket and bound none of its own.
    assert!(!d.join("bound.sock").exists());
    let _ = child.kill();
    let _ = child.wait();
    berth_testkit::remove_test_cgroup("/berth-test/berthd-activated");
}
