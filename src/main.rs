//! Bootstrap only: everything happens in `atomes::cli`.

fn main() -> std::process::ExitCode {
    // Initialise OpenSSL before libpq does, without its exit-time cleanup: otherwise a pool
    // thread still opening a PostgreSQL connection while the process exits can crash in
    // freed OpenSSL state (seen as exit code 139 after `atomes journal verify`).
    openssl_sys::init();
    match atomes::cli::run() {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("atomes: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
