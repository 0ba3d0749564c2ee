//! `newsclass serve`: the HTTP API over one loaded model.
//!
//! This file holds the flags and their checks; [`server`] the router, the middleware (token,
//! timeout, metrics, access log) and the handlers; [`classify`] the `POST /v1/classify` request
//! and its answer (the sentence objects of `predict --format jsonl`, from the same writer);
//! [`metrics`] the Prometheus counters. The library knows nothing of HTTP: everything here is
//! part of the binary, behind the `serve` feature.
//!
//! Classification (JSON parsing, sentence splitting, prediction, the answer's JSON) runs on
//! rayon's pool and is handed back over a oneshot channel, so the async runtime only moves
//! bytes.

mod classify;
mod metrics;
mod page;
mod server;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::args::usage;

/// Environment variable read for the token when `--token` is not given.
pub const TOKEN_ENV: &str = "NEWSCLASS_TOKEN";

#[derive(Debug, clap::Args)]
#[command(after_help = "Endpoints:
  GET  /              a page: paste an article, press Classify, see every sentence labeled
  POST /v1/classify   {\"text\": \"...\"} | {\"sentences\": [...]} | {\"articles\": [{\"id\", \"text\"}]},
                      optional \"probs\": true; answers with the objects of predict --format jsonl
  GET  /v1/model      the model header, as newsclass info prints it
  GET  /healthz       {\"status\": \"ok\"} (needs no token)
  GET  /metrics       Prometheus text: requests, errors, latency histogram, sentences
  GET  /openapi.json  OpenAPI 3.1 description of all of these

Errors are JSON: {\"error\": {\"code\": \"...\", \"message\": \"...\"}} with a 4xx/5xx status.
SIGTERM or Ctrl-C stops accepting connections and lets requests in flight finish.

Examples:
  newsclass serve
  newsclass serve --model my.newsclass --addr 127.0.0.1:9000 --max-body 4MiB
  NEWSCLASS_TOKEN=s3cret newsclass serve --addr 0.0.0.0:8080
  curl -s localhost:8080/v1/classify -H 'content-type: application/json' -d '{\"text\": \"Troops shelled the town.\"}'")]
pub struct Args {
    /// Model file, or a built-in model: `default` (TF-IDF + sentence encoder; used when
    /// --model is not given) or `fast` (TF-IDF only, hundreds of times faster).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The sentence encoder's directory, for a model trained with --encoder-embed none (which
    /// records only its encoder's identity); refused unless it is that encoder.
    #[cfg(feature = "encoder")]
    #[arg(long, value_name = "DIR")]
    encoder: Option<PathBuf>,
    /// Address to listen on, HOST:PORT; port 0 picks a free port. The bound address is printed
    /// on stderr at startup ("newsclass: listening on http://ADDR").
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Require "Authorization: Bearer TOKEN" on every endpoint but /healthz (default: the
    /// NEWSCLASS_TOKEN environment variable, if set).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// Listen on a non-loopback address without a token (anyone who reaches it can use it).
    #[arg(long)]
    insecure_no_token: bool,
    /// Largest request body: bytes, or with a unit (KiB, MiB, GiB).
    #[arg(long, value_name = "SIZE", default_value = "1MiB")]
    max_body: String,
    /// Most sentences one request may classify (after splitting articles), in all.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_sentences: usize,
    /// Longest a request may take, from its headers to its answer: seconds, or with a unit
    /// (500ms, 30s, 2m). A request over it is answered 503 (timeout), even while its body is
    /// still arriving; the classification of a `POST /v1/classify` over it stops at the next
    /// 256 sentences.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    timeout: String,
}

/// Everything the server needs, checked.
pub(crate) struct Config {
    pub addr: String,
    pub token: Option<String>,
    pub max_body: usize,
    pub max_sentences: usize,
    pub timeout: Duration,
    pub quiet: bool,
}

/// The largest `--max-body` accepted.
const MAX_BODY_LIMIT: usize = 1 << 30;

/// Parse `--max-body`: bytes, or a number with KiB / MiB / GiB (binary units).
fn parse_size(s: &str) -> anyhow::Result<usize> {
    let bad = || {
        usage(format!(
            "invalid value '{s}' for '--max-body': expected a size such as 1048576, 512KiB or 4MiB, from 1 byte to 1GiB"
        ))
    };
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num.parse().map_err(|_| bad())?;
    let mult: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(bad()),
    };
    let v = n.checked_mul(mult).ok_or_else(bad)?;
    if v == 0 || v > MAX_BODY_LIMIT {
        return Err(bad());
    }
    Ok(v)
}

/// Parse `--timeout`: seconds, or a number with ms / s / m.
fn parse_duration(s: &str) -> anyhow::Result<Duration> {
    let bad = || {
        usage(format!(
            "invalid value '{s}' for '--timeout': expected a duration such as 30, 500ms, 30s or 2m, above 0 and at most 1 hour"
        ))
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(bad()),
    };
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The token from `--token` or the environment; refused when empty or not printable ASCII.
fn resolve_token(flag: Option<String>) -> anyhow::Result<Option<String>> {
    let (token, from) = match flag {
        Some(t) => (Some(t), "--token"),
        None => (std::env::var(TOKEN_ENV).ok(), TOKEN_ENV),
    };
    match token {
        Some(t) if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) => Err(usage(format!(
            "{from} must be a non-empty token of printable ASCII characters without spaces"
        ))),
        t => Ok(t),
    }
}

/// The addresses `--addr` names.
fn resolve_addr(addr: &str) -> anyhow::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| {
            usage(format!(
                "invalid value '{addr}' for '--addr': {e}; expected HOST:PORT such as 127.0.0.1:8080"
            ))
        })?
        .collect();
    if addrs.is_empty() {
        return Err(usage(format!(
            "invalid value '{addr}' for '--addr': the host resolves to no address"
        )));
    }
    Ok(addrs)
}

pub fn run(a: Args, quiet: bool) -> anyhow::Result<()> {
    let max_body = parse_size(&a.max_body)?;
    let timeout = parse_duration(&a.timeout)?;
    if a.max_sentences == 0 {
        return Err(usage(
            "invalid value '0' for '--max-sentences': must be at least 1",
        ));
    }
    let token = resolve_token(a.token)?;
    let addrs = resolve_addr(&a.addr)?;
    if let Some(open) = addrs.iter().find(|s| !s.ip().is_loopback()) {
        if token.is_none() && !a.insecure_no_token {
            return Err(usage(format!(
                "refusing to listen on {open} (not a loopback address) without a token: anyone who can reach it could use the API; set --token or {TOKEN_ENV}, or pass --insecure-no-token"
            )));
        }
    }
    let (bytes, source) = super::info::model_bytes(a.model.as_ref())?;
    let header = newsclass::Pipeline::read_header(&bytes)
        .with_context(|| format!("loading model {source}"))?;
    #[cfg(feature = "encoder")]
    let encoder = match &a.encoder {
        Some(dir) => Some(std::sync::Arc::new(super::args::load_encoder(dir)?)),
        None => None,
    };
    #[cfg(not(feature = "encoder"))]
    let encoder = None;
    let model = newsclass::Pipeline::from_bytes_with_encoder(&bytes, encoder.as_ref())
        .with_context(|| format!("loading model {source}"))?;
    drop(bytes);
    let config = Config {
        addr: a.addr,
        token,
        max_body,
        max_sentences: a.max_sentences,
        timeout,
        quiet,
    };
    let info = super::info::printable(header);
    let model_name = source.label("the model ");
    server::run(config, model, model_name, &info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("512KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        for bad in ["0", "", "1MB", "-1", "2GiB", "1.5MiB", "MiB"] {
            assert!(parse_size(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        for bad in ["0", "", "-1s", "1h", "3601", "s", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn loopback_names_resolve_to_loopback() {
        let a = resolve_addr("127.0.0.1:0").unwrap();
        assert!(a.iter().all(|s| s.ip().is_loopback()));
        let b = resolve_addr("0.0.0.0:0").unwrap();
        assert!(b.iter().all(|s| !s.ip().is_loopback()));
        assert!(resolve_addr("not an address").is_err());
    }
}
