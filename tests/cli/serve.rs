//! `newsclass serve` (issue #13): the real binary on a free loopback port, driven over raw TCP.
//!
//! Every endpoint and every limit, the answers against `predict --format jsonl` and `info`,
//! the responses against the OpenAPI description, the token, the refusal of non-loopback
//! addresses, the access log and a graceful shutdown with a request in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::*;

/// How long anything may take before a test gives up (a bound against hanging, not a timing
/// assertion).
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `newsclass serve`.
struct Server {
    child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer {} is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 answer")
    }

    /// Assert the page with an error: the status, HTML, the message below the form; return the
    /// page.
    fn page_error(&self, status: u16) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        let html = self.text();
        assert!(
            html.contains("<p class=\"form-error\" role=\"alert\">"),
            "{html}"
        );
        html
    }

    /// Assert an error answer: the status, a JSON content type, `{"error": {"code", "message"}}`
    /// with this code; return the message.
    fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "expected {status} {code}, got {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        assert_eq!(v["error"]["code"], code, "{v}");
        let keys: Vec<&String> = v["error"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "message"], "{v}");
        assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
        v["error"]["message"].as_str().unwrap().to_string()
    }
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("newsclass")
}

impl Server {
    /// Start `newsclass serve --addr 127.0.0.1:0 ARGS` (without NEWSCLASS_TOKEN unless `env`
    /// sets it) and wait for its "listening on" line.
    fn start_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(binary());
        cmd.current_dir(dir)
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env_remove("NEWSCLASS_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start newsclass serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            // Drain stderr for the server's whole life, so the access log never blocks it.
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(a) = line.strip_prefix("newsclass: listening on http://") {
                    let _ = tx.send(a.to_string());
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = match rx.recv_timeout(PATIENCE) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not start; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        Server {
            child,
            addr,
            stderr,
        }
    }

    fn start(dir: &Path, args: &[&str]) -> Server {
        Self::start_env(dir, args, &[])
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A new connection that has sent the headers of `POST /v1/classify` with `body` and the
    /// first half of `body`; the second half is returned for the caller to send.
    fn half_sent<'b>(&self, body: &'b [u8]) -> (TcpStream, &'b [u8]) {
        let (first, rest) = body.split_at(body.len() / 2);
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            s,
            "POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(first).unwrap();
        (s, rest)
    }

    /// The access log's JSON lines, once there are at least `n` (they are written after the
    /// answers), or all there are after [`PATIENCE`].
    fn access_log(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let lines: Vec<Value> = self
                .stderr()
                .lines()
                .filter(|l| l.starts_with('{'))
                .map(|l| serde_json::from_str(l).expect("a JSON log line"))
                .collect();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Send raw bytes on a new connection and read the answer to the end.
    fn raw(&self, request: &[u8]) -> Answer {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        // The server may answer (413) and close before it has read everything: keep reading.
        let _ = s.write_all(request);
        read_answer(&mut s)
    }

    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes)
    }

    fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], b"")
    }

    fn post(&self, body: &[u8]) -> Answer {
        self.request(
            "POST",
            "/v1/classify",
            &[("Content-Type", "application/json")],
            body,
        )
    }

    fn classify(&self, body: &Value) -> Answer {
        self.post(body.to_string().as_bytes())
    }

    /// Post the page's form (an urlencoded body).
    fn form(&self, body: &str) -> Answer {
        self.request(
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
    }

    /// SIGTERM.
    fn terminate(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(ok.success());
    }

    /// Wait for the process to end; its exit code.
    fn wait(mut self) -> Option<i32> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Read an HTTP/1.1 answer with a Content-Length from `s`: the headers, then that many bytes.
fn read_answer(s: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 1 << 16];
    let mut need: Option<(usize, usize)> = None; // (header end, body length)
    loop {
        if let Some((split, len)) = need {
            if raw.len() >= split + 4 + len {
                break;
            }
        }
        let n = match s.read(&mut buf) {
            Ok(n) => n,
            // A signal (a child process ending) may interrupt the read: read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!(
                "reading the answer: {e}; got {:?}",
                String::from_utf8_lossy(&raw)
            ),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if need.is_none() {
            if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().expect("a number"))
                    .unwrap_or_else(|| panic!("no content-length in {head}"));
                need = Some((split, len));
            }
        }
    }
    let (split, len) =
        need.unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = raw[split + 4..].to_vec();
    assert_eq!(body.len(), len, "body length");
    Answer {
        status,
        headers,
        body,
    }
}

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

/// `predict --format jsonl ARGS` records without their `source`.
fn predict_records(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["predict", "--format", "jsonl"];
    full.extend_from_slice(args);
    jsonl(&run_ok(dir, &full))
        .into_iter()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("source").expect("source");
            r
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A JSON Schema check for the subset of keywords openapi.json uses (the test below makes sure
// it uses no others).

const KEYWORDS: [&str; 11] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "oneOf",
    "$ref",
    "description",
];

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let path = r.strip_prefix("#/").expect("local $ref");
            let target = path.split('/').fold(spec, |v, k| {
                v.get(k).unwrap_or_else(|| panic!("dangling $ref {r}"))
            });
            resolve(spec, target)
        }
        None => schema,
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("unknown type {other}"),
    }
}

