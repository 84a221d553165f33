//! Starting the real service on a fresh database, and talking to it.

use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

use assessment_domain::TaskExecutionEvent;
use assessment_service::store::{self, Db};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BINARY: &str = env!("CARGO_BIN_EXE_assessment-service");

/// The seed document's example request.
pub fn seed_request() -> Value {
    json!({
        "job_role": "Senior Python Developer",
        "job_description": "We are looking for a Senior Python Developer with 5+ years of experience in Django, Flask, and FastAPI. The candidate should have strong knowledge of databases, REST APIs, and cloud technologies. Experience with Docker, Kubernetes, and CI/CD pipelines is preferred.",
        "cutoff": 60,
        "notification_url": "https://your-webhook-url.com/assessment-status"
    })
}

/// Runs a scenario `async fn name(backend: Backend)` once per backend, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test, removed afterwards.
pub struct TestDb {
    pub url: String,
    postgres_name: Option<String>,
    _folder: Option<tempfile::TempDir>,
}

/// The PostgreSQL server the tests create their databases on: `TEST_POSTGRES_URL`, else the
/// local server on 127.0.0.1:5432, else a throwaway cluster started for this test run.
pub fn postgres_admin_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TEST_POSTGRES_URL") {
            return url;
        }
        let local = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
        if std::net::TcpStream::connect_timeout(&local, std::time::Duration::from_secs(1)).is_ok() {
            return "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
        }
        throwaway_cluster()
    })
    .clone()
}

/// Starts a PostgreSQL cluster in a temporary folder on a free port, owned by this test process:
/// a watcher stops it and removes the folder when the process ends. Panics at once, naming the
/// package to install, when no PostgreSQL binaries are found.
fn throwaway_cluster() -> String {
    use std::process::Command;
    let bin = postgres_bin_dir().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server answers on 127.0.0.1:5432 and no PostgreSQL binaries (initdb, \
             pg_ctl) are installed: install them (Debian: apt-get install postgresql) or set \
             TEST_POSTGRES_URL"
        )
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let folder = std::env::temp_dir().join(format!("assessment-test-pg-{}", std::process::id()));
    let data = folder.join("data");
    std::fs::create_dir_all(&folder).expect("cluster folder");
    // initdb refuses to run as root: as root, the cluster belongs to the `postgres` user.
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let as_postgres: &[&str] = if as_root {
        &["runuser", "-u", "postgres", "--"]
    } else {
        &[]
    };
    let run = |program: &str, args: &[&str]| {
        let tool = bin.join(program);
        let mut command = match as_postgres.split_first() {
            Some((runner, runner_args)) => {
                let mut c = Command::new(runner);
                c.args(runner_args).arg(&tool);
                c
            }
            None => Command::new(&tool),
        };
        let output = command.args(args).output().expect(program);
        assert!(
            output.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    if as_root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&folder)
            .status()
            .expect("chown");
        assert!(status.success(), "chown of {}", folder.display());
    }
    let data_arg = data.to_str().expect("UTF-8 temp path");
    let socket_arg = folder.to_str().expect("UTF-8 temp path");
    run(
        "initdb",
        &[
            "-D",
            data_arg,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        ],
    );
    let options = format!(
        "-p {port} -k {socket_arg} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    );
    run(
        "pg_ctl",
        &[
            "-D",
            data_arg,
            "-o",
            &options,
            "-l",
            &format!("{socket_arg}/log"),
            "-w",
            "start",
        ],
    );
    let pg_ctl = bin.join("pg_ctl");
    let stop = format!(
        "{} {} -D {data_arg} -m immediate stop",
        as_postgres.join(" "),
        pg_ctl.display()
    );
    let watcher = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {socket_arg}",
        pid = std::process::id()
    );
    // The outer shell returns at once; the watcher, in the background, outlives this process.
    let started = Command::new("sh")
        .args(["-c", &format!("({watcher}) </dev/null >/dev/null 2>&1 &")])
        .status()
        .expect("cluster watcher");
    assert!(started.success(), "cluster watcher");
    eprintln!("started a throwaway PostgreSQL cluster on port {port} in {socket_arg}");
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

/// Where `initdb` and `pg_ctl` live: `pg_config --bindir`, else Debian's versioned folders
/// (newest first), else the `PATH`.
fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let has_tools = |dir: &PathBuf| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(output) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(has_tools)
        .collect();
    debian.sort_by_key(|dir| {
        dir.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    if let Some(dir) = debian.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|dir| has_tools(dir)))
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}/test.sqlite", folder.path().display());
                TestDb {
                    url,
                    postgres_name: None,
                    _folder: Some(folder),
                }
            }
            Backend::Postgres => {
                let name = format!("assessment_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&postgres_admin_url())
                    .await
                    .expect("connect to the tests' PostgreSQL server");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = postgres_admin_url();
                let (server, _) = base.rsplit_once('/').expect("database URL with a path");
                TestDb {
                    url: format!("{server}/{name}"),
                    postgres_name: Some(name),
                    _folder: None,
                }
            }
        }
    }

    /// A direct connection, for looking at tables the API does not show.
    pub async fn connect(&self) -> Db {
        Db::connect(&self.url)
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the cleanup gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                }
            });
        })
        .join();
    }
}

