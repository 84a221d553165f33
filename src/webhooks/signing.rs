//! Standard Webhooks signatures (standardwebhooks.com): `v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, with `whsec_` secrets. Each API key has its own secret; a rotated-out
//! secret keeps signing beside the new one until its grace period ends.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
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

/// Times as the secret endpoint shows them: RFC 3339, UTC, whole seconds.
fn shown(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Gives a key its first secret at `now`, and returns it.
pub async fn create(db: &Db, key_id: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    webhook_secrets::insert(db, key_id, 1, &new_secret(), now).await?;
    Ok(current(db, key_id, now).await?.secret)
}

/// The key's newest secret as of `now` (created if the key has none yet).
pub async fn current(db: &Db, key_id: &str, now: DateTime<Utc>) -> anyhow::Result<SecretInfo> {
    loop {
        let rows = webhook_secrets::newest_two(db, key_id).await?;
        let Some(newest) = rows.first().cloned() else {
            webhook_secrets::insert(db, key_id, 1, &new_secret(), now).await?;
            continue;
        };
        let previous_secret_valid_until = rows
            .get(1)
            .and_then(|previous| previous.expires_at)
            .filter(|expires| expires.0 > now)
            .map(|expires| shown(expires.0));
        return Ok(SecretInfo {
            secret: newest.secret,
            version: newest.version,
            created_at: shown(newest.created_at.0),
            previous_secret_valid_until,
        });
    }
}

/// Starts a new secret at `now`; the one it replaces keeps signing for `grace`. At most two
/// secrets sign at once: a rotation inside a grace period retires the oldest at once (the one
/// the previous rotation replaced), so repeated rotations cannot grow the signature header.
pub async fn rotate(
    db: &Db,
    key_id: &str,
    grace: std::time::Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<SecretInfo> {
    let latest = current(db, key_id, now).await?;
    webhook_secrets::retire_before(db, key_id, latest.version, now).await?;
    webhook_secrets::expire_at(db, key_id, now + grace).await?;
    webhook_secrets::insert(db, key_id, latest.version + 1, &new_secret(), now).await?;
    current(db, key_id, now).await
}

/// Every secret of the key that signs at `now`, newest first.
pub async fn signing_secrets(
    db: &Db,
    key_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    current(db, key_id, now).await?;
    webhook_secrets::in_force(db, key_id, now).await
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

    /// The grace period is decided by the times passed in, so it is tested without waiting
    /// for it to end.
    #[tokio::test]
    async fn a_rotated_out_secret_signs_until_its_grace_period_ends() {
        let (db, _folder) = crate::store::scratch_database().await;
        let clock = crate::clock::Clock::manual(DateTime::from_timestamp(1_000_000, 0).unwrap());
        let first = create(&db, "key-1", clock.now()).await.unwrap();
        assert_eq!(
            signing_secrets(&db, "key-1", clock.now()).await.unwrap(),
            vec![first.clone()]
        );

        clock.advance(std::time::Duration::from_secs(60));
        let grace = std::time::Duration::from_secs(3_600);
        let rotated = rotate(&db, "key-1", grace, clock.now()).await.unwrap();
        assert_eq!(rotated.version, 2);
        assert_eq!(
            rotated.previous_secret_valid_until.as_deref(),
            Some("1970-01-12T14:47:40Z")
        );
        let both = signing_secrets(&db, "key-1", clock.now()).await.unwrap();
        assert_eq!(both, [rotated.secret.clone(), first.clone()]);

        clock.advance(grace - std::time::Duration::from_millis(1));
        assert_eq!(
            signing_secrets(&db, "key-1", clock.now())
                .await
                .unwrap()
                .len(),
            2
        );
        clock.advance(std::time::Duration::from_millis(1));
        assert_eq!(
            signing_secrets(&db, "key-1", clock.now()).await.unwrap(),
            vec![rotated.secret.clone()]
        );
        let shown = current(&db, "key-1", clock.now()).await.unwrap();
        assert_eq!(shown.previous_secret_valid_until, None);
        assert_eq!(shown.created_at, "1970-01-12T13:47:40Z");
    }

    #[tokio::test]
    async fn rotations_inside_a_grace_period_keep_two_secrets_signing() {
        let (db, _folder) = crate::store::scratch_database().await;
        let clock = crate::clock::Clock::manual(DateTime::from_timestamp(1_000_000, 0).unwrap());
        let grace = std::time::Duration::from_secs(3_600);
        create(&db, "key-1", clock.now()).await.unwrap();
        let mut secrets = Vec::new();
        for _ in 0..5 {
            clock.advance(std::time::Duration::from_secs(1));
            secrets.push(rotate(&db, "key-1", grace, clock.now()).await.unwrap());
        }
        let signing = signing_secrets(&db, "key-1", clock.now()).await.unwrap();
        assert_eq!(
            signing,
            [secrets[4].secret.clone(), secrets[3].secret.clone()]
        );
        assert_eq!(
            signature_header(&signing, "msg_1", 1, "{}")
                .unwrap()
                .split(' ')
                .count(),
            2
        );
        // The one just replaced still signs for its whole grace period.
        clock.advance(grace - std::time::Duration::from_secs(1));
        assert_eq!(
            signing_secrets(&db, "key-1", clock.now())
                .await
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn every_secret_in_force_signs() {
        let secrets = vec![new_secret(), new_secret()];
        let header = signature_header(&secrets, "msg_1", 1, "{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    }
}
