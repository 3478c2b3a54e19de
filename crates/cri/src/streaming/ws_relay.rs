//! The WebSocket side of an exec or attach session: each binary message
//! from the client becomes one (channel, bytes) input, each output one
//! message with its channel byte first; when the session drops its
//! output the connection closes.

use super::channels::{frame, In, Out};
use super::server::Ws;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::unbounded_channel;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// The close frame that ends a session that went as it should.
pub fn normal_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }
}

/// Run `session` over `ws` until it ends.
pub async fn relay<F, Fut>(ws: Ws, session: F)
where
    F: FnOnce(In, Out) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (mut sink, mut source) = ws.split();
    let (in_tx, in_rx) = unbounded_channel();
    let (out_tx, mut out_rx) = unbounded_channel::<(u8, Vec<u8>)>();
    let reader = async move {
        while let Some(Ok(msg)) = source.next().await {
            let data = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => break,
                _ => continue,
            };
            if let Some((&channel, rest)) = data.split_first() {
                if in_tx.send((channel, rest.to_vec())).is_err() {
                    break;
                }
            }
        }
        // The client is gone: dropping `in_tx` tells the session; this
        // side waits for it to end.
        drop(in_tx);
        std::future::pending::<()>().await
    };
    let writer = async move {
        while let Some((channel, data)) = out_rx.recv().await {
            if sink
                .send(Message::binary(frame(channel, &data)))
                .await
                .is_err()
            {
                break;
            }
        }
        // A normal closure (1000): client-go's v5 reader takes a close
        // without a code (1005) for an error ("error reading from error
        // stream").
        let _ = sink.send(Message::Close(Some(normal_close()))).await;
        let _ = sink.close().await;
    };
    tokio::select! {
        _ = futures_util::future::join(writer, session(in_rx, out_tx)) => {}
        _ = reader => {}
    }
}
