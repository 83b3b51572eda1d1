//! Async-add task registry: task status and which sessions still have adds in flight.

use std::collections::HashMap;
use std::sync::Mutex;

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Accepted, not yet buffered.
    Processing,
    /// Messages are buffered.
    Success,
    /// Storing failed.
    Failed,
}

impl TaskStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

/// Finished tasks are forgotten once this many are known.
const MAX_TASKS: usize = 10_000;

#[derive(Debug, Default)]
struct Inner {
    status: HashMap<String, TaskStatus>,
    pending: HashMap<(String, String), usize>,
}

/// All tasks of this process (not persisted).
#[derive(Debug, Default)]
pub struct Tasks {
    inner: Mutex<Inner>,
}

impl Tasks {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Registers a processing task for a session.
    pub fn start(&self, task_id: &str, user_id: &str, session_id: &str) {
        self.with(|i| {
            if i.status.len() >= MAX_TASKS {
                // Long-running embedded servers: forget finished tasks rather than grow forever.
                i.status.retain(|_, s| *s == TaskStatus::Processing);
            }
            i.status.insert(task_id.to_owned(), TaskStatus::Processing);
            *i.pending
                .entry((user_id.to_owned(), session_id.to_owned()))
                .or_default() += 1;
        });
    }

    /// Marks a task finished.
    pub fn finish(&self, task_id: &str, user_id: &str, session_id: &str, status: TaskStatus) {
        self.with(|i| {
            i.status.insert(task_id.to_owned(), status);
            let key = (user_id.to_owned(), session_id.to_owned());
            if let Some(n) = i.pending.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    i.pending.remove(&key);
                }
            }
        });
    }

    /// Status of a known task.
    pub fn status(&self, task_id: &str) -> Option<TaskStatus> {
        self.with(|i| i.status.get(task_id).copied())
    }

    /// Whether an async add for this session is still processing.
    pub fn pending(&self, user_id: &str, session_id: &str) -> bool {
        self.with(|i| {
            i.pending
                .contains_key(&(user_id.to_owned(), session_id.to_owned()))
        })
    }

    /// Forgets everything (test reset).
    pub fn clear(&self) {
        self.with(|i| *i = Inner::default());
    }
}
