//! EverDesk widget frame (placeholder module tree, filled in below).
