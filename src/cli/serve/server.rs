//! The router, the middleware and the handlers of `newsclass serve`.
//!
//! Layers, outermost first: `observe` (in-flight gauge, metrics, access log), `authorize`
//! (bearer token), `deadline` (the request timeout), then the route. Every error is answered
//! as `{"error": {"code", "message"}}` with a 4xx/5xx status; the code is also what the access
//! log and the error counter show.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use newsclass::{ModelHeader, Pipeline};
use serde_json::json;

use super::metrics::{Metrics, Observation};
use super::page::{self, Outcome};
use super::{classify, Config};
use crate::cli::args::usage;

/// The OpenAPI description, as written by hand (the version is filled in at startup).
const OPENAPI: &str = include_str!("openapi.json");

/// Every route the server has, as the OpenAPI description lists them: (method, path).
pub(crate) const ROUTES: [(&str, &str); 7] = [
    ("GET", "/"),
    ("POST", "/"),
    ("POST", "/v1/classify"),
    ("GET", "/v1/model"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
];

/// The route label of requests that match no route.
const UNMATCHED: &str = "unmatched";

/// How much of an over-long body is read and dropped before answering 413, so that clients that
/// send the whole body before reading get the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 16 << 20;

/// How long the rest of a body still arriving when the request times out is read and dropped
/// (at most [`DRAIN_LIMIT`] bytes), while and after the 503 goes out: a client still sending
/// then reads the answer and the end of the connection, not a reset.
const TIMEOUT_DRAIN: Duration = Duration::from_secs(2);

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the body cannot be read as UTF-8 JSON.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: valid JSON that is not a valid request.
    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 413: more than a limit allows.
    pub(crate) fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

/// The error code of an answer, for the metrics and the access log.
#[derive(Debug, Clone, Copy)]
struct ErrorCode(&'static str);

/// How many sentences an answer classified.
#[derive(Debug, Clone, Copy)]
struct Classified(usize);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut r = json_response(
            self.status,
            serde_json::to_vec(&body).expect("a JSON value always serializes"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r.extensions_mut().insert(ErrorCode(self.code));
        r
    }
}

fn json_response(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// What every handler shares.
struct App {
    model: Pipeline,
    /// How the page names the model.
    model_name: String,
    /// The page's label colors and marks.
    theme: newsclass::html::Theme,
    config: Config,
    metrics: Metrics,
    model_json: Bytes,
    openapi: Bytes,
}

/// The OpenAPI text for this build and model: the version filled in, and the model's heads
/// spelled out where the hand-written text cannot know them (the head properties of a sentence,
/// the heads `min_prob` may name).
pub(crate) fn openapi_json(model: &Pipeline) -> Vec<u8> {
    let mut v: serde_json::Value =
        serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON (a unit test checks)");
    v["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    let heads: Vec<&str> = model.heads().iter().map(|h| h.name.as_str()).collect();
    let schemas = &mut v["components"]["schemas"];
    let per_head = |schema: serde_json::Value| {
        serde_json::Value::Object(
            heads
                .iter()
                .map(|h| (h.to_string(), schema.clone()))
                .collect(),
        )
    };
    let sentence = &mut schemas["SentenceResult"];
    for (h, s) in per_head(json!({ "$ref": "#/components/schemas/HeadResult" }))
        .as_object()
        .expect("an object")
    {
        sentence["properties"][h] = s.clone();
    }
    sentence["additionalProperties"] = json!(false);
    schemas["ClassifyRequest"]["properties"]["min_prob"]["oneOf"][1] = json!({
        "type": "object",
        "properties": per_head(json!({ "type": "number", "minimum": 0, "maximum": 1 })),
        "additionalProperties": false,
    });
    serde_json::to_vec_pretty(&v).expect("a JSON value always serializes")
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page_get).post(page_post))
        .route("/v1/classify", post(classify))
        .route("/v1/model", get(model_info))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(app.clone(), deadline))
        .layer(middleware::from_fn_with_state(app.clone(), authorize))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

/// Start the runtime and serve until SIGTERM or Ctrl-C.
pub(crate) fn run(
    config: Config,
    model: Pipeline,
    model_name: String,
    info: &ModelHeader,
) -> anyhow::Result<()> {
    let openapi = Bytes::from(openapi_json(&model));
    let app = Arc::new(App {
        theme: newsclass::html::Theme::for_model(&model),
        model,
        model_name,
        config,
        metrics: Metrics::default(),
        model_json: Bytes::from(serde_json::to_vec(info)?),
        openapi,
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(app))
}

async fn serve(app: Arc<App>) -> anyhow::Result<()> {
    let addr = app.config.addr.clone();
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        usage(format!(
            "cannot listen on {addr}: {e}; choose another --addr"
        ))
    })?;
    let local = listener.local_addr()?;
    eprintln!("newsclass: listening on http://{local}");
    // Requests are bounded by the timeout; connections still open a little after that are cut.
    let grace = app.config.timeout + Duration::from_secs(5);
    let listener = listener.tap_io(|tcp| {
        // Answers go out in one write; without Nagle's delay.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal(grace))
        .await
        .context("serving")?;
    eprintln!("newsclass: stopped");
    Ok(())
}

/// Resolve on SIGTERM or Ctrl-C; then exit the process if connections are still open after
/// `grace`.
async fn shutdown_signal(grace: Duration) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    eprintln!("newsclass: shutting down: no new connections; finishing the requests in flight");
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        eprintln!(
            "newsclass: connections still open {:.0} s after the signal; exiting",
            grace.as_secs_f64()
        );
        std::process::exit(1);
    });
}

