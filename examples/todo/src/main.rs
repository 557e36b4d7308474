//! A todo list HTTP service on Postgres (axum + tokio-postgres), deployed with score-fly.
//!
//! Run with a Postgres at hand (the `todos` table is created at startup if missing):
//!
//! ```sh
//! DATABASE_URL=postgres://todo:secret@localhost:5432/todo cargo run -p todo -- migrate   # the schema, then exit
//! DATABASE_URL=postgres://todo:secret@localhost:5432/todo cargo run -p todo
//! curl -i -H 'content-type: application/json' -d '{"title": "buy milk"}' localhost:8080/todos
//! curl localhost:8080/todos
//! curl -X PATCH -H 'content-type: application/json' -d '{}' localhost:8080/todos/1
//! ```
//!
//! `PORT` chooses the port (default 8080); `DATABASE_URL` is required (a plain connection, no
//! TLS: on Fly.io the private network between apps is already encrypted). SIGINT (what Fly
//! sends by default) or SIGTERM stops it gracefully.
//!
//! `todo migrate` applies the schema to `DATABASE_URL` and exits (0, or 1 with the reason).
//! On Fly it is the app's release command (`release_command = "migrate"`: Fly runs it in a
//! temporary machine of the new image before any machine is updated, and a failure stops the
//! deploy; the image's entrypoint is `/app/todo`, and the release command replaces only its
//! arguments). The service still ensures the table when it connects, so it also runs without
//! the migration step (locally, or an image deployed with `--skip-release-command`).
//!
//! | route | answer |
//! |---|---|
//! | `GET /todos` | 200, every item as JSON `[{"id": 1, "title": "...", "done": false}]` |
//! | `POST /todos` `{"title": "..."}` | 201, the created item (and `Location: /todos/{id}`) |
//! | `GET /todos/{id}` | 200, the item; 404 |
//! | `PATCH /todos/{id}` | `{"done": true}` sets it, `{"title": "..."}` renames, `{}` toggles `done`; 200, the item; 404 |
//! | `DELETE /todos/{id}` | 204; 404 |
//! | `GET /healthz` | readiness: 200 `ok` when `SELECT 1` succeeds, else 503 |
//! | `GET /livez` | liveness: always 200 |
//!
//! Errors are JSON `{"error": "..."}`: 422 for a bad item, 503 while the database is
//! unreachable (the connection is re-established on the next request), 500 otherwise.
//!
//! Its Score workload is declared inline by `#[score_workload(...)]` on `main` (there is no
//! `score.yaml`) and checked at compile time. To derive its `fly.toml`, give the `postgres`
//! resource `db` a provisioner, e.g. fixed outputs in `.score-fly/dev.provisioners.yaml` at the
//! workspace root:
//!
//! ```yaml
//! - id: todo-db
//!   type: postgres
//!   static:
//!     values: {host: todo-db.flycast, port: 5432, name: todo, database: todo, username: todo}
//!     secrets: {password: "..."}
//! ```
//!
//! then `cargo score-fly generate -p todo --image <ref> --secrets-file todo.secrets` reads the
//! attribute from this file (no build needed) and writes `examples/todo/fly_todo.toml`: app
//! `todo`, `[env]` `PORT` and `RUST_LOG`, an `[http_service]` on internal port 8080 (port 443
//! with handlers `tls,http`) checked on `/healthz`, `[checks.liveness_probe]` on `/livez`, and a
//! `shared-cpu-1x` machine with 256 MB. `DATABASE_URL` reads the secret output `password`, so it
//! is an app secret written to `todo.secrets` (`fly secrets import -a todo < todo.secrets`),
//! never a line of `fly.toml`.

use std::error::Error as _;
use std::process::ExitCode;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls, Row};

/// The table, created at startup (and on every reconnection) if missing.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS todos (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL, done BOOLEAN NOT NULL DEFAULT false)";

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `/healthz` waits for the database before answering 503.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

