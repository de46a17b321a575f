//! OAuth2 client-credentials sign-in for Microsoft 365 / Exchange Online (XOAUTH2), shared by
//! intake (IMAP) and the outbox (SMTP).
//!
//! A [`TokenProvider`] fetches an access token from the configured token endpoint, caches it, and
//! fetches a new one [`REFRESH_BEFORE`] before it expires, so that a long IDLE session or a
//! sending burst never signs in with a token about to lapse. It never logs a token or a secret.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::Oauth2;

/// A cached token is replaced this long before it expires.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OauthError {
    /// The endpoint could not be reached or answered 5xx: retry later.
    #[error("token endpoint {url} unreachable: {reason}")]
    Unavailable { url: String, reason: String },
    /// The endpoint refused the client (wrong id or secret, expired secret): an admin must act.
    #[error("token endpoint {url} refused the client: {reason}")]
    Refused { url: String, reason: String },
    #[error("cannot read the client secret: {0}")]
    Secret(String),
}

impl OauthError {
    pub fn is_transient(&self) -> bool {
        matches!(self, OauthError::Unavailable { .. })
    }
}

#[derive(Debug, Clone)]
struct Cached {
    token: String,
    expires_at: DateTime<Utc>,
}

/// Access tokens for one OAuth2 client, cached.
#[derive(Clone)]
pub struct TokenProvider {
    oauth2: Oauth2,
    http: reqwest::Client,
    cache: Arc<Mutex<Option<Cached>>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Seconds; Microsoft sends a number, some servers a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: Option<String>,
    error_description: Option<String>,
}

impl TokenProvider {
    pub fn new(oauth2: Oauth2) -> Self {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        TokenProvider {
            oauth2,
            http,
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// A valid access token, from the cache or freshly fetched.
    pub async fn token(&self, now: DateTime<Utc>) -> Result<String, OauthError> {
        let mut cache = self.cache.lock().await;
        let margin = chrono::Duration::from_std(REFRESH_BEFORE).unwrap_or_default();
        if let Some(cached) = cache.as_ref().filter(|c| c.expires_at - margin > now) {
            return Ok(cached.token.clone());
        }
        let fresh = self.fetch(now).await?;
        let token = fresh.token.clone();
        *cache = Some(fresh);
        Ok(token)
    }

    /// Forget the cached token (the server refused it): the next call fetches a new one.
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    async fn fetch(&self, now: DateTime<Utc>) -> Result<Cached, OauthError> {
        let url = self.oauth2.token_url.clone();
        let secret = self
            .oauth2
            .client_secret
            .reveal()
            .map_err(|e| OauthError::Secret(e.to_string()))?;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.oauth2.client_id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", self.oauth2.scope.as_str()),
        ];
        let response =
            self.http
                .post(&url)
                .form(&form)
                .send()
                .await
                .map_err(|e| OauthError::Unavailable {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| OauthError::Unavailable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        if status.is_server_error() {
            return Err(OauthError::Unavailable {
                url,
                reason: format!("HTTP {status}"),
            });
        }
        if !status.is_success() {
            let reason = serde_json::from_slice::<ErrorResponse>(&body)
                .ok()
                .and_then(|e| e.error_description.or(e.error))
                .unwrap_or_else(|| format!("HTTP {status}"));
            return Err(OauthError::Refused { url, reason });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| OauthError::Refused {
                url: url.clone(),
                reason: format!("unreadable token response: {e}"),
            })?;
        let seconds = match parsed.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_i64().unwrap_or(3600),
            Some(serde_json::Value::String(s)) => s.parse().unwrap_or(3600),
            _ => 3600,
        };
        tracing::info!(endpoint = %url, expires_in_s = seconds, "fetched an OAuth2 access token");
        Ok(Cached {
            token: parsed.access_token,
            expires_at: now + chrono::Duration::seconds(seconds),
        })
    }
}

/// The SASL XOAUTH2 initial response (before base64): `user=…^Aauth=Bearer …^A^A`.
pub fn xoauth2_response(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// Make rustls use the ring crypto provider process-wide (reqwest is built without one); calling
/// it again is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::config::Secret;

    /// A token endpoint on loopback answering each request with the next (status, body).
    async fn endpoint(answers: Vec<(u16, &'static str)>) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            for (status, body) in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap();
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(
                    request.contains("grant_type=client_credentials"),
                    "{request}"
                );
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(reply.as_bytes()).await.unwrap();
            }
        });
        (url, hits)
    }

    fn provider(url: String) -> TokenProvider {
        TokenProvider::new(Oauth2 {
            token_url: url,
            client_id: "client".into(),
            client_secret: Secret::Inline("secret".into()),
            scope: "https://outlook.office365.com/.default".into(),
            secret_expires: None,
        })
    }

    #[tokio::test]
    async fn a_token_is_cached_until_shortly_before_it_expires() {
        let (url, hits) = endpoint(vec![
            (200, r#"{"access_token":"one","expires_in":3600}"#),
            (200, r#"{"access_token":"two","expires_in":"3600"}"#),
        ])
        .await;
        let tokens = provider(url);
        let t0 = Utc::now();
        assert_eq!(tokens.token(t0).await.unwrap(), "one");
        assert_eq!(
            tokens
                .token(t0 + chrono::Duration::minutes(50))
                .await
                .unwrap(),
            "one"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        // Within five minutes of expiry: refreshed.
        assert_eq!(
            tokens
                .token(t0 + chrono::Duration::minutes(56))
                .await
                .unwrap(),
            "two"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_client_is_a_permanent_error_with_the_servers_reason() {
        let (url, _) = endpoint(vec![(
            401,
            r#"{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired."}"#,
        )])
        .await;
        let err = provider(url).token(Utc::now()).await.unwrap_err();
        assert!(!err.is_transient());
        assert!(
            err.to_string().contains("client secret keys are expired"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = provider(format!("http://127.0.0.1:{port}/token"))
            .token(Utc::now())
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err}");
    }
}