/// The `route` label of a request.
fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    matched
        .and_then(|m| ROUTES.iter().find(|(_, p)| *p == m.as_str()))
        .map_or(UNMATCHED, |(_, p)| p)
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Count, time and log every request.
async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let _in_flight = app.metrics.start();
    let route = route_label(req.extensions().get::<MatchedPath>());
    let method = method_label(req.method());
    let path = (!app.config.quiet).then(|| req.uri().path().to_string());
    let resp = next.run(req).await;
    let latency = start.elapsed();
    let o = Observation {
        route,
        method,
        status: resp.status().as_u16(),
        error: resp.extensions().get::<ErrorCode>().map(|e| e.0),
        latency,
        sentences: resp.extensions().get::<Classified>().map_or(0, |c| c.0),
    };
    app.metrics.observe(&o);
    if let Some(path) = path {
        access_log(&o, &path);
    }
    resp
}

/// One JSON line per request on stderr:
/// `{"time", "method", "path", "status", "latency_ms", "sentences"}`, and `"error"` with the
/// error code when the answer is an error.
fn access_log(o: &Observation, path: &str) {
    use std::io::Write;
    let mut line = format!(
        "{{\"time\":\"{}\",\"method\":\"{}\",\"path\":{},\"status\":{},\"latency_ms\":{},\"sentences\":{}",
        rfc3339_now(),
        o.method,
        json!(path),
        o.status,
        (o.latency.as_secs_f64() * 1e6).round() / 1e3,
        o.sentences
    );
    if let Some(code) = o.error {
        line.push_str(&format!(",\"error\":\"{code}\""));
    }
    line.push_str("}\n");
    // A closed stderr must not fail the request.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d)
}

fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

/// With a token set, every endpoint but `/healthz` and the page needs `Authorization: Bearer
/// TOKEN` (the page's form carries the token in a field, checked by `page_post`).
async fn authorize(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(token) = &app.config.token {
        if !["/healthz", "/"].contains(&req.uri().path()) {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, rest) = v.split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
                });
            match given {
                None => return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "this server needs a token: send the header \"Authorization: Bearer TOKEN\"",
                )
                .into_response(),
                Some(t) if !same_secret(t.as_bytes(), token.as_bytes()) => {
                    return ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "the bearer token is not the server's token",
                    )
                    .into_response()
                }
                Some(_) => {}
            }
        }
    }
    next.run(req).await
}

/// Compare two secrets in time that depends only on their lengths.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Answer 503 when a request takes longer than `--timeout` (reading its body included), with
/// `Connection: close`; the rest of a body still arriving is drained meanwhile.
async fn deadline(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let limit = app.config.timeout;
    let (parts, body) = req.into_parts();
    let body = SharedBody(Arc::new(std::sync::Mutex::new(body)));
    let req = Request::from_parts(parts, Body::new(body.clone()));
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            // The handler (and its copy of the body) is gone; this copy keeps hyper reading.
            tokio::spawn(body.drain());
            let mut r = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than the server's limit of {} ms (--timeout); send fewer sentences per request",
                    limit.as_millis()
                ),
            )
            .into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

/// A request body the handler reads while the timeout keeps a handle on it, so that what is
/// left of it can still be read after the handler was dropped.
#[derive(Clone)]
struct SharedBody(Arc<std::sync::Mutex<Body>>);

impl SharedBody {
    fn body(&self) -> std::sync::MutexGuard<'_, Body> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Read and drop the rest of the body: until its end, [`DRAIN_LIMIT`] bytes or
    /// [`TIMEOUT_DRAIN`], whichever comes first.
    async fn drain(self) {
        let mut seen = 0usize;
        let _ = tokio::time::timeout(TIMEOUT_DRAIN, async {
            while let Some(Ok(frame)) =
                std::future::poll_fn(|cx| Pin::new(&mut *self.body()).poll_frame(cx)).await
            {
                seen = seen.saturating_add(frame.data_ref().map_or(0, Bytes::len));
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        })
        .await;
    }
}

impl HttpBody for SharedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut *self.body()).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body().is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body().size_hint()
    }
}

