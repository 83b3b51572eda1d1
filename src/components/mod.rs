//! View components, one per file. They read state through props and report through
//! callbacks; no component builds a URL or touches storage.

pub mod app;
