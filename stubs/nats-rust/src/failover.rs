// Which server to use: the configured ones in order, then those the servers
// announce in INFO (a cluster's other nodes), the first reachable winning.
// A lost server hands over to the next one at once; only when every server
// has failed since the last login is the outage total (DISCONNECTED), and
// the next round starts from the first server after a backoff.
use std::collections::BTreeSet;

const BACKOFF_FIRST_MS: u32 = 250;
const BACKOFF_MAX_MS: u32 = 10_000;
const MAX_LEARNED: usize = 64;

pub struct Servers {
    configured: Vec<String>,
    learned: Vec<String>,
    /// Learned URLs the host would not open: not in the descriptor's
    /// `connect` list, so never worth another try.
    refused: BTreeSet<String>,
    current: String,
    /// Servers that failed (or were lost) since the last login.
    failures: usize,
    backoff_ms: u32,
}

/// Scheme, host and port compared without case or a trailing slash.
fn same(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

impl Servers {
    /// `configured` is never empty (config.rs checks).
    pub fn new(configured: Vec<String>) -> Self {
        let current = configured.first().cloned().unwrap_or_default();
        Servers { configured, learned: Vec::new(), refused: BTreeSet::new(), current, failures: 0, backoff_ms: BACKOFF_FIRST_MS }
    }

    fn candidates(&self) -> Vec<&String> {
        self.configured.iter().chain(self.learned.iter()).collect()
    }

    pub fn current(&self) -> &str {
        &self.current
    }

    /// A round from the first server.
    pub fn restart(&mut self) -> Option<String> {
        self.failures = 0;
        self.current = self.candidates().first().map(|s| s.to_string())?;
        Some(self.current.clone())
    }

    /// The current server failed or was lost: the next one to try, or None
    /// when every server has failed since the last login.
    pub fn failed(&mut self) -> Option<String> {
        self.failures += 1;
        let list = self.candidates();
        if self.failures >= list.len() {
            return None;
        }
        let next = match list.iter().position(|s| same(s, &self.current)) {
            Some(at) => list.get((at + 1) % list.len()),
            None => list.first(),
        };
        self.current = next.map(|s| s.to_string())?;
        Some(self.current.clone())
    }

    pub fn logged_in(&mut self) {
        self.failures = 0;
        self.backoff_ms = BACKOFF_FIRST_MS;
    }

    /// How long to wait before the next round; doubles up to 10 s.
    pub fn backoff(&mut self) -> u32 {
        let delay = self.backoff_ms;
        self.backoff_ms = self.backoff_ms.saturating_mul(2).min(BACKOFF_MAX_MS);
        delay
    }

    /// The host would not open `url`. True if it was a learned one, now
    /// dropped for good; a configured one stays (the descriptor is wrong,
    /// and retrying with backoff is what a single server did).
    pub fn refuse(&mut self, url: &str) -> bool {
        if self.configured.iter().any(|c| same(c, url)) {
            return false;
        }
        self.learned.retain(|l| !same(l, url));
        self.refused.insert(url.to_ascii_lowercase());
        true
    }

    /// The servers the current one announces, as URLs; replaces what was
    /// learned before (a node that left the cluster is no longer listed).
    /// Returns the ones not known before.
    pub fn learn(&mut self, announced: Vec<String>) -> Vec<String> {
        let mut learned: Vec<String> = Vec::new();
        for url in announced {
            let known = self.configured.iter().chain(learned.iter()).any(|k| same(k, &url));
            if !known && !self.refused.contains(&url.to_ascii_lowercase()) && learned.len() < MAX_LEARNED {
                learned.push(url);
            }
        }
        let new = learned.iter().filter(|u| !self.learned.iter().any(|l| same(l, u))).cloned().collect();
        self.learned = learned;
        new
    }
}

/// `host:port` entries of INFO `connect_urls` / `ws_connect_urls` as URLs
/// with the scheme of the server that sent them; entries that could not
/// be a host and port are left out.
pub fn announced_urls(entries: Vec<String>, current: &str) -> Vec<String> {
    let scheme = if current.get(..6).map_or(false, |p| p.eq_ignore_ascii_case("wss://")) { "wss" } else { "ws" };
    entries
        .into_iter()
        .filter(|e| !e.is_empty() && e.len() <= 256 && !e.chars().any(|c| c <= ' ' || matches!(c, '/' | '?' | '#' | '@' | '\u{7f}')))
        .map(|hostport| format!("{}://{}", scheme, hostport))
        .collect()
}
