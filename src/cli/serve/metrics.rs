//! The server's counters, rendered in the Prometheus text exposition format (version 0.0.4).
//!
//! * `newsclass_http_requests_total{route,method,status}`: requests answered;
//! * `newsclass_http_errors_total{route,code}`: answers with an error body, by its code;
//! * `newsclass_http_request_duration_seconds{route}`: a latency histogram, from the request's
//!   headers to its answer;
//! * `newsclass_sentences_classified_total`: sentences classified;
//! * `newsclass_classifications_stopped_total`: classifications stopped before their end because
//!   their request timed out;
//! * `newsclass_http_requests_in_flight`: requests being handled (this one included).
//!
//! `route` is the matched route (`/v1/classify`), or `unmatched` for paths the server does not
//! have, so a scan of random paths cannot grow the label set.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (`+Inf` follows).
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last entry is `+Inf`.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(&'static str, &'static str, u16), u64>,
    errors: BTreeMap<(&'static str, &'static str), u64>,
    latency: BTreeMap<&'static str, Histogram>,
    sentences: u64,
}

/// All counters of one server.
#[derive(Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
    in_flight: AtomicI64,
    stopped: AtomicU64,
}

/// Counts a request as in flight while it lives.
pub(crate) struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One finished request.
pub(crate) struct Observation {
    pub route: &'static str,
    pub method: &'static str,
    pub status: u16,
    pub error: Option<&'static str>,
    pub latency: Duration,
    pub sentences: usize,
}

impl Metrics {
    /// Count a request as started; it counts as finished when the guard drops.
    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Count a classification stopped before its end.
    pub(crate) fn stopped(&self) {
        self.stopped.fetch_add(1, Ordering::Relaxed);
    }

    /// Record a finished request.
    pub(crate) fn observe(&self, o: &Observation) {
        let secs = o.latency.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(BUCKETS.len());
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests.entry((o.route, o.method, o.status)).or_default() += 1;
        if let Some(code) = o.error {
            *m.errors.entry((o.route, code)).or_default() += 1;
        }
        let h = m.latency.entry(o.route).or_default();
        h.counts[bucket] += 1;
        h.sum += secs;
        m.sentences += o.sentences as u64;
    }

    /// The exposition text.
    pub(crate) fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            s,
            "# HELP newsclass_http_requests_total HTTP requests answered, by route, method and status.\n# TYPE newsclass_http_requests_total counter"
        );
        for ((route, method, status), n) in &m.requests {
            let _ = writeln!(
                s,
                "newsclass_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        let _ = writeln!(
            s,
            "# HELP newsclass_http_errors_total Answers with an error body, by route and error code.\n# TYPE newsclass_http_errors_total counter"
        );
        for ((route, code), n) in &m.errors {
            let _ = writeln!(
                s,
                "newsclass_http_errors_total{{route=\"{}\",code=\"{}\"}} {n}",
                escape(route),
                escape(code)
            );
        }
        let _ = writeln!(
            s,
            "# HELP newsclass_http_request_duration_seconds Time from a request's headers to its answer.\n# TYPE newsclass_http_request_duration_seconds histogram"
        );
        for (route, h) in &m.latency {
            let route = escape(route);
            let mut cumulative = 0;
            for (i, n) in h.counts.iter().enumerate() {
                cumulative += n;
                let le = BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(
                    s,
                    "newsclass_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                s,
                "newsclass_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nnewsclass_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}",
                h.sum
            );
        }
        let _ = writeln!(
            s,
            "# HELP newsclass_sentences_classified_total Sentences classified.\n# TYPE newsclass_sentences_classified_total counter\nnewsclass_sentences_classified_total {}",
            m.sentences
        );
        let _ = writeln!(
            s,
            "# HELP newsclass_classifications_stopped_total Classifications stopped before their end because their request timed out.\n# TYPE newsclass_classifications_stopped_total counter\nnewsclass_classifications_stopped_total {}",
            self.stopped.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            s,
            "# HELP newsclass_http_requests_in_flight Requests being handled, this one included.\n# TYPE newsclass_http_requests_in_flight gauge\nnewsclass_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        s
    }
}

/// A label value with `\`, `"` and line feeds escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(route: &'static str, status: u16, ms: u64, sentences: usize) -> Observation {
        Observation {
            route,
            method: "POST",
            status,
            error: (status >= 400).then_some("invalid_json"),
            latency: Duration::from_millis(ms),
            sentences,
        }
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_end_at_the_count() {
        let m = Metrics::default();
        m.observe(&obs("/v1/classify", 200, 0, 3));
        m.observe(&obs("/v1/classify", 200, 7, 2));
        m.observe(&obs("/v1/classify", 400, 20_000, 0));
        let text = m.render();
        assert!(text.contains(
            "newsclass_http_requests_total{route=\"/v1/classify\",method=\"POST\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "newsclass_http_errors_total{route=\"/v1/classify\",code=\"invalid_json\"} 1"
        ));
        assert!(text.contains(
            "newsclass_http_request_duration_seconds_bucket{route=\"/v1/classify\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "newsclass_http_request_duration_seconds_bucket{route=\"/v1/classify\",le=\"0.01\"} 2"
        ));
        assert!(text.contains(
            "newsclass_http_request_duration_seconds_bucket{route=\"/v1/classify\",le=\"10\"} 2"
        ));
        assert!(text.contains(
            "newsclass_http_request_duration_seconds_bucket{route=\"/v1/classify\",le=\"+Inf\"} 3"
        ));
        assert!(text
            .contains("newsclass_http_request_duration_seconds_count{route=\"/v1/classify\"} 3"));
        assert!(text.contains("newsclass_sentences_classified_total 5"));
        assert!(text.contains("newsclass_http_requests_in_flight 0"));
        assert!(text.contains("newsclass_classifications_stopped_total 0"));
        m.stopped();
        assert!(m
            .render()
            .contains("newsclass_classifications_stopped_total 1"));
    }

    #[test]
    fn in_flight_counts_live_guards() {
        let m = Metrics::default();
        let a = m.start();
        let b = m.start();
        assert!(m.render().contains("newsclass_http_requests_in_flight 2"));
        drop(a);
        drop(b);
        assert!(m.render().contains("newsclass_http_requests_in_flight 0"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
