//! Standard Webhooks signatures (standardwebhooks.com): `v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, with `whsec_` secrets. Each API key has its own secret; a rotated-out
//! secret keeps signing beside the new one until its grace period ends.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;

use crate::store::{webhook_secrets, Db};

const SECRET_PREFIX: &str = "whsec_";

/// A new random secret in `whsec_` form.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `v1,…` signature of one message under one secret.
pub fn sign(secret: &str, message_id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: one signature per secret still in force.
pub fn signature_header(
    secrets: &[String],
    message_id: &str,
    timestamp: i64,
    body: &str,
) -> anyhow::Result<String> {
    let signatures = secrets
        .iter()
        .map(|secret| sign(secret, message_id, timestamp, body))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(signatures.join(" "))
}

/// The secret in force for a key, as `GET /api/v2/webhooks/secret` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SecretInfo {
    pub secret: String,
    pub version: i32,
    pub created_at: String,
    /// Until when the previous secret also signs, after a rotation.
    pub previous_secret_valid_until: Option<String>,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn rfc3339_of_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn insert(db: &Db, key_id: &str, version: i32, secret: &str) -> anyhow::Result<()> {
    let created_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    webhook_secrets::insert(db, key_id, version, secret, &created_at).await
}

/// Gives a key its first secret, and returns it.
pub async fn create(db: &Db, key_id: &str) -> anyhow::Result<String> {
    let secret = new_secret();
    insert(db, key_id, 1, &secret).await?;
    Ok(current(db, key_id).await?.secret)
}

/// The key's newest secret (created if the key has none yet).
pub async fn current(db: &Db, key_id: &str) -> anyhow::Result<SecretInfo> {
    loop {
        let rows = webhook_secrets::newest_two(db, key_id).await?;
        let Some(newest) = rows.first().cloned() else {
            insert(db, key_id, 1, &new_secret()).await?;
            continue;
        };
        let previous_secret_valid_until = rows
            .get(1)
            .and_then(|previous| previous.expires_ms)
            .filter(|expires| *expires > now_ms())
            .map(rfc3339_of_ms);
        return Ok(SecretInfo {
            secret: newest.secret,
            version: newest.version,
            created_at: newest.created_at,
            previous_secret_valid_until,
        });
    }
}

/// Starts a new secret; the ones in force keep signing for `grace`.
pub async fn rotate(
    db: &Db,
    key_id: &str,
    grace: std::time::Duration,
) -> anyhow::Result<SecretInfo> {
    let latest = current(db, key_id).await?;
    let until = now_ms() + grace.as_millis() as i64;
    webhook_secrets::expire_at(db, key_id, until).await?;
    insert(db, key_id, latest.version + 1, &new_secret()).await?;
    current(db, key_id).await
}

/// Every secret of the key that still signs, newest first.
pub async fn signing_secrets(db: &Db, key_id: &str) -> anyhow::Result<Vec<String>> {
    current(db, key_id).await?;
    webhook_secrets::in_force(db, key_id, now_ms()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector published with the Standard Webhooks specification.
    #[test]
    fn signs_the_published_test_vector() {
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn every_secret_in_force_signs() {
        let secrets = vec![new_secret(), new_secret()];
        let header = signature_header(&secrets, "msg_1", 1, "{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    }
}
