//! Placeholder for the browser app (its own issue); it only proves the shared crate builds here.

fn main() {
    let policy = accounts_api::PasswordPolicy::default();
    println!("accounts-web: password minimum {}", policy.min_length);
}
