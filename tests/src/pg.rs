//! Fresh PostgreSQL databases for tests, and a TCP proxy that can cut the connection to the
//! server.
//!
//! The server comes from `MIRAGE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`, a superuser with trust auth). It must be
//! running: tests fail, they are never skipped, when it is not.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use store::postgres::{PostgresStore, PostgresStoreConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::TestStore;

/// The application role every test database grants to.
pub const APP_ROLE: &str = "mirage_app";

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance URL of the test server.
pub fn server_url() -> String {
    std::env::var("MIRAGE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A database created for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// The owner (superuser) connected to the new database.
    pub admin_url: String,
    /// The application role connected to the new database.
    pub app_url: String,
    pub name: String,
    dropped: bool,
}

/// The parts of a `postgres://user[:password]@host[:port]/database[?query]` URL.
struct UrlParts<'a> {
    scheme: &'a str,
    userinfo: Option<&'a str>,
    host: &'a str,
    query: Option<&'a str>,
}

fn split_url(url: &str) -> UrlParts<'_> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    UrlParts {
        scheme,
        userinfo,
        host,
        query,
    }
}

/// `url` with another user (no password), host and database.
pub fn with_parts(url: &str, user: Option<&str>, host: Option<&str>, database: &str) -> String {
    let parts = split_url(url);
    let userinfo = match user {
        Some(user) => format!("{user}@"),
        None => parts.userinfo.map(|u| format!("{u}@")).unwrap_or_default(),
    };
    let host = host.unwrap_or(parts.host);
    let query = parts.query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}://{userinfo}{host}/{database}{query}", parts.scheme)
}

async fn connect_server(url: &str) -> PgConnection {
    match tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => panic!(
            "cannot connect to the test PostgreSQL server ({error}); start PostgreSQL on \
             127.0.0.1:5432 with trust auth, or set MIRAGE_TEST_DATABASE_URL"
        ),
        Err(_) => panic!("the test PostgreSQL server did not answer within 10 s"),
    }
}

/// Creates a uniquely named database and makes sure the application role exists.
pub async fn fresh_database() -> TestDatabase {
    let server = server_url();
    let mut admin = connect_server(&server).await;
    let name = format!("mirage_t_{}", uuid::Uuid::now_v7().simple());
    sqlx::raw_sql(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create test database");
    // Tests run in parallel: another one may create the role between the check and the insert,
    // which surfaces as either error below.
    sqlx::raw_sql(&format!(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                 CREATE ROLE {APP_ROLE} LOGIN;
             END IF;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
         END $$"
    ))
    .execute(&mut admin)
    .await
    .expect("create the application role");
    let _ = admin.close().await;
    TestDatabase {
        admin_url: with_parts(&server, None, None, &name),
        app_url: with_parts(&server, Some(APP_ROLE), None, &name),
        name,
        dropped: false,
    }
}

async fn drop_named(name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(&server_url()).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    let _ = admin.close().await;
    Ok(())
}

impl TestDatabase {
    /// Drops the database, disconnecting whoever is still connected (best effort).
    pub async fn drop_database(mut self) {
        self.dropped = true;
        if let Err(error) = drop_named(&self.name).await {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

impl Drop for TestDatabase {
    /// A database nobody dropped explicitly (it sat in a `TestStore` guard, or the test failed)
    /// is dropped from a helper thread, since `Drop` cannot await.
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let name = self.name.clone();
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if let Err(error) = runtime.block_on(drop_named(&name)) {
                eprintln!("could not drop test database {name}: {error}");
            }
        });
        let _ = dropper.join();
    }
}

/// A store config for `db`: migrations as the owner, the store itself as the application role.
pub fn store_config(db: &TestDatabase) -> PostgresStoreConfig {
    PostgresStoreConfig {
        admin_url: Some(db.admin_url.clone()),
        app_role: Some(APP_ROLE.to_owned()),
        max_connections: 5,
        connect_timeout: Duration::from_secs(3),
        ..PostgresStoreConfig::new(db.app_url.clone())
    }
}

/// A PostgreSQL store on a fresh database, dropped with the guard.
pub async fn postgres_store() -> TestStore {
    let db = fresh_database().await;
    let store = PostgresStore::connect(store_config(&db))
        .await
        .expect("connect the postgres store");
    TestStore {
        store: Arc::new(store),
        guard: Box::new(db),
    }
}

/// A TCP proxy on 127.0.0.1 that forwards to `upstream` until told to cut: then every open
/// connection is closed and new ones are closed as soon as they are accepted, until `restore`.
pub struct TcpProxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let cut = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0u64);
        let accept = tokio::spawn({
            let cut = Arc::clone(&cut);
            let cuts = cuts.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    tokio::spawn(forward(client, upstream, cuts.subscribe()));
                }
            }
        });
        TcpProxy {
            addr,
            cut,
            cuts,
            accept,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn forward(mut client: TcpStream, upstream: SocketAddr, mut cuts: watch::Receiver<u64>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        // A cut, or the proxy is gone: both sockets close when this returns.
        _ = cuts.changed() => {}
    }
}

/// The socket address of the test server, for proxies.
pub async fn server_addr() -> SocketAddr {
    let options: sqlx::postgres::PgConnectOptions = server_url()
        .parse()
        .expect("MIRAGE_TEST_DATABASE_URL is a postgres url");
    tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .expect("resolve the test server")
        .next()
        .expect("the test server has an address")
}