/// Errors of `v` against `schema` (empty when it validates).
fn validate(spec: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let schema = resolve(spec, schema);
    let mut errs = Vec::new();
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(t) => type_matches(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_matches(t.as_str().unwrap(), v)),
            _ => panic!("bad type {t}"),
        };
        if !ok {
            errs.push(format!("{at}: {v} is not of type {t}"));
            return errs;
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errs.push(format!("{at}: {v} is not one of {e:?}"));
        }
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            errs.push(format!("{at}: {x} < minimum {min}"));
        }
    }
    if let (Some(max), Some(x)) = (schema.get("maximum").and_then(Value::as_f64), v.as_f64()) {
        if x > max {
            errs.push(format!("{at}: {x} > maximum {max}"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(r.as_str().unwrap()) {
                errs.push(format!("{at}: missing required {r}"));
            }
        }
        for (k, x) in obj {
            let here = format!("{at}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(s) => errs.extend(validate(spec, s, x, &here)),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{at}: unexpected property {k}")),
                    Some(Value::Bool(true)) | None => {}
                    Some(s) => errs.extend(validate(spec, s, x, &here)),
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            errs.extend(validate(spec, items, x, &format!("{at}[{i}]")));
        }
    }
    if let Some(alts) = schema.get("oneOf").and_then(Value::as_array) {
        let n = alts
            .iter()
            .filter(|s| validate(spec, s, v, at).is_empty())
            .count();
        if n != 1 {
            errs.push(format!(
                "{at}: {v} matches {n} of the oneOf alternatives, not 1"
            ));
        }
    }
    errs
}

/// Every keyword of every schema in the spec is one `validate` knows.
fn check_keywords(v: &Value, at: &str) {
    let Some(obj) = v.as_object() else { return };
    for (k, x) in obj {
        assert!(
            KEYWORDS.contains(&k.as_str()),
            "{at}: keyword {k} is not checked"
        );
        match k.as_str() {
            "properties" => {
                for (name, s) in x.as_object().unwrap() {
                    check_keywords(s, &format!("{at}.{name}"));
                }
            }
            "items" | "additionalProperties" => check_keywords(x, &format!("{at}.{k}")),
            "oneOf" => {
                for s in x.as_array().unwrap() {
                    check_keywords(s, &format!("{at}.oneOf"));
                }
            }
            _ => {}
        }
    }
}

/// Assert that `answer` validates against the spec's response for `method path`.
fn assert_conforms(spec: &Value, method: &str, path: &str, answer: &Answer) {
    let op = &spec["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not in the spec");
    let response = resolve(spec, &op["responses"][answer.status.to_string()]);
    assert!(
        response.is_object(),
        "{method} {path}: status {} is not in the spec",
        answer.status
    );
    let ct = answer.header("content-type").expect("content-type");
    let media = ct.split(';').next().unwrap().trim();
    let schema = &response["content"][media]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {}: content type {media} is not in the spec",
        answer.status
    );
    let body = if media == "application/json" {
        answer.json()
    } else {
        Value::String(answer.text())
    };
    let errs = validate(spec, schema, &body, "$");
    assert!(
        errs.is_empty(),
        "{method} {path} {}: {errs:#?}",
        answer.status
    );
}

// ---------------------------------------------------------------------------------------------

#[test]
fn classify_text_is_what_predict_prints_for_the_article() {
    let dir = tempdir();
    let article = repo_file("data/example-article.txt");
    let text = std::fs::read_to_string(&article).unwrap();
    let path = article.to_str().unwrap();
    let server = Server::start(dir.path(), &[]);
    for (body, flags) in [
        (json!({ "text": text }), vec![]),
        (json!({ "text": text, "probs": true }), vec!["--probs"]),
        (
            json!({ "text": text, "explain": 3, "min_prob": 0.9 }),
            vec!["--explain=3", "--min-prob", "0.9"],
        ),
        (
            json!({ "text": text, "min_prob": { "stance": 0.95 } }),
            vec!["--min-prob", "stance=0.95"],
        ),
    ] {
        let a = server.classify(&body);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.header("content-type"), Some("application/json"));
        let mut args = flags.clone();
        args.push(path);
        let expected = predict_records(dir.path(), &args);
        assert_eq!(expected.len(), 9);
        assert_eq!(
            a.json(),
            json!({ "sentences": expected }),
            "flags {flags:?}"
        );
    }
}

