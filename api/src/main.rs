//! The `mirage` binary.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::run::main().await
}
