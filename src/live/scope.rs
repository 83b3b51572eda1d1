//! The customer scope: everything asynchronous done for one customer is bound to it,
//! and it is dropped when the customer changes (another identity, forget-me, logout).
//! A task spawned with [`spawn_scoped`] is never resumed after its scope is dropped:
//! the code after each `.await` does not run at all, so it cannot write a late answer
//! into the next customer's state — by construction, not by a check after each await.
//! Dropping the scope also aborts its requests in flight (the event stream).

use std::{
    cell::Cell,
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};

/// One customer's scope. Dropping it ends every task bound to it.
#[derive(Debug)]
pub struct Scope {
    alive: Rc<Cell<bool>>,
    abort: Option<web_sys::AbortController>,
    /// The event stream runs (started once per scope).
    pub(crate) live_started: Cell<bool>,
    /// The resume point of the event stream: the last `seq` seen.
    pub(crate) last_seq: Rc<Cell<Option<i64>>>,
    /// An outbox flush runs for this customer (one at a time; the next customer's
    /// scope starts without one, so a stale flush never holds theirs up).
    pub(crate) flushing: Cell<bool>,
}

impl Default for Scope {
    fn default() -> Self {
        Self::new()
    }
}

impl Scope {
    /// A new, live scope.
    pub fn new() -> Self {
        Self {
            alive: Rc::new(Cell::new(true)),
            abort: web_sys::AbortController::new().ok(),
            live_started: Cell::new(false),
            last_seq: Rc::new(Cell::new(None)),
            flushing: Cell::new(false),
        }
    }

    /// A handle that says whether this scope is still alive.
    pub fn handle(&self) -> ScopeHandle {
        ScopeHandle(self.alive.clone())
    }

    /// The abort signal of this scope's requests.
    pub fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.abort.as_ref().map(web_sys::AbortController::signal)
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.alive.set(false);
        if let Some(abort) = &self.abort {
            abort.abort();
        }
    }
}

/// Whether a scope is still alive (cheap to clone into tasks).
#[derive(Debug, Clone)]
pub struct ScopeHandle(Rc<Cell<bool>>);

impl ScopeHandle {
    /// False once the scope was dropped.
    pub fn alive(&self) -> bool {
        self.0.get()
    }
}

/// A future that is dropped unpolled as soon as its scope is.
struct Scoped {
    scope: ScopeHandle,
    inner: Pin<Box<dyn Future<Output = ()>>>,
}

impl Future for Scoped {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !self.scope.alive() {
            return Poll::Ready(());
        }
        self.inner.as_mut().poll(cx)
    }
}

/// Runs `task` until it ends or `scope` is dropped, whichever is first: after the
/// scope is dropped the task is never resumed (not even once to see that it should
/// stop). Not generic, so the spawning code exists once.
pub fn spawn_scoped(scope: ScopeHandle, task: Pin<Box<dyn Future<Output = ()>>>) {
    leptos::task::spawn_local(Scoped { scope, inner: task });
}

/// `task` bound to `scope`, as a future (for tests and callers that await it).
pub fn scoped(
    scope: ScopeHandle,
    task: Pin<Box<dyn Future<Output = ()>>>,
) -> impl Future<Output = ()> {
    Scoped { scope, inner: task }
}

#[cfg(test)]
mod tests {
    use super::*;
    /// A future pending once, then ready.
    struct Once(bool);
    impl Future for Once {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                self.0 = true;
                Poll::Pending
            }
        }
    }

    #[test]
    fn a_task_is_not_resumed_after_its_scope_is_dropped() {
        let handle = ScopeHandle(Rc::new(Cell::new(true)));
        let wrote = Rc::new(Cell::new(0));
        let w = wrote.clone();
        let mut task = Box::pin(scoped(
            handle.clone(),
            Box::pin(async move {
                w.set(1);
                Once(false).await;
                w.set(2); // the late write
            }),
        ));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(task.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(wrote.get(), 1);
        handle.0.set(false); // the customer changed
        assert_eq!(task.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(wrote.get(), 1, "the code after the await never ran");
    }
}