#[test]
fn classify_sentences_and_articles_match_predict() {
    let dir = tempdir();
    let sentences = [
        "Troops shelled the border town overnight.",
        "The envoys signed a ceasefire in Geneva.",
        "Spaces inside   the sentence.",
        "Ünïcode — “quoted” text, 日本語.",
    ];
    let rows: String = sentences
        .iter()
        .map(|s| format!("{}\n", json!({ "text": s })))
        .collect();
    write(dir.path(), "rows.jsonl", rows);
    let server = Server::start(dir.path(), &[]);
    let a = server.classify(&json!({ "sentences": sentences, "probs": true }));
    assert_eq!(a.status, 200, "{}", a.text());
    let expected = predict_records(
        dir.path(),
        &["--input-format", "jsonl", "--probs", "rows.jsonl"],
    );
    assert_eq!(a.json(), json!({ "sentences": expected }));
    // Sentences are classified as given: not trimmed (predict trims the text of data rows), so
    // the offsets cover the whole string; an empty one is classified too.
    let a = server.classify(&json!({ "sentences": ["  padded  ", ""] }));
    let s = &a.json()["sentences"];
    assert_eq!(
        (s[0]["text"].as_str(), s[0]["end"].as_u64()),
        (Some("  padded  "), Some(10))
    );
    assert_eq!(
        (s[1]["sentence"].as_u64(), s[1]["end"].as_u64()),
        (Some(2), Some(0))
    );

    // A batch answers each article as a request of its own would, in order, with its id.
    let one = "Rebels attacked a convoy. Ministers agreed to talks.\nA second line.";
    let two = "Envoys met for talks.";
    let batch = server.classify(&json!({
        "articles": [{ "id": "one", "text": one }, { "id": "empty", "text": "" }, { "id": "two", "text": two }]
    }));
    assert_eq!(batch.status, 200, "{}", batch.text());
    let alone = |t: &str| server.classify(&json!({ "text": t })).json()["sentences"].clone();
    assert_eq!(
        batch.json(),
        json!({ "articles": [
            { "id": "one", "sentences": alone(one) },
            { "id": "empty", "sentences": [] },
            { "id": "two", "sentences": alone(two) },
        ]})
    );
    assert_eq!(alone(one).as_array().unwrap().len(), 3);
}

#[test]
fn a_request_of_several_chunks_is_what_predict_prints() {
    // Over 256 sentences, so the server classifies them in several calls (with the last one
    // partial); the answer is still exactly `predict`'s, explanations included. The fast model:
    // this is about the server's chunks (the encoder's answers do not depend on its batches:
    // tests/encoder.rs), and the default model takes minutes over them in a debug build.
    let dir = tempdir();
    let text = std::fs::read_to_string(repo_file("data/example-article.txt")).unwrap();
    let base: Vec<String> = newsclass::text::sentences::split_sentences(&text)
        .into_iter()
        .map(|s| s.text)
        .collect();
    let sentences: Vec<String> = (0..600)
        .map(|i| format!("{} ({i})", base[i % base.len()]))
        .collect();
    let rows: String = sentences
        .iter()
        .map(|s| format!("{}\n", json!({ "text": s })))
        .collect();
    write(dir.path(), "rows.jsonl", rows);
    let server = Server::start(dir.path(), &["--model", "fast"]);
    let a = server.classify(&json!({ "sentences": sentences, "probs": true, "explain": 2 }));
    assert_eq!(a.status, 200, "{}", a.text());
    let expected = predict_records(
        dir.path(),
        &[
            "--model",
            "fast",
            "--input-format",
            "jsonl",
            "--probs",
            "--explain=2",
            "rows.jsonl",
        ],
    );
    assert_eq!(expected.len(), 600);
    assert_eq!(a.json(), json!({ "sentences": expected }));
}

#[test]
fn model_is_what_info_prints_and_healthz_answers() {
    let dir = tempdir();
    let model = train(dir.path(), "m.newsclass", &[]);
    let server = Server::start(dir.path(), &["--model", model.to_str().unwrap()]);
    let a = server.get("/v1/model");
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json(),
        json(&run_ok(dir.path(), &["info", "--model", "m.newsclass"]))
    );
    // The fixture model's heads answer, not the default model's.
    let c = server.classify(&json!({ "sentences": ["Troops shelled the town."] }));
    let labels: Vec<&str> = TOPICS.to_vec();
    assert!(labels.contains(&c.json()["sentences"][0]["topic"]["label"].as_str().unwrap()));
    let h = server.get("/healthz");
    assert_eq!((h.status, h.json()), (200, json!({ "status": "ok" })));
}

#[test]
fn openapi_lists_exactly_the_routes_and_answers_conform_to_it() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &["--max-sentences", "20"]);
    let a = server.get("/openapi.json");
    assert_eq!(a.status, 200);
    let spec = a.json();
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
    for (name, s) in spec["components"]["schemas"].as_object().unwrap() {
        check_keywords(s, name);
    }
    // Every operation listed exists: neither 404 nor 405.
    let mut listed = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let m = method.to_ascii_uppercase();
            let a = server.request(
                &m,
                path,
                &[("Content-Type", "application/json")],
                b"{\"text\": \"x\"}",
            );
            assert!(
                ![404, 405].contains(&a.status),
                "{m} {path} answers {}",
                a.status
            );
            listed.push(format!("{m} {path}"));
        }
    }
    listed.sort();
    assert_eq!(
        listed,
        [
            "GET /",
            "GET /healthz",
            "GET /metrics",
            "GET /openapi.json",
            "GET /v1/model",
            "POST /",
            "POST /v1/classify"
        ]
    );
    // Answers, good and bad, validate against their documented schemas.
    let text = std::fs::read_to_string(repo_file("data/example-article.txt")).unwrap();
    for body in [
        json!({ "text": text }),
        json!({ "text": text, "probs": true, "explain": 2, "min_prob": 0.99 }),
        json!({ "sentences": ["One.", "Two."], "min_prob": { "topic": 0.5 } }),
        json!({ "articles": [{ "id": "a", "text": "One. Two." }] }),
        json!({ "text": "x", "sentences": ["y"] }),
        json!({ "text": "x", "nope": 1 }),
        json!({ "sentences": vec!["s"; 21] }),
        json!({ "text": "x", "explain": 0 }),
    ] {
        let a = server.classify(&body);
        assert_conforms(&spec, "post", "/v1/classify", &a);
    }
    assert_conforms(&spec, "post", "/v1/classify", &server.post(b"{"));
    for path in ["/", "/v1/model", "/healthz", "/metrics", "/openapi.json"] {
        assert_conforms(&spec, "get", path, &server.get(path));
    }
    assert_conforms(
        &spec,
        "post",
        "/",
        &server.form("text=Troops+shelled+the+town."),
    );
    assert_conforms(&spec, "post", "/", &server.form("nope=1"));
    // The request examples are valid requests, and valid against the request schema.
    let examples =
        &spec["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"];
    for (name, ex) in examples["examples"].as_object().unwrap() {
        let errs = validate(&spec, &examples["schema"], &ex["value"], name);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(server.classify(&ex["value"]).status, 200, "example {name}");
    }
    // And requests the schema refuses are refused.
    for bad in [
        json!({}),
        json!({ "text": "x", "sentences": [] }),
        json!({ "text": 1 }),
        json!({ "text": null }),
        json!({ "articles": [{ "id": 1, "text": "x" }] }),
        json!({ "articles": [{ "text": "x" }] }),
        json!({ "text": "x", "probs": "yes" }),
        json!({ "text": "x", "min_prob": 2 }),
        json!({ "text": "x", "explain": 101 }),
        json!({ "text": "x", "explain": 2.5 }),
        json!({ "text": "x", "min_prob": { "mood": 0.5 } }),
        json!([]),
    ] {
        assert!(
            !validate(&spec, &examples["schema"], &bad, "$").is_empty(),
            "the schema takes {bad}"
        );
        assert_eq!(server.classify(&bad).status, 422, "the server takes {bad}");
    }
}

