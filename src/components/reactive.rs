//! Small reactive building blocks that keep the wasm small.
//!
//! Every `move || …` closure in a view is its own type, and Leptos's renderer is
//! generic over it: each one costs its own copy of the render-effect code. Boxing
//! such closures as [`Dyn<T>`] makes all of them one type per output `T`, so that code
//! exists once per `T`. [`when`] and [`either`] are `<Show>` without its type-erased
//! fallback (`ViewFn` → `AnyView`), which costs wasm for every use.

use std::sync::Arc;

use leptos::{either::Either, prelude::*};

use super::keyed::keyed;

/// A reactive value of type `T`, type-erased (see the module docs).
pub type Dyn<T> = Arc<dyn Fn() -> T + Send + Sync>;

/// Boxes a reactive closure as a [`Dyn<T>`].
pub fn dynamic<T>(f: impl Fn() -> T + Send + Sync + 'static) -> Dyn<T> {
    Arc::new(f)
}

/// The condition as a memo, so a view switched by it is built when it turns true and
/// kept (not rebuilt) while it stays true: state inside survives unrelated updates.
/// Not generic, so there is one copy however many conditions there are.
fn memo(cond: Dyn<bool>) -> Memo<bool> {
    Memo::new(move |_| cond())
}

/// Renders `view()` while `cond()` is true, nothing otherwise.
pub fn when<V: IntoView + 'static>(
    cond: impl Fn() -> bool + Send + Sync + 'static,
    view: impl Fn() -> V + Send + Sync + 'static,
) -> impl IntoView {
    let on = memo(dynamic(cond));
    move || {
        let on = on.get();
        keyed(on, on.then(&view))
    }
}

/// Renders `yes()` while `cond()` is true, `no()` otherwise.
pub fn either<A: IntoView + 'static, B: IntoView + 'static>(
    cond: impl Fn() -> bool + Send + Sync + 'static,
    yes: impl Fn() -> A + Send + Sync + 'static,
    no: impl Fn() -> B + Send + Sync + 'static,
) -> impl IntoView {
    let on = memo(dynamic(cond));
    move || {
        let on = on.get();
        keyed(
            on,
            if on {
                Either::Left(yes())
            } else {
                Either::Right(no())
            },
        )
    }
}
