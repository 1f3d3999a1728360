//! Binding, serving and stopping: a router on a host and port, until SIGINT or SIGTERM, after
//! which requests under way finish and the server returns.

use std::net::SocketAddr;

use axum::Router;
use kindling_core::{Error, Result};
use tokio::net::TcpListener;

/// Binds `host:port` (port 0 picks a free one), or an error naming the flag at fault.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener> {
    let addr: SocketAddr = format!("{host}:{port}").parse().or_else(|_| format!("[{host}]:{port}").parse()).map_err(|_| Error::invalid("--host", format!("'{host}' is not an IP address")))?;
    TcpListener::bind(addr).await.map_err(|e| Error::invalid("--port", format!("cannot listen on {addr}: {e}")))
}

/// Serves `app` on `listener` until SIGINT or SIGTERM; prints the address first, as
/// `listening on http://ADDR/` (tests and scripts read the port from it).
pub async fn serve(listener: TcpListener, app: Router) -> Result<()> {
    let addr = listener.local_addr().map_err(|e| Error::Data(format!("the listening socket has no address: {e}")))?;
    println!("listening on http://{addr}/");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| Error::Data(format!("the server stopped: {e}")))?;
    println!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A multi-threaded runtime for a server command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| Error::Data(format!("cannot start the async runtime: {e}")))
}