pub fn random_key() -> String {
    format!("test-key-{}", uuid::Uuid::new_v4().simple())
}

/// The service running as a child process.
pub struct TestServer {
    child: Child,
    pub base: String,
    pub api_key: String,
    pub client: Client,
    /// Lines the process printed to stdout before it started listening.
    pub banner: Vec<String>,
    /// Every line the process has written to stderr (its logs) so far; each is also passed on
    /// to the test's own stderr.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub struct ServerOptions {
    pub bootstrap_key: Option<String>,
    pub env: Vec<(&'static str, String)>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            bootstrap_key: Some(random_key()),
            env: Vec::new(),
        }
    }
}

impl ServerOptions {
    pub fn env(mut self, name: &'static str, value: impl ToString) -> Self {
        self.env.push((name, value.to_string()));
        self
    }
}

impl TestServer {
    pub async fn start(db: &TestDb) -> TestServer {
        Self::start_with(db, ServerOptions::default()).await
    }

    pub async fn start_with(db: &TestDb, options: ServerOptions) -> TestServer {
        Self::start_on(db.url.clone(), options).await
    }

    /// [`TestServer::start_with`] on the database at `url` (a task of its own can own it).
    pub async fn start_on(url: String, options: ServerOptions) -> TestServer {
        let mut command = Command::new(BINARY);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("JOB_LEASE_SECONDS", "2")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(key) = &options.bootstrap_key {
            command.env("BOOTSTRAP_API_KEY", key);
        }
        for (name, value) in &options.env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start assessment-service");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut errors = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let kept = logs.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                eprintln!("{line}");
                kept.lock().unwrap().push(line);
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut banner = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(address) = line.strip_prefix("listening on ") {
                    return address.trim().to_owned();
                }
                banner.push(line);
            }
            panic!("the service exited before listening: {banner:?}");
        })
        .await
        .expect("the service did not start listening within 60 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let api_key = options.bootstrap_key.clone().unwrap_or_default();
        TestServer {
            child,
            base,
            api_key,
            client: Client::new(),
            banner,
            logs,
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the service");
    }

    /// SIGTERM, then waits up to `limit` for a clean exit; returns how long it took.
    pub async fn terminate_within(mut self, limit: Duration) -> Duration {
        let pid = self.child.id().expect("running service").to_string();
        let started = tokio::time::Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let exit = tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the service did not stop within {limit:?} of SIGTERM"))
            .expect("wait for the service");
        assert!(exit.success(), "graceful shutdown exits cleanly: {exit}");
        started.elapsed()
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(self) {
        self.terminate_within(Duration::from_secs(30)).await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn generate(&self, body: &Value) -> Response {
        self.generate_with_key(body, &self.api_key).await
    }

    pub async fn generate_with_key(&self, body: &Value, key: &str) -> Response {
        self.client
            .post(self.url("/api/v2/assessments/generate-ai"))
            .header("apiKey", key)
            .json(body)
            .send()
            .await
            .expect("POST generate-ai")
    }

    /// Submits a job that must be accepted; returns its id.
    pub async fn submit(&self, body: &Value) -> String {
        self.submit_with_key(body, &self.api_key).await
    }

    pub async fn submit_with_key(&self, body: &Value, key: &str) -> String {
        let response = self.generate_with_key(body, key).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.expect("JSON body");
        body["job_id"].as_str().expect("job_id").to_owned()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_with_key(path, &self.api_key).await
    }

    pub async fn get_with_key(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .header("X-API-Key", key)
            .send()
            .await
            .expect("GET");
        json_of(response).await
    }

    pub async fn status(&self, job_id: &str) -> Value {
        self.status_with_key(job_id, &self.api_key).await
    }

    pub async fn status_with_key(&self, job_id: &str, key: &str) -> Value {
        let (code, body) = self
            .get_with_key(&format!("/api/v2/task-executions/status/{job_id}"), key)
            .await;
        assert_eq!(code, StatusCode::OK, "{body}");
        body
    }

    /// Polls the status until it is `completed` or `failed`.
    pub async fn wait_until_ended(&self, job_id: &str) -> Value {
        self.wait_until_ended_with_key(job_id, &self.api_key).await
    }

    pub async fn wait_until_ended_with_key(&self, job_id: &str, key: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let status = self.status_with_key(job_id, key).await;
            if matches!(status["status"].as_str(), Some("completed" | "failed")) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {job_id} did not end within 90 s; last status: {status}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A response's status and JSON body; fails the test if the body is not JSON.
pub async fn json_of(response: Response) -> (StatusCode, Value) {
    let code = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("response {code} is not JSON: {text:?}"));
    (code, body)
}

/// Retries `probe` until it returns `Some`, failing the test after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs a CLI subcommand against `db`; returns exit success and stdout.
pub async fn cli(db: &TestDb, args: &[&str]) -> (bool, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run assessment-service");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Runs a CLI subcommand against `db` that must fail (within 60 s, with `LISTEN_ADDR` on a
/// random port should it serve); returns what it wrote to stderr.
pub async fn cli_failure(db: &TestDb, args: &[&str]) -> String {
    let run = Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("{args:?} was expected to fail but kept running"))
        .expect("run assessment-service");
    assert!(!output.status.success(), "{args:?} was expected to fail");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Number of events in the store.
pub async fn event_count(db: &Db) -> i64 {
    let mut tx = db.begin_read().await.expect("begin");
    store::event_log::count(&mut tx)
        .await
        .expect("count events")
}

/// Every progress message of a job, oldest first, read from its events.
pub async fn job_logs(db: &TestDb, job_id: &str) -> Vec<String> {
    store::event_log::job_events(&db.connect().await, job_id)
        .await
        .expect("read the job's events")
        .into_iter()
        .filter_map(
            |event| match event.decode().expect("a stored event reads") {
                TaskExecutionEvent::LogAppended { message, .. } => Some(message),
                _ => None,
            },
        )
        .collect()
}

/// Rewrites the stored status view of every job through the store, replacing `from` by `to`
/// in its JSON: a damaged read model for replay to find and repair.
pub async fn damage_status_views(db: &TestDb, from: &str, to: &str) {
    let db = db.connect().await;
    let mut tx = db.begin_write().await.expect("begin");
    let (statuses, _) = store::views::all(&mut tx).await.expect("read the views");
    assert!(!statuses.is_empty(), "no view to damage");
    let damaged: Vec<_> = statuses
        .into_iter()
        .map(|mut row| {
            row.view = row.view.replace(from, to);
            row
        })
        .collect();
    store::views::upsert_statuses(&mut tx, &damaged)
        .await
        .expect("write the views");
    tx.commit().await.expect("commit");
}

/// Stores a status view for a job the log has never heard of (a copy of a stored view under
/// a new id), as a bad restore might leave; returns its job id.
pub async fn add_stray_status_view(db: &TestDb) -> String {
    let db = db.connect().await;
    let mut tx = db.begin_write().await.expect("begin");
    let (statuses, _) = store::views::all(&mut tx).await.expect("read the views");
    let mut stray = statuses.into_iter().next().expect("a view to copy");
    let job_id = uuid::Uuid::new_v4().to_string();
    stray.view = stray.view.replace(&stray.job_id, &job_id);
    stray.job_id = job_id.clone();
    store::views::upsert_statuses(&mut tx, &[stray])
        .await
        .expect("write the view");
    tx.commit().await.expect("commit");
    job_id
}

/// The assessment of a completed job: (info, questions).
pub async fn assessment_of(server: &TestServer, status: &Value) -> (Value, Vec<Value>) {
    assert_eq!(status["status"], "completed", "{status}");
    let id = status["result"]["assessment_id"]
        .as_str()
        .expect("assessment_id");
    let (code, info) = server.get(&format!("/api/v2/assessments/{id}/info")).await;
    assert_eq!(code, StatusCode::OK, "{info}");
    let (code, questions) = server
        .get(&format!("/api/v2/assessments/{id}/questions"))
        .await;
    assert_eq!(code, StatusCode::OK, "{questions}");
    (
        info,
        questions["questions"]
            .as_array()
            .expect("questions")
            .clone(),
    )
}

/// Submits a job and waits for its end.
pub async fn run_job(server: &TestServer, body: &Value) -> Value {
    let job_id = server.submit(body).await;
    server.wait_until_ended(&job_id).await
}

/// Creates an API key of `organization` with the CLI; returns its JSON (`api_key`, `id`, ...).
pub async fn create_key(db: &TestDb, organization: &str) -> Value {
    let (ok, stdout) = cli(
        db,
        &[
            "api-keys",
            "create",
            "--name",
            "test",
            "--organization",
            organization,
            "--json",
        ],
    )
    .await;
    assert!(ok, "{stdout}");
    serde_json::from_str(stdout.trim()).expect("api-keys create --json prints JSON")
}
