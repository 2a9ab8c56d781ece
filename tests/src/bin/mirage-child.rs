//! The `mirage` program, built inside the test package so tests can run it as a child process
//! and kill it with SIGKILL (the scan resume test).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::run::main().await
}
