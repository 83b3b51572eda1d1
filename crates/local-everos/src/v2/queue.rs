//! The v2 memorize queue: `async_mode` adds, and any add or flush of a session that still
//! has queued work, answer 202 and run later, one at a time per session in arrival order
//! (each waits `async_delay` once its turn comes). Tasks are polled by request id at
//! `GET /api/v2/tasks/{request_id}`. Not persisted, like the real server's queue is not
//! across a wipe.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::clock::{iso_v2, now_ms};

/// Unfinished batches a session may have before adds and flushes answer 429 (the real
/// server's `max_pending_per_session`).
pub const MAX_PENDING_PER_SESSION: usize = 50;

/// Finished tasks are forgotten once this many are known.
const MAX_TASKS: usize = 10_000;

/// What a queued request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskType {
    /// An add.
    Add,
    /// A flush.
    Flush,
}

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its turn.
    Queued,
    /// Running.
    Processing,
    /// Done.
    Success,
    /// Failed (the error is recorded).
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Processing => "processing",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
struct Task {
    status: Status,
    task_type: TaskType,
    error: Option<String>,
    created_ms: i64,
    finished_ms: Option<i64>,
}

/// One session's line: tickets are served in order.
#[derive(Debug)]
struct Line {
    next_ticket: u64,
    serving: Arc<watch::Sender<u64>>,
    pending: usize,
}

#[derive(Debug, Default)]
struct Inner {
    tasks: HashMap<String, Task>,
    lines: HashMap<String, Line>,
}

/// The queue of this process.
#[derive(Debug, Default)]
pub struct Queue {
    inner: Arc<Mutex<Inner>>,
}

/// The session already has [`MAX_PENDING_PER_SESSION`] unfinished batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saturated;

/// Advances its session's line and records the outcome when dropped, so a panicking or
/// cancelled job never blocks the batches behind it.
struct Turn {
    inner: Arc<Mutex<Inner>>,
    session: String,
    task_id: String,
    serving: Arc<watch::Sender<u64>>,
    outcome: Option<Result<(), String>>,
}

impl Turn {
    /// Records the job's outcome; dropping the turn then publishes it.
    fn finish(mut self, outcome: Result<(), String>) {
        self.outcome = Some(outcome);
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let outcome = self
            .outcome
            .take()
            .unwrap_or_else(|| Err("the task was cancelled".to_owned()));
        with(&self.inner, |i| {
            if let Some(t) = i.tasks.get_mut(&self.task_id) {
                t.finished_ms = Some(now_ms());
                match outcome {
                    Ok(()) => t.status = Status::Success,
                    Err(e) => {
                        t.status = Status::Failed;
                        t.error = Some(e);
                    }
                }
            }
            if let Some(line) = i.lines.get_mut(&self.session) {
                if Arc::ptr_eq(&line.serving, &self.serving) {
                    line.pending = line.pending.saturating_sub(1);
                }
            }
        });
        self.serving.send_modify(|s| *s += 1);
    }
}

fn with<R>(inner: &Mutex<Inner>, f: impl FnOnce(&mut Inner) -> R) -> R {
    let mut guard = match inner.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    f(&mut guard)
}

impl Queue {
    /// Unfinished batches of a session (0 when it has none queued).
    pub fn pending(&self, session_id: &str) -> usize {
        with(&self.inner, |i| {
            i.lines.get(session_id).map_or(0, |l| l.pending)
        })
    }

