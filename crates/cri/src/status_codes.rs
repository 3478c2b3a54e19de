//! The libraries' errors as gRPC codes, as kubelet reads them: NotFound
//! for an unknown pod, container or image, AlreadyExists for a name in
//! use, InvalidArgument for a malformed request, FailedPrecondition for a
//! state that refuses the call, Unavailable for a registry that cannot be
//! reached, Internal for the rest. The message is the error's whole chain.

use tonic::{Code, Status};

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let next = c.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = c.source();
    }
    s
}

fn storage_code(e: &berth_storage::Error) -> Code {
    use berth_storage::Error as S;
    match e {
        S::LayerNotFound(_) | S::ImageNotFound(_) | S::ContainerNotFound(_) => Code::NotFound,
        S::NameInUse { .. } | S::Exists { .. } => Code::AlreadyExists,
        S::InvalidName { .. } | S::InvalidDigest(_) => Code::InvalidArgument,
        S::InUse { .. } => Code::FailedPrecondition,
        _ => Code::Internal,
    }
}

fn image_code(e: &berth_image::Error) -> Code {
    use berth_image::Error as I;
    match e {
        I::InvalidReference { .. } | I::InvalidTransport { .. } | I::ShortName { .. } => {
            Code::InvalidArgument
        }
        I::NotFound(_)
        | I::NoLocalImage { .. }
        | I::ImageNotKnown(_)
        | I::RegistryNotFound { .. }
        | I::Status { status: 404, .. } => Code::NotFound,
        I::Auth { .. } => Code::Unauthenticated,
        I::Blocked(_) | I::PolicyRejected { .. } | I::SignatureUnverifiable { .. } => {
            Code::PermissionDenied
        }
        I::Http { .. } | I::Refused { .. } | I::PlainHttp { .. } => Code::Unavailable,
        I::Status {
            status: 401 | 403, ..
        } => Code::PermissionDenied,
        I::Status { .. } => Code::Unavailable,
        I::Storage(s) => storage_code(s),
        _ => Code::Internal,
    }
}

fn engine_code(e: &berth_engine::Error) -> Code {
    use berth_engine::Error as E;
    match e {
        E::NotFound(_) => Code::NotFound,
        E::Image(i) => image_code(i),
        E::Storage(s) => storage_code(s),
        E::InvalidOption { .. }
        | E::CommandNotFound(_)
        | E::NotExecutable { .. }
        | E::NoWorkdir(_)
        | E::NoCommand(_)
        | E::UnknownUser { .. }
        | E::LifeOption(_) => Code::InvalidArgument,
        E::State { .. } => Code::FailedPrecondition,
        E::NotImplemented(_) => Code::Unimplemented,
        E::Pod(p) => pod_code(p),
        _ => Code::Internal,
    }
}

fn pod_code(e: &berth_engine::PodError) -> Code {
    use berth_engine::PodError as P;
    match e {
        P::NotFound(_) => Code::NotFound,
        P::Exists { .. } => Code::AlreadyExists,
        P::Ambiguous(_) => Code::InvalidArgument,
        P::NotReady { .. } => Code::FailedPrecondition,
        _ => Code::Internal,
    }
}

/// An engine error as the gRPC status kubelet gets.
pub fn engine(e: berth_engine::Error) -> Status {
    Status::new(engine_code(&e), chain(&e))
}

/// An image-library error as a gRPC status.
pub fn image(e: berth_image::Error) -> Status {
    Status::new(image_code(&e), chain(&e))
}

/// A storage error as a gRPC status.
pub fn storage(e: berth_storage::Error) -> Status {
    Status::new(storage_code(&e), chain(&e))
}

/// A request that lacks a field it needs, or has one malformed.
pub fn invalid(what: impl Into<String>) -> Status {
    Status::invalid_argument(what)
}

/// A blocking task that panicked or was cancelled.
pub fn join(e: tokio::task::JoinError) -> Status {
    Status::internal(format!("berthd worker: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_error() {
        assert_eq!(
            engine(berth_engine::Error::NotFound("x".into())).code(),
            Code::NotFound
        );
        let s = engine(berth_engine::Error::Storage(
            berth_storage::Error::ImageNotFound("busybox".into()),
        ));
        assert_eq!(s.code(), Code::NotFound);
        assert!(s.message().contains("busybox"), "{}", s.message());
        assert_eq!(
            image(berth_image::Error::ImageNotKnown("nope".into())).code(),
            Code::NotFound
        );
    }
}