#[test]
fn unknown_paths_and_methods_are_json_errors() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &[]);
    let m = server.get("/v2/classify").error(404, "not_found");
    assert!(m.contains("POST /v1/classify"), "{m}");
    let a = server.get("/v1/classify");
    a.error(405, "method_not_allowed");
    assert_eq!(a.header("allow"), Some("POST"));
    server
        .request("DELETE", "/healthz", &[], b"")
        .error(405, "method_not_allowed");
}

#[test]
fn every_request_limit_is_a_clear_json_error() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &["--max-body", "2KiB", "--max-sentences", "5"]);
    // Body size: declared, and sent in chunks without a length.
    let big = json!({ "text": "a".repeat(3000) }).to_string();
    let m = server.post(big.as_bytes()).error(413, "body_too_large");
    assert!(m.contains("2048 bytes") && m.contains("--max-body"), "{m}");
    let chunked = format!(
        "POST /v1/classify HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    server.raw(chunked.as_bytes()).error(413, "body_too_large");
    // Just under the limit is fine.
    let fits = json!({ "text": "a".repeat(2000) }).to_string();
    assert!(fits.len() <= 2048);
    assert_eq!(server.post(fits.as_bytes()).status, 200);
    // Sentences per request, in each form.
    let six = "One. Two. Three. Four. Five. Six.";
    for body in [
        json!({ "text": six }),
        json!({ "sentences": ["a", "b", "c", "d", "e", "f"] }),
        json!({ "articles": [{ "id": "a", "text": "One. Two. Three." }, { "id": "b", "text": "Four. Five. Six." }] }),
    ] {
        let m = server.classify(&body).error(413, "too_many_sentences");
        assert!(m.contains("6 sentences") && m.contains("limit of 5"), "{m}");
    }
    assert_eq!(
        server
            .classify(&json!({ "text": "One. Two. Three. Four. Five." }))
            .status,
        200
    );
    // Content type.
    let body = br#"{"text": "x"}"#;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin1",
    ] {
        let m = server
            .request("POST", "/v1/classify", &[("Content-Type", ct)], body)
            .error(415, "unsupported_media_type");
        assert!(m.contains("application/json"), "{m}");
    }
    server
        .request("POST", "/v1/classify", &[], body)
        .error(415, "unsupported_media_type");
    assert_eq!(
        server
            .request(
                "POST",
                "/v1/classify",
                &[("Content-Type", "application/json; charset=UTF-8")],
                body
            )
            .status,
        200
    );
    // Bytes that are not UTF-8, and text that is not JSON.
    let m = server
        .post(b"{\"text\": \"caf\xe9\"}")
        .error(400, "invalid_utf8");
    assert!(m.contains("byte 13"), "{m}");
    let m = server.post(b"{\"text\": ").error(400, "invalid_json");
    assert!(m.contains("line 1"), "{m}");
    server.post(b"").error(400, "invalid_json");
    server
        .post(b"{\"text\": \"x\"} trailing")
        .error(400, "invalid_json");
    // JSON that is not a request.
    let m = server
        .classify(&json!({ "text": "x", "lang": "en" }))
        .error(422, "unknown_field");
    assert!(m.contains("`lang`"), "{m}");
    server
        .classify(&json!({ "articles": [{ "id": "a", "text": "x", "url": "u" }] }))
        .error(422, "unknown_field");
    let m = server
        .classify(&json!({ "probs": true }))
        .error(422, "invalid_request");
    assert!(m.contains("exactly one") && m.contains("got none"), "{m}");
    let m = server
        .classify(&json!({ "text": "x", "sentences": ["y"] }))
        .error(422, "invalid_request");
    assert!(m.contains("got text and sentences"), "{m}");
    server
        .classify(&json!({ "text": null }))
        .error(422, "invalid_request");
    let m = server
        .classify(&json!({ "text": "x", "explain": 0 }))
        .error(422, "invalid_request");
    assert!(m.contains("explain"), "{m}");
    // A whole number written as a float is a whole number, as in JSON Schema.
    assert_eq!(
        server
            .classify(&json!({ "text": "x", "explain": 2.0 }))
            .status,
        200
    );
    let m = server
        .classify(&json!({ "text": "x", "min_prob": { "mood": 0.5 } }))
        .error(422, "invalid_request");
    assert!(m.contains("no head \"mood\""), "{m}");
    server
        .classify(&json!({ "text": "x", "min_prob": 1.5 }))
        .error(422, "invalid_request");
    // The server is still well after all of that.
    assert_eq!(server.classify(&json!({ "text": "x" })).status, 200);
}