/// Refuse a body that is not declared as UTF-8 JSON.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    check_media_type(headers, "application/json", "JSON")
}

/// Refuse a body that is not declared as `media` (in UTF-8, when a charset is named).
fn check_media_type(headers: &HeaderMap, media: &str, what_media: &str) -> Result<(), ApiError> {
    let refuse = |what: String| {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{what}; send the body as {what_media} with \"Content-Type: {media}\""),
        ))
    };
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return refuse("the request has no Content-Type".into());
    };
    let Ok(v) = v.to_str() else {
        return refuse("the Content-Type header is not readable text".into());
    };
    let mut parts = v.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(media) {
        return refuse(format!("Content-Type {essence:?} is not {media}"));
    }
    for p in parts {
        if let Some((k, val)) = p.split_once('=') {
            let val = val.trim().trim_matches('"');
            if k.trim().eq_ignore_ascii_case("charset") && !val.eq_ignore_ascii_case("utf-8") {
                return refuse(format!("charset {val:?} is not UTF-8"));
            }
        }
    }
    Ok(())
}

/// Read the body, up to `max` bytes.
async fn read_body(req: Request, max: usize) -> Result<Vec<u8>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let expects_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let too_large = |size: Option<u64>| {
        let size = size.map_or_else(|| "more".to_string(), |n| format!("{n} bytes"));
        ApiError::too_large(
            "body_too_large",
            format!(
                "the request body ({size}) is larger than the limit of {max} bytes; send less per request (the server's --max-body)"
            ),
        )
    };
    if declared.is_some_and(|n| n > max as u64) && expects_continue {
        // The client waits for "100 Continue" before sending: answer now.
        return Err(too_large(declared));
    }
    let mut body = req.into_body();
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n.min(max as u64) as usize));
    let mut seen = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(
                "body_read_failed",
                format!("could not read the request body: {e}"),
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > max {
            buf = Vec::new();
            if seen > max.saturating_add(DRAIN_LIMIT) {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if seen > max {
        return Err(too_large(declared));
    }
    Ok(buf)
}

/// `POST /v1/classify`.
async fn classify(State(app): State<Arc<App>>, req: Request) -> Result<Response, ApiError> {
    check_content_type(req.headers())?;
    let body = read_body(req, app.config.max_body).await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job = app.clone();
    // Dropped with this handler (when the request times out): the classification then stops.
    let cancel = classify::Cancel::default();
    let _stop = cancel.on_drop();
    rayon::spawn(move || {
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| {
            classify::answer(&job.model, &body, job.config.max_sentences, &cancel)
        }))
        .unwrap_or_else(|_| Err(ApiError::internal("classification failed unexpectedly").into()));
        let answer = match answer {
            Ok(a) => Ok(a),
            Err(classify::Failure::Refused(e)) => Err(e),
            Err(classify::Failure::Stopped) => {
                // Nobody waits for this answer any more.
                job.metrics.stopped();
                return;
            }
        };
        // The receiver is gone when the request timed out; then nobody needs the answer.
        let _ = tx.send(answer);
    });
    let answer = rx
        .await
        .map_err(|_| ApiError::internal("classification ended without an answer"))??;
    let mut r = json_response(StatusCode::OK, answer.body);
    r.extensions_mut().insert(Classified(answer.sentences));
    Ok(r)
}

