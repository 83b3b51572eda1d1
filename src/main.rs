//! Boots the widget.
fn main() {}
