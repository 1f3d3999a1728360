//! One worker thread owns the model: requests reach it through a bounded queue, and those that
//! arrive together are answered by one forward pass. The worker takes the first request
//! waiting, then gathers more for at most `max_wait` or until it has `max_batch`. A full queue
//! is a 503, never an unbounded backlog; a panic inside the model is a 500 for that batch, and
//! the worker goes on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use kindling_core::{Error, Result};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::http::ApiError;
use crate::serve::engine::{Engine, Input};

/// How requests are batched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchOptions {
    /// Most inputs in one forward pass (1 turns batching off).
    pub max_batch: usize,
    /// Longest wait for more inputs after the first.
    pub max_wait: Duration,
    /// Most requests waiting; more are refused with a 503.
    pub queue: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self { max_batch: 16, max_wait: Duration::from_millis(5), queue: 256 }
    }
}

struct Job {
    input: Input,
    reply: oneshot::Sender<Result<Value, ApiError>>,
}

/// The handle the handlers submit inputs through.
#[derive(Clone)]
pub struct Queue {
    tx: SyncSender<Job>,
}

impl Queue {
    /// The model's answer to `input`.
    pub async fn submit(&self, input: Input) -> Result<Value, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.tx.try_send(Job { input, reply }).map_err(|e| match e {
            TrySendError::Full(_) => ApiError::busy("the server's queue is full; retry shortly"),
            TrySendError::Disconnected(_) => ApiError::internal("the model's worker has stopped"),
        })?;
        answer.await.map_err(|_| ApiError::internal("the model's worker dropped the request"))?
    }
}

/// Starts the worker: `load` runs on it (so the model never leaves its thread), and its
/// description comes back with the queue, or the load error.
pub fn start<E, F>(load: F, opts: BatchOptions) -> Result<(Queue, Value)>
where
    E: Engine,
    F: FnOnce() -> Result<E> + Send + 'static,
{
    let (tx, rx) = sync_channel::<Job>(opts.queue.max(1));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Value>>();
    std::thread::Builder::new()
        .name("kindling-web-model".into())
        .spawn(move || match load() {
            Ok(engine) => {
                let _ = ready_tx.send(Ok(engine.info()));
                work(&engine, &rx, opts);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(|e| Error::Data(format!("cannot start the model's thread: {e}")))?;
    let info = ready_rx.recv().map_err(|_| Error::Data("the model's thread stopped while loading".into()))??;
    Ok((Queue { tx }, info))
}

fn work<E: Engine>(engine: &E, rx: &Receiver<Job>, opts: BatchOptions) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let deadline = Instant::now() + opts.max_wait;
        while jobs.len() < opts.max_batch.max(1) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(j) => jobs.push(j),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let (inputs, replies): (Vec<Input>, Vec<_>) = jobs.into_iter().map(|j| (j.input, j.reply)).unzip();
        let n = inputs.len();
        let answers = match catch_unwind(AssertUnwindSafe(|| engine.run(inputs))) {
            Ok(a) if a.len() == n => a,
            Ok(a) => vec![Err(ApiError::internal(format!("the model answered {} of {n} inputs", a.len()))); n],
            Err(_) => vec![Err(ApiError::internal("the model failed on this batch")); n],
        };
        for (reply, answer) in replies.into_iter().zip(answers) {
            let _ = reply.send(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers each JSON input with the size of the batch it came in.
    struct Counter(Arc<AtomicUsize>);
    impl Engine for Counter {
        fn info(&self) -> Value {
            serde_json::json!({ "task": "test" })
        }
        fn run(&self, inputs: Vec<Input>) -> Vec<std::result::Result<Value, ApiError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if inputs.iter().any(|i| matches!(i, Input::Json(v) if v == "panic")) {
                panic!("asked to");
            }
            inputs.iter().map(|_| Ok(Value::from(inputs.len()))).collect()
        }
    }

    #[test]
    fn requests_that_arrive_together_share_a_batch_and_a_panic_is_a_500() {
        let passes = Arc::new(AtomicUsize::new(0));
        let p = passes.clone();
        let opts = BatchOptions { max_batch: 8, max_wait: Duration::from_millis(200), queue: 64 };
        let (queue, info) = start(move || Ok(Counter(p)), opts).unwrap();
        assert_eq!(info["task"], "test");
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let sizes: Vec<u64> = rt.block_on(async {
            let hs: Vec<_> = (0..8).map(|_| { let q = queue.clone(); tokio::spawn(async move { q.submit(Input::Json(Value::Null)).await }) }).collect();
            let mut out = Vec::new();
            for h in hs {
                out.push(h.await.unwrap().unwrap().as_u64().unwrap());
            }
            out
        });
        assert!(sizes.iter().all(|&s| s == 8), "one pass of eight: {sizes:?}");
        assert_eq!(passes.load(Ordering::SeqCst), 1);
        let err = rt.block_on(queue.submit(Input::Json(Value::from("panic")))).unwrap_err();
        assert_eq!(err.status.as_u16(), 500);
        // ... and the worker still answers.
        assert_eq!(rt.block_on(queue.submit(Input::Json(Value::Null))).unwrap(), Value::from(1));
    }

    #[test]
    fn a_load_error_comes_back() {
        let r = start(|| -> Result<Counter> { Err(Error::invalid("--model", "no such model")) }, BatchOptions::default());
        assert!(r.err().unwrap().to_string().contains("no such model"));
    }
}