#[score_fly_macros::score_workload(
    name = "todo",
    annotations("score-fly/service-web-handlers" = "tls,http"),
    release_command = "migrate",
    variables(
        DATABASE_URL = "postgres://${resources.db.username}:${resources.db.password}@${resources.db.host}:${resources.db.port}/${resources.db.database}",
        PORT = "8080",
        RUST_LOG = "info",
    ),
    requests(cpu = "1", memory = "256Mi"),
    readiness_probe(http_get(path = "/healthz", port = 8080)),
    liveness_probe(http_get(path = "/livez", port = 8080)),
    port(web, port = 443, target_port = 8080),
    resource(db, type = "postgres"),
)]
#[tokio::main]
async fn main() -> ExitCode {
    let result = match std::env::args().nth(1).as_deref() {
        None => run().await,
        Some("migrate") => migrate().await,
        Some(other) => {
            Err(format!("unknown argument {other:?}: run `todo` to serve, or `todo migrate` to apply the schema"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("todo: error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = database_config()?;
    let port = listen_port()?;
    let target = describe(&config);
    let db = Arc::new(Db { config, client: Mutex::new(None) });
    db.client()
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL at {target} and create the todos table: {}", chain(&e)))?;
    eprintln!("todo: connected to PostgreSQL at {target}");

    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(livez))
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(show).patch(update).delete(remove))
        .with_state(db);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .map_err(|e| format!("cannot listen on 0.0.0.0:{port}: {e}"))?;
    eprintln!("todo: listening on 0.0.0.0:{port}");
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.map_err(|e| format!("server: {e}"))?;
    eprintln!("todo: stopped");
    Ok(())
}

/// `todo migrate`: applies the schema to `DATABASE_URL` and returns (the release command).
async fn migrate() -> Result<(), String> {
    let config = database_config()?;
    let target = describe(&config);
    let (client, connection) =
        config.connect(NoTls).await.map_err(|e| format!("cannot connect to PostgreSQL at {target}: {}", chain(&e)))?;
    let connection = tokio::spawn(connection);
    client.batch_execute(SCHEMA).await.map_err(|e| format!("cannot migrate {target}: {}", chain(&e)))?;
    drop(client);
    if let Ok(Err(e)) = connection.await {
        return Err(format!("connection to {target} failed: {}", chain(&e)));
    }
    eprintln!("todo: migrated PostgreSQL at {target}");
    Ok(())
}

/// `DATABASE_URL`, parsed.
fn database_config() -> Result<Config, String> {
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        Ok(_) | Err(std::env::VarError::NotPresent) => {
            return Err("DATABASE_URL is not set: set it to postgres://USER:PASSWORD@HOST:PORT/DATABASE \
                 (on Fly.io, score-fly builds it from the outputs of the `db` resource)"
                .to_owned());
        }
        Err(std::env::VarError::NotUnicode(_)) => return Err("DATABASE_URL is not valid UTF-8".to_owned()),
    };
    // The message never quotes the URL: it holds the password.
    let mut config = Config::from_str(&url)
        .map_err(|e| format!("DATABASE_URL is not a valid PostgreSQL connection URL: {}", chain(&e)))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    Ok(config)
}

/// `PORT`, 8080 when unset.
fn listen_port() -> Result<u16, String> {
    match std::env::var("PORT") {
        Err(std::env::VarError::NotPresent) => Ok(8080),
        Ok(value) => value.trim().parse().map_err(|_| format!("PORT must be a port number (0-65535), not {value:?}")),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("PORT must be a port number (0-65535), not non-UTF-8 text".to_owned())
        }
    }
}

/// `user@host:port/database`, for messages (no password).
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "{}@{}:{}/{}",
        config.get_user().unwrap_or("?"),
        if hosts.is_empty() { "?".to_owned() } else { hosts.join(",") },
        if ports.is_empty() { "5432".to_owned() } else { ports.join(",") },
        config.get_dbname().unwrap_or("?"),
    )
}

/// An error and its causes, `a: b: c` (tokio-postgres says only "db error" for a server error).
fn chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// Resolves on SIGINT (Fly's default kill signal) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("todo: cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                eprintln!("todo: cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    let name = tokio::select! {
        () = interrupt => "SIGINT",
        () = terminate => "SIGTERM",
    };
    eprintln!("todo: {name} received, finishing the requests in flight");
}

/// One Postgres connection, shared by every request and re-established when it is lost.
struct Db {
    config: Config,
    client: Mutex<Option<Arc<Client>>>,
}

impl Db {
    /// The open connection, or a new one (with the table ensured).
    async fn client(&self) -> Result<Arc<Client>, tokio_postgres::Error> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(client));
        }
        *slot = None;
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("todo: database connection lost: {}", chain(&e));
            }
        });
        client.batch_execute(SCHEMA).await?;
        let client = Arc::new(client);
        *slot = Some(Arc::clone(&client));
        Ok(client)
    }

    /// [`Db::client`] for a request: any failure to connect makes the database unavailable.
    async fn get(&self) -> Result<Arc<Client>, AppError> {
        self.client().await.map_err(AppError::Unavailable)
    }
}

/// A todo item.
#[derive(Debug, Serialize)]
struct Todo {
    id: i64,
    title: String,
    done: bool,
}

