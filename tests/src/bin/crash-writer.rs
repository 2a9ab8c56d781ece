//! The child process of the crash test: 32 tasks append to the store named on the command line
//! and print one `ACK` line per acknowledged append, until the parent kills the process with
//! SIGKILL. Usage: `crash-writer sqlite DIR` or `crash-writer postgres APP_URL ADMIN_URL`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use domain::StreamId;
use store::{ExpectedVersion, SharedStore};

const WRITERS: usize = 32;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let store = tests::crash::open_store(&args).await;
        write_line(&Arc::new(Mutex::new(())), "READY");
        let out = Arc::new(Mutex::new(()));
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let store: SharedStore = store.clone();
            let out = out.clone();
            tasks.push(tokio::spawn(async move {
                let stream = StreamId::new(format!("crash-{writer}")).expect("stream id");
                for round in 0u64.. {
                    // Every fourth append carries three events: a batch is all or nothing.
                    let batch = tests::events(if round % 4 == 0 { 3 } else { 1 });
                    let ids: Vec<String> =
                        batch.iter().map(|e| e.meta.event_id.to_string()).collect();
                    match store.append(&stream, ExpectedVersion::Any, batch).await {
                        Ok(result) => write_line(
                            &out,
                            &format!(
                                "ACK {stream} {} {}",
                                result.next_expected_version,
                                ids.join(",")
                            ),
                        ),
                        Err(error) => eprintln!("append failed: {error}"),
                    }
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
    });
}

/// One whole line per write, flushed before the next append can be acknowledged to the parent.
fn write_line(lock: &Mutex<()>, line: &str) {
    let _guard = lock.lock().expect("stdout lock");
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
