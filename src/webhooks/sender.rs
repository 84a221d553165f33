//! The sender: one signed HTTP POST of a message to a listener, and what came of it. Only the
//! guarded resolver may turn a name into an address (no proxy, no redirects), and the answer
//! is kept as the delivery log shows it: status, error, the start of the body, `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::redirect::Policy;

use super::signing::signature_header;
use super::ssrf::{is_refusal, refuse_literal, GuardedResolver, REFUSED};

/// Longest response body kept in the delivery log, in bytes.
pub const MAX_LOGGED_BODY: usize = 4 * 1024;
/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3_600);

/// One message to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The `webhook-id`.
    pub id: &'a str,
    /// Checked by [`Sender::target`].
    pub url: &'a reqwest::Url,
    pub payload: &'a str,
    /// The secrets in force; each signs.
    pub secrets: &'a [String],
}

/// What one attempt gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub body: Option<String>,
    pub retry_after: Option<Duration>,
    /// The SSRF guard refused the target: trying again will not help.
    pub refused: bool,
}

impl Attempt {
    pub fn failed(reason: String) -> Attempt {
        Attempt {
            error: Some(loggable(&reason)),
            ..Attempt::default()
        }
    }

    /// The SSRF guard's refusal, worded alike whatever its cause.
    pub fn refused() -> Attempt {
        Attempt {
            error: Some(REFUSED.to_owned()),
            refused: true,
            ..Attempt::default()
        }
    }

    pub fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

pub struct Sender {
    client: reqwest::Client,
    timeout: Duration,
    allow_private_targets: bool,
}

impl Sender {
    /// A sender whose requests time out after `timeout`. Unless `allow_private_targets`, no
    /// request reaches a private, loopback or link-local address.
    pub fn new(timeout: Duration, allow_private_targets: bool) -> anyhow::Result<Sender> {
        // No proxy from the environment: a proxy would resolve and reach targets the SSRF guard
        // never sees.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(Policy::none())
            .timeout(timeout)
            .user_agent(concat!(
                "assessment-service-webhooks/",
                env!("CARGO_PKG_VERSION")
            ));
        if !allow_private_targets {
            client = client.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Sender {
            client: client.build()?,
            timeout,
            allow_private_targets,
        })
    }

    /// The URL to send to, or the failed attempt it makes: not a URL, or an internal address
    /// written as a literal (names are checked when they resolve).
    pub fn target(&self, url: &str) -> Result<reqwest::Url, Attempt> {
        let url: reqwest::Url = url
            .parse()
            .map_err(|error: url::ParseError| Attempt::failed(error.to_string()))?;
        if !self.allow_private_targets && refuse_literal(&url) {
            return Err(Attempt::refused());
        }
        Ok(url)
    }

    /// Posts `message`, signed for `sent_at`. Every failure is an [`Attempt`] with an error.
    pub async fn send(&self, message: Outgoing<'_>, sent_at: DateTime<Utc>) -> Attempt {
        let timestamp = sent_at.timestamp();
        let signature =
            match signature_header(message.secrets, message.id, timestamp, message.payload) {
                Ok(signature) => signature,
                Err(error) => return Attempt::failed(format!("{error:#}")),
            };
        let sent = self
            .client
            .post(message.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.payload.to_owned())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                return Attempt::failed(format!("timed out after {:?}", self.timeout))
            }
            Err(error) if is_refusal(&error) => return Attempt::refused(),
            Err(error) => return Attempt::failed(describe(&error)),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers(), sent_at);
        let mut body = Vec::new();
        while body.len() < MAX_LOGGED_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(MAX_LOGGED_BODY);
        Attempt {
            status_code: Some(status.as_u16()),
            error: (status.is_redirection())
                .then(|| format!("redirects are not followed (HTTP {})", status.as_u16())),
            body: Some(loggable(&String::from_utf8_lossy(&body))),
            retry_after,
            refused: false,
        }
    }
}

/// Text safe to store on both backends (PostgreSQL text refuses NUL).
fn loggable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The whole text of an error and its causes.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// How long the listener asked to wait (`Retry-After` in seconds or as a date, read at `now`),
/// capped at [`MAX_RETRY_AFTER`].
fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - now).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    use super::*;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date_and_capped() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            retry_after(&with_retry_after("120"), now),
            Some(Duration::from_secs(120))
        );
        let in_an_hour = (now + chrono::Duration::hours(1)).to_rfc2822();
        assert_eq!(
            retry_after(&with_retry_after(&in_an_hour), now),
            Some(Duration::from_secs(3_600))
        );
        let an_hour_ago = (now - chrono::Duration::hours(1)).to_rfc2822();
        assert_eq!(
            retry_after(&with_retry_after(&an_hour_ago), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(&with_retry_after("9999999"), now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
