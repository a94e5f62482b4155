//! Entry point of the WASM app: mount only.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(accounts_web::App);
}
