//! The Kubernetes channel protocol over WebSocket (apimachinery's
//! wsstream, remotecommand's v4/v5): every binary message starts with its
//! channel's byte. For exec and attach: 0 stdin, 1 stdout, 2 stderr, 3 the
//! error channel (a `Status` JSON at the end), 4 resize (`{"Width":..,
//! "Height":..}`); v5 adds 255, by which a client closes one channel
//! (`[255, 0]`: no more stdin). Port-forward uses two channels per port
//! (2i data, 2i+1 error), each opened by the port as two little-endian
//! bytes.

/// A session's input from the client as (channel, bytes), whatever
/// carries it: one WebSocket message each, or the bytes of the SPDY
/// stream of that type (a SPDY stdin's FIN arrives as `(CLOSE, [STDIN])`,
/// each resize as one JSON object). It ends when the client goes away.
pub type In = tokio::sync::mpsc::UnboundedReceiver<(u8, Vec<u8>)>;
/// A session's output to the client as (channel, bytes); dropping it ends
/// the session's connection.
pub type Out = tokio::sync::mpsc::UnboundedSender<(u8, Vec<u8>)>;

/// The exec/attach protocols we speak, best first.
pub const EXEC_PROTOCOLS: [&str; 2] = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
/// The port-forward protocol (an absent one means the same, binary).
pub const PORT_FORWARD_PROTOCOL: &str = "v4.channel.k8s.io";
/// Port-forward as SPDY/3.1 (`portforward.k8s.io`) carried in the binary
/// messages of a WebSocket (KEP-4006's tunnel).
pub const SPDY_TUNNEL_PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

/// stdin, from the client.
pub const STDIN: u8 = 0;
/// stdout, to the client.
pub const STDOUT: u8 = 1;
/// stderr, to the client.
pub const STDERR: u8 = 2;
/// The error channel: the exit status.
pub const ERROR: u8 = 3;
/// Terminal size changes, from the client.
pub const RESIZE: u8 = 4;
/// v5: the client closes the channel named in the next byte.
pub const CLOSE: u8 = 255;

/// One message on `channel`.
pub fn frame(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(data.len() + 1);
    m.push(channel);
    m.extend_from_slice(data);
    m
}

/// A terminal size from the resize channel; None when malformed.
pub fn parse_resize(data: &[u8]) -> Option<(u16, u16)> {
    #[derive(serde::Deserialize)]
    struct TerminalSize {
        #[serde(rename = "Width")]
        width: u16,
        #[serde(rename = "Height")]
        height: u16,
    }
    let s: TerminalSize = serde_json::from_slice(data).ok()?;
    Some((s.width, s.height))
}

/// The `Status` the error channel carries at the end of an exec: Success
/// for 0, else the NonZeroExitCode failure whose ExitCode cause client-go
/// turns back into the exit code.
pub fn exit_status(code: i32) -> Vec<u8> {
    let status = if code == 0 {
        serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
    } else {
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure",
            "message": format!("command terminated with non-zero exit code: exit status {code}"),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
        })
    };
    status.to_string().into_bytes()
}

/// A failure `Status` with `message` (the exec could not start).
pub fn failure_status(message: &str) -> Vec<u8> {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message,
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_and_status() {
        assert_eq!(
            parse_resize(br#"{"Width":100,"Height":40}"#),
            Some((100, 40))
        );
        assert_eq!(parse_resize(b"{"), None);
        let s: serde_json::Value = serde_json::from_slice(&exit_status(3)).unwrap();
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0]["message"], "3");
        let ok: serde_json::Value = serde_json::from_slice(&exit_status(0)).unwrap();
        assert_eq!(ok["status"], "Success");
    }
}