impl Todo {
    fn from_row(row: &Row) -> Result<Todo, AppError> {
        Ok(Todo {
            id: row.try_get("id").map_err(AppError::Database)?,
            title: row.try_get("title").map_err(AppError::Database)?,
            done: row.try_get("done").map_err(AppError::Database)?,
        })
    }
}

/// `POST /todos` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTodo {
    title: String,
}

/// `PATCH /todos/{id}` body: the fields to set; none toggles `done`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TodoPatch {
    title: Option<String>,
    done: Option<bool>,
}

/// Why a request failed.
#[derive(Debug)]
enum AppError {
    /// The database cannot be reached (503).
    Unavailable(tokio_postgres::Error),
    /// The database refused the query (500).
    Database(tokio_postgres::Error),
    /// No todo with this id (404).
    NotFound,
    /// The request is well-formed JSON but not a valid item (422).
    Invalid(&'static str),
}

/// A failed query: the connection broke (503), or the server refused it (500).
impl From<tokio_postgres::Error> for AppError {
    fn from(e: tokio_postgres::Error) -> Self {
        let io = e.source().is_some_and(<dyn std::error::Error>::is::<std::io::Error>);
        if e.is_closed() || io { AppError::Unavailable(e) } else { AppError::Database(e) }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, error) = match self {
            AppError::Unavailable(e) => {
                eprintln!("todo: database unavailable: {}", chain(&e));
                (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
            }
            AppError::Database(e) => {
                eprintln!("todo: database error: {}", chain(&e));
                (StatusCode::INTERNAL_SERVER_ERROR, "database error")
            }
            AppError::NotFound => (StatusCode::NOT_FOUND, "no such todo"),
            AppError::Invalid(message) => (StatusCode::UNPROCESSABLE_ENTITY, message),
        };
        (status, Json(ErrorBody { error })).into_response()
    }
}

type Shared = State<Arc<Db>>;

async fn healthz(State(db): Shared) -> (StatusCode, &'static str) {
    let check = async { db.client().await?.simple_query("SELECT 1").await.map(drop) };
    match tokio::time::timeout(HEALTH_TIMEOUT, check).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(e)) => {
            eprintln!("todo: health check failed: {}", chain(&e));
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
        Err(_) => {
            eprintln!("todo: health check failed: no answer from the database within {HEALTH_TIMEOUT:?}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

async fn livez() -> &'static str {
    "ok\n"
}

async fn list(State(db): Shared) -> Result<Json<Vec<Todo>>, AppError> {
    let rows = db.get().await?.query("SELECT id, title, done FROM todos ORDER BY id", &[]).await?;
    Ok(Json(rows.iter().map(Todo::from_row).collect::<Result<_, _>>()?))
}

async fn create(State(db): Shared, Json(new): Json<NewTodo>) -> Result<impl IntoResponse, AppError> {
    let title = new.title.trim();
    if title.is_empty() {
        return Err(AppError::Invalid("title must not be empty"));
    }
    let row =
        db.get().await?.query_one("INSERT INTO todos (title) VALUES ($1) RETURNING id, title, done", &[&title]).await?;
    let todo = Todo::from_row(&row)?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/todos/{}", todo.id))], Json(todo)))
}

async fn show(State(db): Shared, Path(id): Path<i64>) -> Result<Json<Todo>, AppError> {
    let row = db.get().await?.query_opt("SELECT id, title, done FROM todos WHERE id = $1", &[&id]).await?;
    Ok(Json(Todo::from_row(&row.ok_or(AppError::NotFound)?)?))
}

async fn update(State(db): Shared, Path(id): Path<i64>, Json(patch): Json<TodoPatch>) -> Result<Json<Todo>, AppError> {
    let title = patch.title.as_deref().map(str::trim);
    if title == Some("") {
        return Err(AppError::Invalid("title must not be empty"));
    }
    let client = db.get().await?;
    let row = if title.is_none() && patch.done.is_none() {
        client.query_opt("UPDATE todos SET done = NOT done WHERE id = $1 RETURNING id, title, done", &[&id]).await?
    } else {
        client
            .query_opt(
                "UPDATE todos SET title = COALESCE($2, title), done = COALESCE($3, done) WHERE id = $1 \
                 RETURNING id, title, done",
                &[&id, &title, &patch.done],
            )
            .await?
    };
    Ok(Json(Todo::from_row(&row.ok_or(AppError::NotFound)?)?))
}

async fn remove(State(db): Shared, Path(id): Path<i64>) -> Result<StatusCode, AppError> {
    let deleted = db.get().await?.execute("DELETE FROM todos WHERE id = $1", &[&id]).await?;
    if deleted == 0 { Err(AppError::NotFound) } else { Ok(StatusCode::NO_CONTENT) }
}
