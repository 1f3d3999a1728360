//! A server on a thread of its own, for tests, benchmarks and programs that embed one: it
//! listens on `127.0.0.1` on a free port and stops when its handle is dropped.

use std::net::SocketAddr;

use axum::Router;
use kindling_core::{Error, Result};
use tokio::sync::oneshot;

/// A running server; dropping it stops the server and waits for its thread.
pub struct Background {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Serves `app` on `127.0.0.1` on a free port.
    pub fn start(app: Router) -> Result<Self> {
        let rt = crate::http::run::runtime()?;
        let listener = rt.block_on(crate::http::run::bind("127.0.0.1", 0))?;
        let addr = listener.local_addr().map_err(|e| Error::Data(format!("the listening socket has no address: {e}")))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kindling-web-server".into())
            .spawn(move || {
                rt.block_on(async move {
                    let _ = axum::serve(listener, app).with_graceful_shutdown(async { let _ = stopped.await; }).await;
                });
            })
            .map_err(|e| Error::Data(format!("cannot start the server's thread: {e}")))?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://ADDR` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
