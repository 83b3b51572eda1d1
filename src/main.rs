//! Widget entry point: install the panic hook, then boot. Nothing else lives here.

fn main() {
    console_error_panic_hook::set_once();
    everdesk::boot();
}
