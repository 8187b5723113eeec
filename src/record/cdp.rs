//! The Chrome DevTools Protocol client of `heapsnap record`: one WebSocket session (tungstenite, sync) for the
//! whole series, so V8's object ids stay comparable; commands as JSON (serde_json) with increasing ids, events
//! handed to a callback while a reply is awaited (the snapshot's chunks stream through it), and target
//! discovery over HTTP (`/json/list`, ureq).
//!
//! Every read is bounded: the socket has a short read timeout, and between reads a guard checks Ctrl-C, that
//! the target is alive, and that no message came for longer than the caller's timeout.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};
use tungstenite::http::Uri;
use tungstenite::{Message, WebSocket};

use super::process::TICK;

/// Checked between reads: Ctrl-C, the target's liveness. An error ends the wait.
pub type Guard<'a> = &'a mut dyn FnMut() -> Result<()>;

/// One CDP session.
pub struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// Longest silence accepted while a reply is awaited.
    pub timeout: Duration,
    /// The endpoint.
    pub url: String,
}

/// Resolve the `host:port` of an `http://` or `ws://` URL.
pub fn socket_addr(url: &str) -> Result<SocketAddr> {
    let uri: Uri = url.parse().with_context(|| format!("not a URL: {url}"))?;
    let host = uri.host().with_context(|| format!("no host in {url}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("cannot resolve {host}"))
}

impl Cdp {
    /// Connect to a `ws://` endpoint.
    pub fn connect(url: &str, timeout: Duration) -> Result<Cdp> {
        let addr = socket_addr(url)?;
        let stream = TcpStream::connect_timeout(&addr, timeout).with_context(|| format!("cannot connect to {url}"))?;
        stream.set_nodelay(true).ok();
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let (ws, _) =
            tungstenite::client::client(url, stream).map_err(|e| anyhow!("WebSocket handshake with {url}: {e}"))?;
        ws.get_ref().set_read_timeout(Some(TICK * 4))?;
        Ok(Cdp {
            ws,
            next_id: 0,
            timeout,
            url: url.to_string(),
        })
    }

    /// Send `method(params)` and wait for its reply, handing every event that arrives meanwhile to `on_event`
    /// (method, params). Returns the reply's `result`; a CDP error becomes an error naming the method.
    pub fn call(
        &mut self,
        method: &str,
        params: Value,
        guard: Guard,
        on_event: &mut dyn FnMut(&str, Value) -> Result<()>,
    ) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        self.ws
            .send(Message::text(text))
            .map_err(|e| anyhow!("{method}: cannot send to the inspector: {e}"))?;
        let mut last = Instant::now();
        loop {
            guard()?;
            let msg = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
                {
                    if last.elapsed() > self.timeout {
                        bail!(
                            "{method}: no reply from the inspector within {:.0} s",
                            self.timeout.as_secs_f64()
                        );
                    }
                    continue;
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(gone(guard, format!("{method}: the inspector closed the connection")));
                }
                Err(e) => return Err(gone(guard, format!("{method}: the inspector connection failed: {e}"))),
            };
            last = Instant::now();
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(_) => {
                    return Err(gone(guard, format!("{method}: the inspector closed the connection")));
                }
                _ => continue,
            };
            let incoming: Incoming = serde_json::from_str(text.as_str())
                .map_err(|e| anyhow!("{method}: the inspector sent invalid JSON: {e}"))?;
            if let Some(m) = incoming.method {
                on_event(&m, incoming.params.unwrap_or(Value::Null))?;
            } else if incoming.id == Some(id) {
                if let Some(err) = incoming.error {
                    bail!(
                        "{method}: {}",
                        err.get("message").and_then(Value::as_str).unwrap_or("error")
                    );
                }
                return Ok(incoming.result.unwrap_or(Value::Null));
            }
        }
    }

    /// [`Cdp::call`] ignoring events.
    pub fn simple(&mut self, method: &str, params: Value, guard: Guard) -> Result<Value> {
        self.call(method, params, guard, &mut |_, _| Ok(()))
    }

    /// A handle on the session's socket (to shut it down from elsewhere).
    pub fn socket(&self) -> std::io::Result<TcpStream> {
        self.ws.get_ref().try_clone()
    }

    /// Close the session (best effort: the peer may be gone).
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// The connection is gone: most often because the target died, which the guard reports once the process has
/// exited (it may take a moment after its sockets closed); otherwise `msg`.
fn gone(guard: Guard, msg: String) -> anyhow::Error {
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        if let Err(e) = guard() {
            return e;
        }
        std::thread::sleep(TICK);
    }
    anyhow!(msg)
}

#[derive(Deserialize)]
struct Incoming {
    id: Option<u64>,
    method: Option<String>,
    params: Option<Value>,
    result: Option<Value>,
    error: Option<Value>,
}

/// One entry of `/json/list`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetInfo {
    /// `page`, `node`, `service_worker`, …
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Title (Node: the script path).
    #[serde(default)]
    pub title: String,
    /// URL (Node: `file://` of the script).
    #[serde(default)]
    pub url: String,
    /// Where to connect (absent when another client holds a page).
    #[serde(default)]
    pub web_socket_debugger_url: Option<String>,
}

/// `GET http://host:port/json/list`.
pub fn list_targets(base: &str, timeout: Duration) -> Result<Vec<TargetInfo>> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .into();
    let url = format!("{}/json/list", base.trim_end_matches('/'));
    let mut resp = agent.get(&url).call().map_err(|e| anyhow!("GET {url}: {e}"))?;
    let text = resp
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_string()
        .map_err(|e| anyhow!("GET {url}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("GET {url}: not a CDP target list: {e}"))
}

/// The `http://host:port` of an inspector's `ws://host:port/…` URL.
pub fn http_base(ws: &str) -> Result<String> {
    let uri: Uri = ws.parse().with_context(|| format!("not a URL: {ws}"))?;
    let auth = uri.authority().with_context(|| format!("no host in {ws}"))?;
    Ok(format!("http://{auth}"))
}
