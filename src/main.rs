//! Bootstrap only: everything happens in `atomes::cli`.

fn main() -> std::process::ExitCode {
    match atomes::cli::run() {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("atomes: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
