//! API keys: created once and shown once, stored only as SHA-256 hashes, scoped to an
//! organization, revocable. Keys carry 256 random bits, so a fast hash is enough: nobody can
//! guess a key from its hash by trying candidates.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::recent::Recent;
use crate::store::{self, Db};

/// Organization of keys created without one.
pub const DEFAULT_ORGANIZATION: &str = "default";
const KEY_PREFIX: &str = "ak_";

/// A key as listed: everything but the secret.
#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub name: String,
    pub organization_id: String,
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// Times as keys are listed: RFC 3339, UTC, whole seconds.
fn listed(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<store::api_keys::ApiKeyRow> for ApiKeyInfo {
    fn from(row: store::api_keys::ApiKeyRow) -> Self {
        ApiKeyInfo {
            id: row.id,
            name: row.name,
            organization_id: row.organization_id,
            key_prefix: row.key_prefix,
            created_at: listed(row.created_at.0),
            revoked_at: row.revoked_at.map(|at| listed(at.0)),
        }
    }
}

/// A key just created; the only time the key itself exists outside the client.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub info: ApiKeyInfo,
    pub api_key: String,
    /// The key's webhook signing secret (also at `GET /api/v2/webhooks/secret`).
    pub webhook_secret: String,
}

/// Who a request acts for.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub organization_id: String,
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

/// The start of a generated key, to tell keys apart in listings. Keys chosen by an operator
/// (`BOOTSTRAP_API_KEY`) show none: a part of a short secret would weaken it.
fn prefix_of(key: &str) -> String {
    if key.starts_with(KEY_PREFIX) && key.len() == KEY_PREFIX.len() + 64 {
        key.chars().take(KEY_PREFIX.len() + 8).collect()
    } else {
        String::new()
    }
}

/// Stores `key` (or a new random one) under `name` for `organization_id`, created `now`.
async fn insert(
    db: &Db,
    name: &str,
    organization_id: &str,
    key: String,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<CreatedApiKey>> {
    let row = store::api_keys::ApiKeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        organization_id: organization_id.to_owned(),
        key_prefix: prefix_of(&key),
        created_at: store::time::StoredTime(now),
        revoked_at: None,
    };
    if !store::api_keys::insert(db, &row, &hash_key(&key)).await? {
        return Ok(None);
    }
    let webhook_secret = crate::webhooks::signing::create(db, &row.id, now).await?;
    Ok(Some(CreatedApiKey {
        info: row.into(),
        api_key: key,
        webhook_secret,
    }))
}

pub async fn create(
    db: &Db,
    name: &str,
    organization_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<CreatedApiKey> {
    insert(db, name, organization_id, new_key(), now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a freshly generated key collided with an existing one"))
}

/// Makes sure `key` is a valid key of the default organization. Returns whether it was added.
/// A key that exists but was revoked stays revoked.
pub async fn ensure(db: &Db, key: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    anyhow::ensure!(
        key.trim().len() >= 16,
        "BOOTSTRAP_API_KEY must be at least 16 characters"
    );
    Ok(insert(
        db,
        "bootstrap",
        DEFAULT_ORGANIZATION,
        key.trim().to_owned(),
        now,
    )
    .await?
    .is_some())
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    store::api_keys::count(db).await
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<ApiKeyInfo>> {
    let rows = store::api_keys::list(db).await?;
    Ok(rows.into_iter().map(ApiKeyInfo::from).collect())
}

/// Revokes the key with `id` as of `now`. Returns false if no such active key exists.
pub async fn revoke(db: &Db, id: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    store::api_keys::revoke(db, id, now).await
}

/// Known keys, by hash, for at most [`KEY_CACHE_TTL`]: most requests skip the database, and a
/// revocation (on any instance) takes effect within that time. Unknown keys are not kept.
#[derive(Debug)]
pub struct KeyCache {
    known: Recent<Caller>,
}

/// How long a key's owner is trusted without asking the database again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            known: Recent::new(KEY_CACHE_TTL),
        }
    }
}

impl KeyCache {
    /// The caller a presented key belongs to, if the key is known and not revoked.
    pub async fn authenticate(&self, db: &Db, presented: &str) -> anyhow::Result<Option<Caller>> {
        let hash = hash_key(presented);
        if let Some(caller) = self.known.get(&hash) {
            return Ok(Some(caller));
        }
        let owner = store::api_keys::active_owner(db, &hash).await?;
        let caller = owner.map(|owner| Caller {
            key_id: owner.id,
            organization_id: owner.organization_id,
        });
        match &caller {
            Some(caller) => self.known.put(hash, caller.clone()),
            None => self.known.forget(&hash),
        }
        Ok(caller)
    }
}
