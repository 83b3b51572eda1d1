//! [`keyed`]: a view that is rebuilt only when its key changes, and then replaced
//! rather than diffed.
//!
//! Leptos updates a changed list item by diffing its old and new view, and that
//! diffing code is generated for every element type inside the item — for a message
//! with formatted text, a good part of the wasm. Items that change rarely and as a
//! whole (a message, a hand-off card, a list of recalled tickets) only need
//! "unchanged: keep the DOM, changed: build it anew", which reuses the build code
//! that exists anyway. The DOM also stays untouched while the data is the same, so a
//! selection in an older message survives a new reply.

use leptos::{
    prelude::*,
    tachys::{
        html::attribute::{any_attribute::AnyAttribute, Attribute},
        hydration::Cursor,
        renderer::types::{Element, Node},
        view::{add_attr::AddAnyAttr, Position, PositionState},
    },
};

/// `view`, rebuilt only when `key` differs from the key it was built with.
pub fn keyed<K, V>(key: K, view: V) -> Keyed<K, V>
where
    K: PartialEq + Send + 'static,
    V: IntoView,
{
    Keyed { key, view }
}

/// See [`keyed`].
pub struct Keyed<K, V> {
    key: K,
    view: V,
}

/// The mounted state of a [`Keyed`] view.
pub struct KeyedState<K, S> {
    key: K,
    state: S,
}

impl<K: PartialEq + Send + 'static, V: Render> Render for Keyed<K, V> {
    type State = KeyedState<K, V::State>;

    fn build(self) -> Self::State {
        KeyedState {
            key: self.key,
            state: self.view.build(),
        }
    }

    fn rebuild(self, state: &mut Self::State) {
        if self.key == state.key {
            return;
        }
        let mut new = self.view.build();
        state.state.insert_before_this(&mut new);
        state.state.unmount();
        *state = KeyedState {
            key: self.key,
            state: new,
        };
    }
}

impl<K, S: Mountable> Mountable for KeyedState<K, S> {
    fn unmount(&mut self) {
        self.state.unmount();
    }

    fn mount(&mut self, parent: &Element, marker: Option<&Node>) {
        self.state.mount(parent, marker);
    }

    fn insert_before_this(&self, child: &mut dyn Mountable) -> bool {
        self.state.insert_before_this(child)
    }

    fn elements(&self) -> Vec<Element> {
        self.state.elements()
    }
}

impl<K: PartialEq + Send + 'static, V: AddAnyAttr> AddAnyAttr for Keyed<K, V> {
    type Output<SomeNewAttr: Attribute> = Keyed<K, V::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        Keyed {
            key: self.key,
            view: self.view.add_any_attr(attr),
        }
    }
}

/// Server rendering and hydration pass straight through (the widget renders in the
/// browser only).
impl<K: PartialEq + Send + 'static, V: RenderHtml> RenderHtml for Keyed<K, V> {
    type AsyncOutput = Keyed<K, V::AsyncOutput>;
    type Owned = Keyed<K, V::Owned>;

    const MIN_LENGTH: usize = V::MIN_LENGTH;

    fn dry_resolve(&mut self) {
        self.view.dry_resolve();
    }

    async fn resolve(self) -> Self::AsyncOutput {
        Keyed {
            key: self.key,
            view: self.view.resolve().await,
        }
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.view
            .to_html_with_buf(buf, position, escape, mark_branches, extra_attrs);
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        KeyedState {
            key: self.key,
            state: self.view.hydrate::<FROM_SERVER>(cursor, position),
        }
    }

    fn into_owned(self) -> Self::Owned {
        Keyed {
            key: self.key,
            view: self.view.into_owned(),
        }
    }
}