/// An HTML answer.
fn html_response(status: StatusCode, html: String) -> Response {
    let mut r = Response::new(Body::from(html));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// The page with an error below the form, with the error's status and code.
fn page_error(app: &App, text: &str, e: ApiError) -> Response {
    let html = page::page(
        &app.theme,
        &app.model_name,
        text,
        app.config.token.is_some(),
        &Outcome::Error(e.message),
    );
    let mut r = html_response(e.status, html);
    r.extensions_mut().insert(ErrorCode(e.code));
    r
}

/// `GET /`: the empty form.
async fn page_get(State(app): State<Arc<App>>) -> Response {
    let html = page::page(
        &app.theme,
        &app.model_name,
        "",
        app.config.token.is_some(),
        &Outcome::Empty,
    );
    html_response(StatusCode::OK, html)
}

/// `POST /`: the form posted; the page with the article labeled.
async fn page_post(State(app): State<Arc<App>>, req: Request) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    if let Err(e) = check_media_type(req.headers(), "application/x-www-form-urlencoded", "a form") {
        return page_error(&app, "", e);
    }
    let body = match read_body(req, app.config.max_body).await {
        Ok(b) => b,
        Err(e) => return page_error(&app, "", e),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job = app.clone();
    rayon::spawn(move || {
        let app = &*job;
        let answer = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let form = match page::parse_form(&body) {
                Ok(f) => f,
                Err(e) => return page_error(app, "", e),
            };
            if let Some(token) = &app.config.token {
                let given = form.token.as_deref().or(bearer.as_deref());
                if !given.is_some_and(|g| same_secret(g.as_bytes(), token.as_bytes())) {
                    let e = ApiError::unauthorized(if given.is_none() {
                        "this server needs a token: fill in the Token field"
                    } else {
                        "the token is not the server's token"
                    });
                    return page_error(app, &form.text, e);
                }
            }
            let n = newsclass::text::sentences::split_sentences(&form.text).len();
            if n > app.config.max_sentences {
                let e = ApiError::too_large(
                    "too_many_sentences",
                    format!(
                        "The article has {n} sentences, more than the limit of {}: paste a shorter one.",
                        app.config.max_sentences
                    ),
                );
                return page_error(app, &form.text, e);
            }
            let article = page::classify(&app.model, &form.text);
            let n = article.sentences.len();
            let html = page::page(
                &app.theme,
                &app.model_name,
                &form.text,
                app.config.token.is_some(),
                &Outcome::Article(article),
            );
            let mut r = html_response(StatusCode::OK, html);
            r.extensions_mut().insert(Classified(n));
            r
        }));
        let _ = tx.send(answer.unwrap_or_else(|_| {
            page_error(
                app,
                "",
                ApiError::internal("classification failed unexpectedly"),
            )
        }));
    });
    match rx.await {
        Ok(r) => r,
        Err(_) => page_error(
            &app,
            "",
            ApiError::internal("classification ended without an answer"),
        ),
    }
}

/// `GET /v1/model`: the header `newsclass info` prints.
async fn model_info(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, app.model_json.clone())
}

/// `GET /healthz`.
async fn healthz() -> Response {
    json_response(StatusCode::OK, &br#"{"status":"ok"}"#[..])
}

/// `GET /metrics`.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut r = Response::new(Body::from(app.metrics.render()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// `GET /openapi.json`.
async fn openapi(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, app.openapi.clone())
}

fn endpoints() -> String {
    ROUTES
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no endpoint {}; the endpoints are {}",
            req.uri().path(),
            endpoints()
        ),
    )
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} does not take {}; the endpoints are {}",
            req.uri().path(),
            req.method(),
            endpoints()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Duration::from_millis(951_782_400_123)),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            rfc3339(Duration::from_secs(1_796_316_245)),
            "2026-12-03T16:44:05.000Z"
        );
    }

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
    }

    #[test]
    fn content_type_needs_json_in_utf8() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(check_content_type(&h("application/json")).is_ok());
        assert!(check_content_type(&h("Application/JSON; charset=UTF-8")).is_ok());
        assert!(check_content_type(&h("text/plain")).is_err());
        assert!(check_content_type(&h("application/json; charset=latin1")).is_err());
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn openapi_is_json_with_every_route_and_the_model_heads() {
        let data = newsclass::Dataset::new(["Troops shelled a town.", "Envoys met for talks."])
            .unwrap()
            .with_head("topic", ["security", "diplomacy"])
            .unwrap()
            .with_head("tone", ["bad", "good"])
            .unwrap();
        let params = newsclass::PipelineParams::default().check().unwrap();
        let model = Pipeline::fit(&params, &data).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&openapi_json(&model)).unwrap();
        let schemas = &v["components"]["schemas"];
        let sentence = &schemas["SentenceResult"]["properties"];
        assert_eq!(sentence["topic"]["$ref"], "#/components/schemas/HeadResult");
        assert_eq!(sentence["tone"]["$ref"], "#/components/schemas/HeadResult");
        let min_prob = &schemas["ClassifyRequest"]["properties"]["min_prob"]["oneOf"][1];
        let named: Vec<&String> = min_prob["properties"].as_object().unwrap().keys().collect();
        assert_eq!(named, ["tone", "topic"]);
        assert_eq!(v["openapi"], "3.1.0");
        for (method, path) in ROUTES {
            assert!(
                v["paths"][path][method.to_ascii_lowercase()].is_object(),
                "{method} {path} missing from openapi.json"
            );
        }
        let n_ops: usize = v["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|ops| ops.as_object().unwrap().len())
            .sum();
        assert_eq!(n_ops, ROUTES.len());
    }
}
