//! A small HTTP service deployed with score-fly (no resources, std only).
//!
//! Run with `cargo run -p hello` and open <http://localhost:8080/>; `GET /healthz` answers
//! `ok`. Its workload is `score.yaml` beside `Cargo.toml`, checked at compile time by
//! `#[score_workload]`. Generate its fly.toml with
//! `cargo run -p cargo-score-fly -- generate examples/hello/score.yaml --image <ref>`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};

#[score_fly_macros::score_workload]
fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").ok().and_then(|p| p.parse::<u16>().ok()).unwrap_or(8080);
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello from score-fly!".to_owned());
    let listener = TcpListener::bind(("0.0.0.0", port))?;
    eprintln!("hello: listening on port {port}");
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(e) = handle(stream, &greeting) {
                    eprintln!("hello: request failed: {e}");
                }
            }
            Err(e) => eprintln!("hello: accept failed: {e}"),
        }
    }
    Ok(())
}

fn handle(mut stream: TcpStream, greeting: &str) -> std::io::Result<()> {
    let mut request_line = String::new();
    BufReader::new(&stream).read_line(&mut request_line)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/" => ("200 OK", format!("{greeting}\n")),
        "/healthz" => ("200 OK", "ok\n".to_owned()),
        _ => ("404 Not Found", "not found\n".to_owned()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}