    /// Queues `job` for a session under `task_id` and returns the session's unfinished
    /// batches including this one. The job runs after every earlier batch of the session
    /// and `delay` more; its `Err` marks the task failed.
    pub fn enqueue<F>(
        &self,
        session_id: &str,
        task_id: &str,
        task_type: TaskType,
        delay: std::time::Duration,
        job: F,
    ) -> Result<usize, Saturated>
    where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        let (ticket, serving, pending) = with(&self.inner, |i| {
            let line = i
                .lines
                .entry(session_id.to_owned())
                .or_insert_with(|| Line {
                    next_ticket: 0,
                    serving: Arc::new(watch::channel(0).0),
                    pending: 0,
                });
            if line.pending >= MAX_PENDING_PER_SESSION {
                return Err(Saturated);
            }
            let ticket = line.next_ticket;
            line.next_ticket += 1;
            line.pending += 1;
            let out = (ticket, Arc::clone(&line.serving), line.pending);
            if i.tasks.len() >= MAX_TASKS {
                i.tasks.retain(|_, t| t.finished_ms.is_none());
            }
            i.tasks.insert(
                task_id.to_owned(),
                Task {
                    status: Status::Queued,
                    task_type,
                    error: None,
                    created_ms: now_ms(),
                    finished_ms: None,
                },
            );
            Ok(out)
        })?;
        let turn = Turn {
            inner: Arc::clone(&self.inner),
            session: session_id.to_owned(),
            task_id: task_id.to_owned(),
            serving: Arc::clone(&serving),
            outcome: None,
        };
        let mut rx = serving.subscribe();
        tokio::spawn(async move {
            if rx.wait_for(|s| *s >= ticket).await.is_err() {
                return;
            }
            with(&turn.inner, |i| {
                if let Some(t) = i.tasks.get_mut(&turn.task_id) {
                    t.status = Status::Processing;
                }
            });
            tokio::time::sleep(delay).await;
            turn.finish(job.await);
        });
        Ok(pending)
    }

    /// The `TaskItem` JSON of a known task.
    pub fn task_json(&self, task_id: &str) -> Option<Value> {
        with(&self.inner, |i| {
            let t = i.tasks.get(task_id)?;
            Some(json!({
                "id": task_id,
                "status": t.status.as_str(),
                "task_type": match t.task_type { TaskType::Add => "memory_add", TaskType::Flush => "memory_flush" },
                "error": t.error,
                "error_code": t.error.as_ref().map(|_| "INTERNAL_ERROR"),
                "created_at": iso_v2(t.created_ms),
                "finished_at": t.finished_ms.map(iso_v2),
            }))
        })
    }

    /// Unfinished batches of all sessions.
    pub fn total_pending(&self) -> usize {
        with(&self.inner, |i| i.lines.values().map(|l| l.pending).sum())
    }

    /// Failed tasks still remembered.
    pub fn failed(&self) -> usize {
        with(&self.inner, |i| {
            i.tasks
                .values()
                .filter(|t| t.status == Status::Failed)
                .count()
        })
    }

    /// Forgets every task and line (test reset); jobs already running finish on their old
    /// line and record nothing.
    pub fn clear(&self) {
        with(&self.inner, |i| *i = Inner::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_session_runs_in_arrival_order_and_failures_do_not_block() {
        let q = Queue::default();
        let order = Arc::new(Mutex::new(Vec::new()));
        for n in 0..6 {
            let order = Arc::clone(&order);
            let pending = q
                .enqueue(
                    "s",
                    &format!("t{n}"),
                    TaskType::Add,
                    Duration::ZERO,
                    async move {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        order.lock().unwrap().push(n);
                        if n == 2 {
                            Err("boom".to_owned())
                        } else {
                            Ok(())
                        }
                    },
                )
                .unwrap();
            assert!(pending >= 1);
        }
        for _ in 0..200 {
            if q.pending("s") == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(q.pending("s"), 0);
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(q.task_json("t2").unwrap()["status"], "failed");
        assert_eq!(q.task_json("t5").unwrap()["status"], "success");
        assert_eq!(q.failed(), 1);
    }

    #[tokio::test]
    async fn a_full_session_is_saturated() {
        let q = Queue::default();
        for n in 0..MAX_PENDING_PER_SESSION {
            q.enqueue(
                "s",
                &n.to_string(),
                TaskType::Flush,
                Duration::from_secs(60),
                async { Ok(()) },
            )
            .unwrap();
        }
        assert_eq!(
            q.enqueue("s", "x", TaskType::Add, Duration::ZERO, async { Ok(()) }),
            Err(Saturated)
        );
        assert!(q
            .enqueue("other", "y", TaskType::Add, Duration::ZERO, async {
                Ok(())
            })
            .is_ok());
    }
}
