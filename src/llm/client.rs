//! The HTTP side: one blocking chat-completions call (or the model list, `GET /models`) with a
//! deadline, retries with exponential backoff and jitter, a shared request pacer, and no key in any
//! message.

use rand::Rng;
use serde_json::Value;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest `Retry-After` we wait for; a server asking for more fails the request.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// First backoff delay; doubled on each retry, capped at [`MAX_BACKOFF`], then jittered to 50–100 %.
const BASE_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// A reply body larger than this is refused (a chat reply here is a few hundred bytes).
const MAX_BODY: u64 = 8 << 20;

/// Where the server is and how to authenticate. The key is private, never printed
/// (`Debug` is not derived) and scrubbed from every message this module builds.
#[derive(Clone)]
pub struct Endpoint {
    /// `…/v1`, without a trailing slash.
    pub base_url: String,
    api_key: Option<String>,
}

impl Endpoint {
    /// `base_url` with any trailing `/` removed; `api_key` empty means none.
    pub fn new(base_url: &str, api_key: Option<String>) -> Endpoint {
        Endpoint {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.is_empty()),
        }
    }

    /// The key from `PREFROUTE_LLM_API_KEY`, else `OPENAI_API_KEY` (never a SQL parameter).
    pub fn api_key_from_env() -> Option<String> {
        ["PREFROUTE_LLM_API_KEY", "OPENAI_API_KEY"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|k| !k.is_empty())
    }

    /// `text` with the key (if any) replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        match &self.api_key {
            Some(k) if k.len() >= 4 => text.replace(k.as_str(), "***"),
            _ => text.to_string(),
        }
    }
}

/// Request limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests in flight at once (≥ 1).
    pub max_concurrency: usize,
    /// Requests started per minute, at most; `None` = no limit.
    pub requests_per_minute: Option<f64>,
    /// Deadline of one attempt (connect, send, wait, read).
    pub timeout: Duration,
    /// Retries after the first attempt, on connection errors, timeouts, 429, 5xx and malformed replies.
    pub max_retries: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrency: 4,
            requests_per_minute: None,
            timeout: Duration::from_secs(60),
            max_retries: 4,
        }
    }
}

/// Why a call failed after its retries (or at once, for a 4xx).
#[derive(Clone, Debug, PartialEq)]
pub struct CallError {
    pub message: String,
    /// Whether the failure is transient (worth retrying).
    pub transient: bool,
}

/// A blocking OpenAI-compatible client, shared by the worker threads of one call.
pub struct Client {
    endpoint: Endpoint,
    limits: Limits,
    agent: ureq::Agent,
    next_slot: Mutex<Instant>,
    sent: AtomicU64,
}

