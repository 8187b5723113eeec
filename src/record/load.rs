//! The built-in HTTP load generator of `heapsnap record` (`--url`): `requests` requests per step, round-robin
//! over the URLs, from `concurrency` threads sharing one ureq Agent (a pool of keep-alive connections). Every
//! response body is read to the end (so its connection is reused) and dropped. Per step: requests, duration,
//! requests/s, status counts, errors (with a few distinct messages).
//!
//! The calling thread polls Ctrl-C and the target's liveness while the workers run; workers stop taking
//! requests once told to.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tungstenite::http::Uri;

use super::cdp::{socket_addr, Guard};
use super::process::TICK;

/// A validated load configuration.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// URLs, round-robin.
    pub urls: Vec<String>,
    /// HTTP method.
    pub method: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Vec<u8>>,
    /// Requests per step.
    pub requests: u64,
    /// Threads.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// What one step of load did.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct LoadFigures {
    /// Requests sent (answered or failed).
    pub requests: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response (connection refused or reset, timeout, ...).
    pub errors: u64,
    /// A few distinct error messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_samples: Vec<String>,
}

impl LoadFigures {
    /// Requests that failed: no response, or a 5xx status.
    pub fn failed(&self) -> u64 {
        self.errors
            + self
                .statuses
                .iter()
                .filter(|(s, _)| **s >= 500)
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    /// `1000 requests in 0.52 s (1923/s): 200 ×1000`.
    pub fn line(&self) -> String {
        let statuses: Vec<String> = self.statuses.iter().map(|(s, n)| format!("{s} ×{n}")).collect();
        let mut s = format!(
            "{} requests in {:.2} s ({:.0}/s): {}",
            self.requests,
            self.seconds,
            self.requests_per_s,
            if statuses.is_empty() {
                "no response".to_string()
            } else {
                statuses.join(", ")
            }
        );
        if self.errors > 0 {
            s.push_str(&format!(", {} errors ({})", self.errors, self.error_samples.join("; ")));
        }
        s
    }
}

/// Parse `Name: value`.
pub fn parse_header(h: &str) -> Result<(String, String)> {
    let (k, v) = h
        .split_once(':')
        .with_context(|| format!("--header {h:?}: expected `Name: value`"))?;
    anyhow::ensure!(!k.trim().is_empty(), "--header {h:?}: empty name");
    Ok((k.trim().to_string(), v.trim().to_string()))
}

/// Check a `--url`: http, and a loopback host unless `allow_remote`.
pub fn check_url(url: &str, allow_remote: bool) -> Result<()> {
    let uri: Uri = url.parse().with_context(|| format!("--url {url}: not a URL"))?;
    anyhow::ensure!(
        uri.scheme_str() == Some("http"),
        "--url {url}: only http:// URLs are supported"
    );
    let host = uri.host().with_context(|| format!("--url {url}: no host"))?;
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    anyhow::ensure!(
        loopback || allow_remote,
        "--url {url}: {host} is not a loopback address (add --allow-remote to load another host)"
    );
    Ok(())
}

/// Wait until every URL's port accepts a connection.
pub fn wait_for_ports(urls: &[String], timeout: Duration, guard: Guard) -> Result<()> {
    for url in urls {
        let addr = socket_addr(url)?;
        let end = Instant::now() + timeout;
        loop {
            guard()?;
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(_) => break,
                Err(e) if Instant::now() >= end => {
                    bail!(
                        "{url}: {addr} still refuses connections after {:.0} s ({e})",
                        timeout.as_secs_f64()
                    )
                }
                Err(_) => std::thread::sleep(TICK * 2),
            }
        }
    }
    Ok(())
}

/// Run one step of load. `progress(done)` is called from the polling thread.
pub fn run(spec: &LoadSpec, guard: Guard, progress: &mut dyn FnMut(u64)) -> Result<LoadFigures> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(spec.timeout))
        .max_idle_connections(spec.concurrency.max(1) * 2)
        .max_idle_connections_per_host(spec.concurrency.max(1))
        .build()
        .into();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let figures = Mutex::new(LoadFigures::default());
    let workers_left = AtomicU64::new(spec.concurrency.max(1) as u64);
    let start = Instant::now();
    let result = std::thread::scope(|s| {
        for _ in 0..spec.concurrency.max(1) {
            s.spawn(|| {
                let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
                let mut errors = 0u64;
                let mut samples: Vec<String> = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= spec.requests {
                        break;
                    }
                    let url = &spec.urls[(i % spec.urls.len() as u64) as usize];
                    match one_request(&agent, spec, url) {
                        Ok(status) => *statuses.entry(status).or_default() += 1,
                        Err(e) => {
                            errors += 1;
                            let msg = format!("{url}: {e}");
                            if samples.len() < 3 && !samples.contains(&msg) {
                                samples.push(msg);
                            }
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                if let Ok(mut f) = figures.lock() {
                    for (k, v) in statuses {
                        *f.statuses.entry(k).or_default() += v;
                    }
                    f.errors += errors;
                    for m in samples {
                        if f.error_samples.len() < 3 && !f.error_samples.contains(&m) {
                            f.error_samples.push(m);
                        }
                    }
                }
                workers_left.fetch_sub(1, Ordering::AcqRel);
            });
        }
        while workers_left.load(Ordering::Acquire) > 0 {
            if let Err(e) = guard() {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
            progress(done.load(Ordering::Relaxed));
            std::thread::sleep(TICK);
        }
        Ok(())
    });
    result?;
    let mut f = figures.into_inner().unwrap_or_default();
    f.requests = done.load(Ordering::Relaxed);
    f.seconds = start.elapsed().as_secs_f64();
    f.requests_per_s = if f.seconds > 0.0 {
        f.requests as f64 / f.seconds
    } else {
        0.0
    };
    Ok(f)
}

fn one_request(agent: &ureq::Agent, spec: &LoadSpec, url: &str) -> Result<u16, ureq::Error> {
    let mut req = ureq::http::Request::builder().method(spec.method.as_str()).uri(url);
    for (k, v) in &spec.headers {
        req = req.header(k, v);
    }
    let mut resp = match &spec.body {
        Some(b) => agent.run(req.body(b.as_slice())?)?,
        None => agent.run(req.body(())?)?,
    };
    let status = resp.status().as_u16();
    // Read the body to the end so the connection goes back to the pool.
    std::io::copy(&mut resp.body_mut().as_reader(), &mut std::io::sink())?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_unless_allowed() {
        assert!(check_url("http://127.0.0.1:3000/x", false).is_ok());
        assert!(check_url("http://localhost/x", false).is_ok());
        assert!(check_url("http://[::1]:80/", false).is_ok());
        let e = check_url("http://example.com/", false).unwrap_err().to_string();
        assert!(e.contains("--allow-remote"), "{e}");
        assert!(check_url("http://example.com/", true).is_ok());
        assert!(check_url("https://127.0.0.1/", false).is_err());
    }

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(parse_header("X-A:  b c ").unwrap(), ("X-A".into(), "b c".into()));
        assert!(parse_header("nocolon").is_err());
    }
}
