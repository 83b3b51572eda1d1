//! Widget entry point: install the panic hook, then boot. Nothing else lives here.

fn main() {
    std::panic::set_hook(Box::new(everdesk::report_panic));
    everdesk::boot();
}
