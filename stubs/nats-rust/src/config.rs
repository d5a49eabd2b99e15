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
    pub url: String,
    pub subject_prefix: String,
    pub ping_sec: u32,
    pub auth: Auth,
}

const DEFAULT_PREFIX: &str = "protofly";
const DEFAULT_PING_SEC: u32 = 30;
// Timers take u32 milliseconds; a day is already far past any use.
const MAX_PING_SEC: u64 = 86_400;

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
    text_field(&top, "runtimeURL", "runtimeURL")?.ok_or("runtimeURL is required")?;
    let configuration = cbor::lookup(&top, "configuration").ok_or("configuration is required")?;
    let configuration = cbor::map_entries(configuration).map_err(|_| "configuration must be a map".to_string())?;

    let url = text_field(&configuration, "url", "configuration.url")?
        .filter(|u| !u.is_empty())
        .ok_or("configuration.url is required")?;
    let lower = url.to_ascii_lowercase();
    if !lower.starts_with("ws://") && !lower.starts_with("wss://") {
        return Err(format!("configuration.url must be a ws:// or wss:// URL, got \"{}\"", url));
    }
    let subject_prefix = text_field(&configuration, "subjectPrefix", "configuration.subjectPrefix")?
        .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
    if !subjects::valid_prefix(&subject_prefix) {
        return Err("configuration.subjectPrefix must be dot-separated tokens without wildcards or whitespace".into());
    }
    let ping_sec = match cbor::lookup(&configuration, "pingSec") {
        None => DEFAULT_PING_SEC,
        Some(item) if cbor::is_nil(item) => DEFAULT_PING_SEC,
        Some(item) => match cbor::uint(item) {
            Some(n) if (1..=MAX_PING_SEC).contains(&n) => n as u32,
            _ => return Err(format!("configuration.pingSec must be an integer from 1 to {}", MAX_PING_SEC)),
        },
    };

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
    Ok(Config { stub_url, url, subject_prefix, ping_sec, auth })
}
