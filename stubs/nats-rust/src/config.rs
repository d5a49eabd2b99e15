// The init config (CONTRACT.md, "Init config"), checked once so the rest of
// the stub can trust it.
use crate::cbor;
use crate::subjects;

pub enum Auth {
    None,
    User { username: String, password: Option<String> },
    Token(String),
}

pub struct Config {
    pub stub_url: String,
    /// Control messages come from here (CONTRACT.md).
    pub runtime_url: String,
    /// ws:// or wss:// URLs, in the order they are tried (`url` first).
    pub servers: Vec<String>,
    pub subject_prefix: String,
    pub ping_sec: u32,
    /// Messages held while no server is connected.
    pub max_queued: usize,
    /// Larger messages are answered 413 (the server's max_payload may lower it).
    pub max_message_bytes: usize,
    pub auth: Auth,
}

const DEFAULT_PREFIX: &str = "protofly";
const DEFAULT_PING_SEC: u32 = 30;
// Timers take u32 milliseconds; a day is already far past any use.
const MAX_PING_SEC: u64 = 86_400;
const DEFAULT_MAX_QUEUED: u64 = 10_000;
const MAX_MAX_QUEUED: u64 = 1_000_000;
const DEFAULT_MAX_MESSAGE_BYTES: u64 = 1 << 20;
// nats-server itself refuses a max_payload over 64 MB.
const MAX_MAX_MESSAGE_BYTES: u64 = 64 << 20;
const MAX_SERVERS: usize = 64;

fn text_field(entries: &[(String, &[u8])], key: &str, what: &str) -> Result<Option<String>, String> {
    match cbor::lookup(entries, key) {
        None => Ok(None),
        Some(item) if cbor::is_nil(item) => Ok(None),
        Some(item) => cbor::text(item).map(Some).ok_or_else(|| format!("{} must be a string", what)),
    }
}

pub fn parse(bytes: &[u8]) -> Result<Config, String> {
    let top = cbor::map_entries(bytes).map_err(|e| format!("init config must be a CBOR map ({})", e))?;
    let stub_url = text_field(&top, "stubURL", "stubURL")?.filter(|s| !s.is_empty()).ok_or("stubURL is required")?;
    let runtime_url = text_field(&top, "runtimeURL", "runtimeURL")?.ok_or("runtimeURL is required")?;
    let configuration = cbor::lookup(&top, "configuration").ok_or("configuration is required")?;
    let configuration = cbor::map_entries(configuration).map_err(|_| "configuration must be a map".to_string())?;

    let mut servers = Vec::new();
    if let Some(url) = text_field(&configuration, "url", "configuration.url")? {
        servers.push(ws_url(url, "configuration.url")?);
    }
    match cbor::lookup(&configuration, "servers") {
        None => {}
        Some(item) if cbor::is_nil(item) => {}
        Some(item) => {
            let items = cbor::array_items(item).map_err(|_| "configuration.servers must be a list of URLs".to_string())?;
            for item in items {
                let url = cbor::text(item).ok_or("configuration.servers must be a list of URLs")?;
                let url = ws_url(url, "configuration.servers")?;
                if !servers.contains(&url) {
                    servers.push(url);
                }
            }
        }
    }
    if servers.is_empty() {
        return Err("configuration.servers (or configuration.url) is required".into());
    }
    if servers.len() > MAX_SERVERS {
        return Err(format!("configuration.servers holds at most {} URLs", MAX_SERVERS));
    }
    let subject_prefix = text_field(&configuration, "subjectPrefix", "configuration.subjectPrefix")?
        .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
    if !subjects::valid_prefix(&subject_prefix) {
        return Err("configuration.subjectPrefix must be dot-separated tokens without wildcards or whitespace".into());
    }
    let ping_sec = uint_field(&configuration, "pingSec", DEFAULT_PING_SEC as u64, MAX_PING_SEC)? as u32;
    let max_queued = uint_field(&configuration, "maxQueued", DEFAULT_MAX_QUEUED, MAX_MAX_QUEUED)? as usize;
    let max_message_bytes = uint_field(&configuration, "maxMessageBytes", DEFAULT_MAX_MESSAGE_BYTES, MAX_MAX_MESSAGE_BYTES)? as usize;

    let auth = match cbor::lookup(&top, "credentials") {
        None => Auth::None,
        Some(item) if cbor::is_nil(item) => Auth::None,
        Some(item) => {
            let creds = cbor::map_entries(item).map_err(|_| "credentials must be a map or null".to_string())?;
            let username = text_field(&creds, "username", "credentials.username")?;
            let password = text_field(&creds, "password", "credentials.password")?;
            let token = text_field(&creds, "token", "credentials.token")?;
            match (username, password, token) {
                (None, None, None) => Auth::None,
                (None, None, Some(token)) => Auth::Token(token),
                (Some(username), password, None) => Auth::User { username, password },
                (None, Some(_), None) => return Err("credentials.password needs credentials.username".into()),
                _ => return Err("credentials hold either username and password or a token, not both".into()),
            }
        }
    };
    Ok(Config { stub_url, runtime_url, servers, subject_prefix, ping_sec, max_queued, max_message_bytes, auth })
}

fn ws_url(url: String, what: &str) -> Result<String, String> {
    let lower = url.to_ascii_lowercase();
    if !lower.starts_with("ws://") && !lower.starts_with("wss://") {
        return Err(format!("{} must be ws:// or wss:// URLs, got \"{}\"", what, url));
    }
    Ok(url)
}

/// `configuration.<key>`: an integer from 1 to `max`, `default` when absent.
fn uint_field(entries: &[(String, &[u8])], key: &str, default: u64, max: u64) -> Result<u64, String> {
    match cbor::lookup(entries, key) {
        None => Ok(default),
        Some(item) if cbor::is_nil(item) => Ok(default),
        Some(item) => match cbor::uint(item) {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("configuration.{} must be an integer from 1 to {}", key, max)),
        },
    }
}