#[test]
fn a_request_over_the_timeout_is_answered_503() {
    let dir = tempdir();
    let server = Server::start(
        dir.path(),
        &["--timeout", "100ms", "--max-sentences", "100000"],
    );
    // A 300 KB body arrives in well under 100 ms on loopback; splitting, classifying and
    // explaining its 30,000 sentences takes far longer.
    let text = "Stop now. ".repeat(30_000);
    let m = server
        .classify(&json!({ "text": text, "explain": 100 }))
        .error(503, "timeout");
    assert!(m.contains("100 ms") && m.contains("--timeout"), "{m}");
    // The server goes on answering.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn a_timed_out_classification_stops_early() {
    if cfg!(debug_assertions) {
        // The default model's encoder takes minutes over one chunk of 256 long sentences in a
        // debug build, and the request after must answer within the 1 s timeout.
        eprintln!("skip: a debug build is too slow for this test; run cargo test --release");
        return;
    }
    let dir = tempdir();
    let server = Server::start(dir.path(), &["--timeout", "1s", "--max-body", "8MiB"]);
    // 10,000 long sentences (the default --max-sentences): far more than a second of work.
    let sentence = "Troops shelled the town overnight while envoys from both sides met in the \
                    capital for talks on a ceasefire, an exchange of prisoners and the return of \
                    refugees to their homes before the winter";
    let sentences: Vec<String> = (0..10_000).map(|i| format!("{sentence} {i}.")).collect();
    server
        .classify(&json!({ "sentences": sentences, "probs": true }))
        .error(503, "timeout");
    // The classification notices that its request is gone and stops before its end.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let m = server.get("/metrics").text();
        let stopped = samples(&m, "newsclass_classifications_stopped_total");
        if stopped == [(String::new(), 1.0)] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the classification did not stop: {stopped:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The server answers the next request, in full.
    let a = server.classify(&json!({ "sentences": ["Envoys met for talks."] }));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json();
    assert_eq!(v["sentences"].as_array().unwrap().len(), 1);
    assert_eq!(v["sentences"][0]["text"], "Envoys met for talks.");
}

#[test]
fn a_body_still_arriving_at_the_timeout_is_answered_503() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &["--timeout", "1s"]);
    // A valid request padded with JSON whitespace: half of it now, the rest one byte per 10 ms,
    // so the body is still arriving (for 25 s) when the 1 s timeout ends the request.
    let mut body = json!({ "text": "Troops shelled the town." })
        .to_string()
        .into_bytes();
    body.resize(5000, b' ');
    let (mut slow, rest) = server.half_sent(&body);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickle = {
        let mut w = slow.try_clone().unwrap();
        let rest = rest.to_vec();
        let stop = stop.clone();
        std::thread::spawn(move || {
            for b in rest {
                // The server may close once it has answered: then the writes fail.
                if stop.load(std::sync::atomic::Ordering::Relaxed) || w.write_all(&[b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // The answer: the 503 JSON error, whole, then the end of the connection.
    let a = read_answer(&mut slow);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickle.join().unwrap();
    let m = a.error(503, "timeout");
    assert!(m.contains("1000 ms") && m.contains("--timeout"), "{m}");
    assert_eq!(a.header("connection"), Some("close"), "{:?}", a.headers);
    let mut after = Vec::new();
    match slow.read_to_end(&mut after) {
        Ok(_) => assert!(after.is_empty(), "{:?}", String::from_utf8_lossy(&after)),
        // A reset once the whole answer was read is an end too.
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
    }
    // Counted and logged as a 503 `timeout`; the server goes on answering.
    let metrics = server.get("/metrics").text();
    let requests = samples(&metrics, "newsclass_http_requests_total");
    assert!(
        requests.contains(&(
            r#"route="/v1/classify",method="POST",status="503""#.into(),
            1.0
        )),
        "{requests:?}"
    );
    let errors = samples(&metrics, "newsclass_http_errors_total");
    assert!(
        errors.contains(&(r#"route="/v1/classify",code="timeout""#.into(), 1.0)),
        "{errors:?}"
    );
    // The log line is written after the answer: wait for it.
    let log = server.access_log(1);
    assert_eq!(log[0]["path"], "/v1/classify", "{log:?}");
    assert_eq!(log[0]["status"], 503, "{log:?}");
    assert_eq!(log[0]["error"], "timeout", "{log:?}");
    assert_eq!(server.classify(&json!({ "text": "x" })).status, 200);
}

#[test]
fn a_token_guards_every_endpoint_but_healthz() {
    let dir = tempdir();
    for server in [
        Server::start(dir.path(), &["--token", "s3cret"]),
        Server::start_env(dir.path(), &[], &[("NEWSCLASS_TOKEN", "s3cret")]),
    ] {
        let body = br#"{"text": "Troops shelled the town."}"#;
        let json_ct = ("Content-Type", "application/json");
        let a = server.request("POST", "/v1/classify", &[json_ct], body);
        a.error(401, "unauthorized");
        assert_eq!(a.header("www-authenticate"), Some("Bearer"));
        server
            .request(
                "POST",
                "/v1/classify",
                &[json_ct, ("Authorization", "Bearer wrong")],
                body,
            )
            .error(401, "unauthorized");
        server
            .request(
                "POST",
                "/v1/classify",
                &[json_ct, ("Authorization", "Basic s3cret")],
                body,
            )
            .error(401, "unauthorized");
        let ok = server.request(
            "POST",
            "/v1/classify",
            &[json_ct, ("Authorization", "Bearer s3cret")],
            body,
        );
        assert_eq!(ok.status, 200, "{}", ok.text());
        for path in ["/v1/model", "/metrics", "/openapi.json"] {
            server.get(path).error(401, "unauthorized");
            let a = server.request("GET", path, &[("Authorization", "bearer s3cret")], b"");
            assert_eq!(a.status, 200, "{path}");
        }
        assert_eq!(server.get("/healthz").status, 200);
        // The page's form is open; its post needs the token in a field (or a header).
        assert_eq!(server.get("/").status, 200);
        assert!(server.get("/").text().contains("name=\"token\""));
        server.form("text=Troops+shelled+the+town.").page_error(401);
        server
            .form("text=Troops+shelled+the+town.&token=wrong")
            .page_error(401);
        assert_eq!(
            server
                .form("text=Troops+shelled+the+town.&token=s3cret")
                .status,
            200
        );
    }
    // Without a token nothing is asked.
    let open = Server::start(dir.path(), &[]);
    assert_eq!(open.get("/v1/model").status, 200);
}

#[test]
fn non_loopback_addresses_need_a_token_and_bad_flags_are_refused() {
    let dir = tempdir();
    let serve = |args: &[&str]| {
        let mut full = vec!["serve"];
        full.extend_from_slice(args);
        newsclass(dir.path())
            .args(&full)
            .env_remove("NEWSCLASS_TOKEN")
            .write_stdin("")
            .output()
            .expect("run newsclass")
    };
    assert_user_error(
        &serve(&["--addr", "0.0.0.0:0"]),
        &[
            "refusing to listen on 0.0.0.0:0",
            "--token",
            "NEWSCLASS_TOKEN",
            "--insecure-no-token",
        ],
    );
    assert_user_error(&serve(&["--addr", "[::]:0"]), &["refusing to listen"]);
    // With a token, or --insecure-no-token, the check passes: 192.0.2.1 (TEST-NET-1, never a
    // local address) then fails to bind, so nothing ever listens beyond loopback.
    for extra in [&["--token", "t"][..], &["--insecure-no-token"][..]] {
        let mut args = vec!["--addr", "192.0.2.1:0"];
        args.extend_from_slice(extra);
        assert_user_error(&serve(&args), &["cannot listen on 192.0.2.1:0", "--addr"]);
    }
    assert_user_error(&serve(&["--addr", "nowhere"]), &["--addr", "HOST:PORT"]);
    assert_user_error(&serve(&["--max-body", "0"]), &["--max-body"]);
    assert_user_error(&serve(&["--max-body", "1TB"]), &["--max-body"]);
    assert_user_error(&serve(&["--timeout", "0s"]), &["--timeout"]);
    assert_user_error(&serve(&["--max-sentences", "0"]), &["--max-sentences"]);
    assert_user_error(&serve(&["--token", ""]), &["--token"]);
    assert_user_error(&serve(&["--token", "a b"]), &["--token"]);
    assert_user_error(
        &serve(&["--model", "missing.newsclass"]),
        &["missing.newsclass"],
    );
}

/// The samples of a metric (`name{labels} value`), by their label text.
fn samples(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ').expect("name and value");
            let (n, labels) = match key.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}').expect("closing brace")),
                None => (key, ""),
            };
            (n == name).then(|| (labels.to_string(), value.parse().expect("a number")))
        })
        .collect()
}

#[test]
fn metrics_count_requests_errors_latency_and_sentences() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &["--quiet"]);
    server.classify(&json!({ "text": "One. Two. Three." }));
    server.classify(&json!({ "sentences": ["a", "b"] }));
    server.post(b"{").error(400, "invalid_json");
    server.get("/nowhere").error(404, "not_found");
    let a = server.get("/metrics");
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = a.text();
    // The format: every sample line is `name{labels} value` or `name value`, after its TYPE.
    let mut typed = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            typed.push(name.to_string());
        } else if !line.starts_with("# HELP ") {
            let name = line.split(['{', ' ']).next().unwrap();
            let base = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(
                typed.iter().any(|t| t == name || t == base),
                "no TYPE before {line}"
            );
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
    let requests = samples(&text, "newsclass_http_requests_total");
    let count = |labels: &str| {
        requests
            .iter()
            .find(|(l, _)| l == labels)
            .map_or(0.0, |(_, v)| *v)
    };
    assert_eq!(
        count(r#"route="/v1/classify",method="POST",status="200""#),
        2.0
    );
    assert_eq!(
        count(r#"route="/v1/classify",method="POST",status="400""#),
        1.0
    );
    assert_eq!(count(r#"route="unmatched",method="GET",status="404""#), 1.0);
    let errors = samples(&text, "newsclass_http_errors_total");
    assert!(errors.contains(&(r#"route="/v1/classify",code="invalid_json""#.into(), 1.0)));
    assert!(errors.contains(&(r#"route="unmatched",code="not_found""#.into(), 1.0)));
    assert_eq!(
        samples(&text, "newsclass_sentences_classified_total"),
        [(String::new(), 5.0)]
    );
    assert_eq!(
        samples(&text, "newsclass_http_requests_in_flight"),
        [(String::new(), 1.0)]
    );
    // The histogram: cumulative buckets ending in +Inf, equal to _count.
    let buckets: Vec<(String, f64)> =
        samples(&text, "newsclass_http_request_duration_seconds_bucket")
            .into_iter()
            .filter(|(l, _)| l.starts_with(r#"route="/v1/classify""#))
            .collect();
    assert_eq!(buckets.len(), 15);
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "{buckets:?}");
    assert_eq!(
        buckets.last().unwrap().0,
        r#"route="/v1/classify",le="+Inf""#
    );
    assert_eq!(buckets.last().unwrap().1, 3.0);
    assert_eq!(
        samples(&text, "newsclass_http_request_duration_seconds_count")
            .into_iter()
            .find(|(l, _)| l == r#"route="/v1/classify""#)
            .unwrap()
            .1,
        3.0
    );
    // --quiet: no access log.
    assert!(!server.stderr().contains("\"path\""), "{}", server.stderr());
}

#[test]
fn the_access_log_has_one_json_line_per_request() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &[]);
    server.classify(&json!({ "text": "One. Two." }));
    server.get("/nowhere");
    server.get("/healthz");
    // The line is written after the answer: wait for all three.
    let lines = server.access_log(3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["path"], "/v1/classify");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["sentences"], 2);
    assert!(lines[0]["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        keys(&lines[0]),
        [
            "latency_ms",
            "method",
            "path",
            "sentences",
            "status",
            "time"
        ]
    );
    assert_eq!(lines[1]["status"], 404);
    assert_eq!(lines[1]["error"], "not_found");
    assert_eq!(lines[2]["path"], "/healthz");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let dir = tempdir();
    let server = Server::start(dir.path(), &[]);
    let body = json!({ "text": "Troops shelled the town. Envoys met for talks." }).to_string();
    // A client that has sent the headers and half of the body...
    let (mut slow, rest) = server.half_sent(body.as_bytes());
    // ...is in flight once the server counts two requests in flight (it and /metrics).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let m = server.get("/metrics").text();
        if samples(&m, "newsclass_http_requests_in_flight")[0].1 >= 2.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the request never started:\n{m}");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.terminate();
    while !server.stderr().contains("shutting down") {
        assert!(
            Instant::now() < deadline,
            "no shutdown: {}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Now the rest of the body: the answer is complete and right.
    slow.write_all(rest).unwrap();
    let a = read_answer(&mut slow);
    assert_eq!(a.status, 200, "{}", a.text());
    let sentences = a.json()["sentences"].as_array().unwrap().clone();
    assert_eq!(sentences.len(), 2);
    assert_eq!(sentences[1]["text"], "Envoys met for talks.");
    let stderr = server.stderr.clone();
    assert_eq!(server.wait(), Some(0));
    let log = stderr.lock().unwrap().clone();
    assert!(log.contains("newsclass: stopped"), "{log}");
    assert!(log.contains("\"status\":200,"), "{log}");
}

/// Form-encode `s` (every byte but unreserved ones as %XX).
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The opening tag of the sentence span `id` in `html`.
fn span_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no sentence {id}"));
    let start = html[..at].rfind("<span").unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// Assert that `html` shows every record of `predict` as a tinted, marked sentence span.
fn assert_page_matches(html: &str, records: &[Value]) {
    assert_eq!(
        html.matches("tabindex=\"0\" id=\"a1-s").count(),
        records.len(),
        "sentence spans"
    );
    for r in records {
        let tag = span_tag(html, &format!("a1-s{}", r["sentence"]));
        let tint = format!("data-tint=\"{}\"", r["topic"]["label"].as_str().unwrap());
        let mark = format!("data-mark=\"{}\"", r["stance"]["label"].as_str().unwrap());
        assert!(tag.contains(&tint) && tag.contains(&mark), "{tag} vs {r}");
    }
}

#[test]
fn the_page_labels_a_posted_article_as_predict_does() {
    let dir = tempdir();
    let article = repo_file("data/example-article.txt");
    let text = std::fs::read_to_string(&article).unwrap();
    let server = Server::start(dir.path(), &["--max-sentences", "20"]);
    let empty = server.get("/");
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = empty.text();
    for needle in [
        "<form class=\"paste\" method=\"post\" action=\"/\"",
        "<textarea id=\"text\" name=\"text\"",
        "<button type=\"submit\">Classify</button>",
        "form-action &#39;self&#39;",
    ] {
        assert!(html.contains(needle), "{needle} missing:\n{html}");
    }
    assert!(!html.contains("<script") && !html.contains("name=\"token\""));
    let a = server.form(&format!("text={}", urlencode(&text)));
    assert_eq!(a.status, 200, "{}", a.text());
    let html = a.text();
    let records = predict_records(dir.path(), &[article.to_str().unwrap()]);
    assert_page_matches(&html, &records);
    // The text stays in the form; every head's probabilities and top terms are in the details.
    assert!(html.contains(&newsclass::html::escape(text.trim_end())));
    assert_eq!(
        html.matches("<span class=\"tt\">terms:").count(),
        2 * records.len()
    );
    assert!(html.contains("class=\"legend\"") && html.contains("<svg"));
    assert!(!html.contains("<script"));
    // The page's own errors: as a page, with the status of the API's.
    let m = server
        .form(&format!("text={}", urlencode(&"Stop. ".repeat(21))))
        .page_error(413);
    assert!(m.contains("21 sentences"), "{m}");
    server.form("nope=1").page_error(422);
    server.form("text=%FF").page_error(400);
    server
        .request("POST", "/", &[("Content-Type", "application/json")], b"{}")
        .page_error(415);
}

// ---------------------------------------------------------------------------------------------
// The page in a real browser, driven over WebDriver (Debian's chromium and chromium-driver).

/// A program on PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// One WebDriver command; the answer's `value`.
fn wd(addr: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(addr).expect("connect to chromedriver");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let a = read_answer(&mut s);
    let v = a.json();
    assert_eq!(a.status, 200, "{method} {path}: {v}");
    v["value"].clone()
}

/// Decode standard base64.
fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && c != b'\n').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | u32::from(val(c)) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[test]
fn the_page_works_in_a_real_browser() {
    let (Some(chromium), Some(driver)) = (
        on_path(&["chromium", "chromium-browser"]),
        on_path(&["chromedriver"]),
    ) else {
        eprintln!("skipped: chromium and chromedriver are not both on PATH (apt-get install chromium chromium-driver)");
        return;
    };
    let dir = tempdir();
    let article = repo_file("data/example-article.txt");
    let text = std::fs::read_to_string(&article).unwrap();
    let server = Server::start(dir.path(), &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    /// Ends the browser session (so Chromium exits) and chromedriver when the test ends, passed
    /// or failed.
    struct Driver {
        child: Child,
        addr: String,
        session: Option<String>,
    }
    impl Drop for Driver {
        fn drop(&mut self) {
            if let Some(id) = self.session.take() {
                if let Ok(mut s) = TcpStream::connect(&self.addr) {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        s,
                        "DELETE /session/{id} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                        self.addr
                    );
                    let _ = s.read(&mut [0u8; 1024]);
                }
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
    let mut driver = Driver {
        child: Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
        addr: format!("127.0.0.1:{port}"),
        session: None,
    };
    let wd_addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(&wd_addr).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let profile = dir.path().join("profile");
    let session = wd(
        &wd_addr,
        "POST",
        "/session",
        Some(json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        }}})),
    );
    let id = session["sessionId"]
        .as_str()
        .expect("a session")
        .to_string();
    driver.session = Some(id.clone());
    let cmd = |method: &str, path: &str, body: Option<Value>| {
        wd(&wd_addr, method, &format!("/session/{id}{path}"), body)
    };
    let find = |css: &str| {
        cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    };
    cmd(
        "POST",
        "/url",
        Some(json!({ "url": format!("http://{}/", server.addr) })),
    );
    // Type the article and press the button.
    let area = find("#text");
    cmd(
        "POST",
        &format!("/element/{area}/value"),
        Some(json!({ "text": text })),
    );
    let button = find("button[type=submit]");
    cmd("POST", &format!("/element/{button}/click"), Some(json!({})));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let spans = cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": "span.s" })),
        );
        if spans.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "no labeled sentences appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    let html = cmd("GET", "/source", None).as_str().unwrap().to_string();
    let records = predict_records(dir.path(), &[article.to_str().unwrap()]);
    assert_page_matches(&html, &records);
    // Keyboard: Tab from the text area reaches the first sentence, whose details then show.
    let first = find("#a1-s1");
    let area = find("#text");
    cmd("POST", &format!("/element/{area}/click"), Some(json!({})));
    let mut reached = false;
    for _ in 0..6 {
        cmd(
            "POST",
            "/actions",
            Some(
                json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                    { "type": "keyDown", "value": "\u{E004}" }, { "type": "keyUp", "value": "\u{E004}" }
                ]}]}),
            ),
        );
        if cmd("GET", "/element/active", None)[ELEMENT] == json!(first) {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the first sentence");
    let tip = find("#a1-s1-d");
    let shown = cmd("GET", &format!("/element/{tip}/displayed"), None);
    assert_eq!(
        shown,
        json!(true),
        "the details of a focused sentence are hidden"
    );
    let screenshot = |name: &str| {
        let png = base64(cmd("GET", "/screenshot", None).as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    };
    screenshot("serve-page.png");
    // Readable at 400 px: nothing wider than the window.
    cmd(
        "POST",
        "/window/rect",
        Some(json!({ "width": 400, "height": 900 })),
    );
    let overflow = cmd(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            "args": []
        })),
    );
    assert_eq!(overflow, json!(0), "the page scrolls sideways at 400 px");
    screenshot("serve-page-400.png");
    // No console messages at all (errors, warnings, CSP reports).
    let log = cmd("POST", "/se/log", Some(json!({ "type": "browser" })));
    assert_eq!(log, json!([]), "console messages");
}