impl Client {
    pub fn new(endpoint: Endpoint, limits: Limits) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(limits.timeout))
            .user_agent(concat!("prefroute/", env!("CARGO_PKG_VERSION")))
            .max_idle_connections_per_host(limits.max_concurrency.max(1))
            .build()
            .into();
        Client { endpoint, limits, agent, next_slot: Mutex::new(Instant::now()), sent: AtomicU64::new(0) }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// HTTP requests sent so far (attempts, retries included).
    pub fn requests_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Whether a TCP connection to the server's host and port opens within `within`. Sends no
    /// HTTP request, so a fully cached run still makes none.
    pub fn check_reachable(&self, within: Duration) -> Result<(), String> {
        let url = &self.endpoint.base_url;
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("'{url}' is not an http(s) URL"))?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return Err(format!("'{url}' is not an http(s) URL")),
        };
        let authority = rest.split('/').next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
            && !authority.ends_with(']');
        let host_port = if has_port { authority.to_string() } else { format!("{authority}:{default_port}") };
        let addrs: Vec<_> =
            host_port.to_socket_addrs().map_err(|e| format!("cannot resolve '{host_port}': {e}"))?.collect();
        let mut last = format!("no address for '{host_port}'");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, within) {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("cannot connect to {addr}: {e}"),
            }
        }
        Err(last)
    }

    /// POSTs `body` to `{base_url}/chat/completions` and returns the parsed JSON reply,
    /// retrying transient failures up to `max_retries` times.
    pub fn chat(&self, body: &Value) -> Result<Value, CallError> {
        self.call("/chat/completions", Some(&body.to_string()))
    }

    /// The ids of the models the server lists at `GET {base_url}/models` (the OpenAI list,
    /// `{"data": [{"id": …}, …]}`), in its order; retried like [`Client::chat`].
    pub fn models(&self) -> Result<Vec<String>, CallError> {
        let reply = self.call("/models", None)?;
        let bad = || CallError {
            message: self.endpoint.redact(&format!(
                "the reply is not a model list ({{\"data\": [{{\"id\": …}}]}}): {}",
                snippet(&reply.to_string())
            )),
            transient: false,
        };
        let data = reply.get("data").and_then(Value::as_array).ok_or_else(bad)?;
        data.iter().map(|m| m.get("id").and_then(Value::as_str).map(str::to_string).ok_or_else(bad)).collect()
    }

    /// One call (a POST of `body`, or a GET without one) to `{base_url}{path}`, with the retries.
    fn call(&self, path: &str, body: Option<&str>) -> Result<Value, CallError> {
        let mut attempt = 0u32;
        loop {
            let (result, retry_after) = self.attempt(path, body);
            match result {
                Ok(v) => return Ok(v),
                Err(e) if !e.transient || attempt >= self.limits.max_retries => {
                    let tries = if attempt > 0 {
                        format!(" (after {} attempts)", attempt + 1)
                    } else {
                        String::new()
                    };
                    return Err(CallError {
                        message: format!("{}{tries}", e.message),
                        transient: e.transient,
                    });
                }
                Err(_) => {
                    let backoff = BASE_BACKOFF.saturating_mul(1 << attempt.min(16)).min(MAX_BACKOFF);
                    let jitter = rand::rng().random_range(0.5..1.0);
                    let wait = retry_after.unwrap_or(Duration::ZERO).max(backoff.mul_f64(jitter));
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    /// Waits for this request's slot under `requests_per_minute`.
    fn pace(&self) {
        let Some(rpm) = self.limits.requests_per_minute else { return };
        let interval = Duration::from_secs_f64(60.0 / rpm);
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }

    /// One attempt; on failure also the server's `Retry-After`, if it sent one.
    fn attempt(&self, path: &str, body: Option<&str>) -> (Result<Value, CallError>, Option<Duration>) {
        self.pace();
        self.sent.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path}", self.endpoint.base_url);
        let auth = self.endpoint.api_key.as_ref().map(|key| format!("Bearer {key}"));
        let sent = match body {
            Some(body) => {
                let mut request = self.agent.post(&url).header("Content-Type", "application/json");
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.send(body)
            }
            None => {
                let mut request = self.agent.get(&url);
                if let Some(auth) = &auth {
                    request = request.header("Authorization", auth);
                }
                request.call()
            }
        };
        let transient =
            |message: String| CallError { message: self.endpoint.redact(&message), transient: true };
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return (Err(transient(describe_transport(&e, &self.limits))), None),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = response.body_mut().with_config().limit(MAX_BODY).read_to_string();
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                return (
                    Err(transient(format!("reading the reply: {}", describe_transport(&e, &self.limits)))),
                    None,
                )
            }
        };
        if status == 429 {
            if let Some(wait) = retry_after.filter(|w| *w > MAX_RETRY_AFTER) {
                let message = format!(
                    "HTTP 429 (rate limited) with Retry-After {} s, longer than the {} s we wait",
                    wait.as_secs(),
                    MAX_RETRY_AFTER.as_secs()
                );
                return (Err(CallError { message, transient: false }), None);
            }
            return (Err(transient(format!("HTTP 429 (rate limited): {}", snippet(&text)))), retry_after);
        }
        if status >= 500 {
            return (
                Err(transient(format!("HTTP {status} (server error): {}", snippet(&text)))),
                retry_after,
            );
        }
        if !(200..300).contains(&status) {
            let message = self.endpoint.redact(&format!("HTTP {status}: {}", snippet(&text)));
            return (Err(CallError { message, transient: false }), None);
        }
        match serde_json::from_str::<Value>(&text) {
            Ok(v) if v.is_object() => (Ok(v), None),
            _ => (Err(transient(format!("the reply is not a JSON object: {}", snippet(&text)))), None),
        }
    }
}

/// A transport error in a few words, with the attempt deadline for timeouts.
fn describe_transport(e: &ureq::Error, limits: &Limits) -> String {
    match e {
        ureq::Error::Timeout(_) => {
            format!("no complete reply within timeout := {} s", limits.timeout.as_secs_f64())
        }
        ureq::Error::ConnectionFailed => "connection refused or failed".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => format!("HTTP error: {other}"),
    }
}

/// The first 200 characters of a reply body, on one line.
fn snippet(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cut: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        format!("{cut}…")
    } else if cut.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_scrubbed_and_the_url_trimmed() {
        let e = Endpoint::new("http://127.0.0.1:1/v1/", Some("sk-SENTINEL-1234".into()));
        assert_eq!(e.base_url, "http://127.0.0.1:1/v1");
        assert_eq!(e.redact("bad key sk-SENTINEL-1234 here"), "bad key *** here");
        assert!(Endpoint::new("http://x/v1", Some(String::new())).api_key.is_none());
    }

    #[test]
    fn a_closed_port_is_unreachable() {
        // Bind then drop a listener: its port is free and nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let c = Client::new(Endpoint::new(&format!("http://127.0.0.1:{port}/v1"), None), Limits::default());
        assert!(c.check_reachable(Duration::from_secs(2)).is_err());
        let bad = Client::new(Endpoint::new("ftp://x/v1", None), Limits::default());
        assert!(bad.check_reachable(Duration::from_secs(1)).unwrap_err().contains("not an http"));
    }

    #[test]
    fn snippets_are_short_and_on_one_line() {
        assert_eq!(snippet(""), "(empty body)");
        assert_eq!(snippet("a\nb"), "a b");
        assert_eq!(snippet(&"x".repeat(300)).chars().count(), 201);
    }
}
