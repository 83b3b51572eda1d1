//! Agent inbox entry point: install the panic hook, then boot. Nothing else lives here.

fn main() {
    std::panic::set_hook(Box::new(everdesk_agent_inbox::report_panic));
    everdesk_agent_inbox::boot();
}
