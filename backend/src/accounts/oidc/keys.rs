//! The keys that sign ID tokens, and JWS compact serialisation.
//!
//! Signing goes through OpenSSL (already linked for passkeys): constant-time RSA, unlike the
//! pure-Rust `rsa` crate (RUSTSEC-2023-0071). Private keys are stored as PKCS#8, sealed with
//! the data key; the JWKS is built from the public halves stored next to them.
//!
//! Rotation: a new key is published (in the JWKS) at once and signs from `active_from`, a
//! lead later, so apps that cache the JWKS have it before they meet a token it signed. A key
//! that has been replaced stays published until every ID token it signed has expired.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use openssl::{
    bn::{BigNum, BigNumContext},
    ec::{EcGroup, EcKey},
    ecdsa::EcdsaSig,
    hash::MessageDigest,
    nid::Nid,
    pkey::{PKey, Private},
    rsa::Rsa,
    sign::{Signer, Verifier},
};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{OidcError, OidcResult, ID_TOKEN_TTL};
use crate::{
    clock::Clock,
    data_key::{DataKeys, Purpose},
    ids::random_hex,
    store::{SigningKeyRecord, SigningKeyStore},
};

/// How long the JWKS and the active keys are kept in memory before the store is read again:
/// a rotation on another instance is seen within this (and published long before it signs).
const CACHE_TTL: Duration = Duration::from_secs(5);

/// A JWS signing algorithm an app may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: what every app accepts.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// Every algorithm, the default first.
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// Its JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this JOSE name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// A signing key, opened.
pub struct SigningKey {
    /// The `kid`.
    pub kid: String,
    /// Its algorithm.
    pub alg: Alg,
    /// When it starts signing.
    pub active_from: OffsetDateTime,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// The public half, as a JWK with `kid`, `alg` and `use`.
    pub jwk: Value,
    private: PKey<Private>,
}

fn crypto(e: openssl::error::ErrorStack) -> OidcError {
    OidcError::Internal(Box::new(e))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A new key pair, made at `now`, signing from `active_from`.
    pub fn generate(
        alg: Alg,
        active_from: OffsetDateTime,
        now: OffsetDateTime,
    ) -> OidcResult<Self> {
        let private = match alg {
            Alg::Rs256 => PKey::from_rsa(Rsa::generate(2048).map_err(crypto)?),
            Alg::Es256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(crypto)?;
                PKey::from_ec_key(EcKey::generate(&group).map_err(crypto)?)
            }
            Alg::EdDsa => PKey::generate_ed25519(),
        }
        .map_err(crypto)?;
        Self::with(random_hex(10), alg, private, active_from, now)
    }

    fn with(
        kid: String,
        alg: Alg,
        private: PKey<Private>,
        active_from: OffsetDateTime,
        created_at: OffsetDateTime,
    ) -> OidcResult<Self> {
        let mut jwk = public_jwk(alg, &private)?;
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        Ok(Self {
            kid,
            alg,
            active_from,
            created_at,
            jwk,
            private,
        })
    }

    /// The key in `record`, opened with the data key.
    fn open(record: &SigningKeyRecord, data: &DataKeys) -> OidcResult<Self> {
        let alg = Alg::parse(&record.alg)
            .ok_or_else(|| OidcError::Internal(format!("unknown alg {}", record.alg).into()))?;
        let der = data
            .open(Purpose::SigningKey, &record.kid, &record.sealed)
            .map_err(|e| OidcError::Internal(Box::new(e)))?;
        let private = PKey::private_key_from_pkcs8(&der).map_err(crypto)?;
        Self::with(
            record.kid.clone(),
            alg,
            private,
            record.active_from,
            record.created_at,
        )
    }

    fn record(&self, data: &DataKeys) -> OidcResult<SigningKeyRecord> {
        let der = self.private.private_key_to_pkcs8().map_err(crypto)?;
        Ok(SigningKeyRecord {
            kid: self.kid.clone(),
            alg: self.alg.as_str().to_owned(),
            sealed: data.seal(Purpose::SigningKey, &self.kid, &der),
            public_jwk: self.jwk.to_string(),
            created_at: self.created_at,
            active_from: self.active_from,
        })
    }

    /// A JWS in compact form of `claims`, signed with this key.
    pub fn sign_jwt(&self, claims: &Value) -> OidcResult<String> {
        let header = json!({ "alg": self.alg.as_str(), "kid": self.kid, "typ": "JWT" });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signature = self.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64(&signature)))
    }

    fn sign(&self, message: &[u8]) -> OidcResult<Vec<u8>> {
        match self.alg {
            Alg::Rs256 => Signer::new(MessageDigest::sha256(), &self.private)
                .and_then(|mut s| s.sign_oneshot_to_vec(message))
                .map_err(crypto),
            Alg::Es256 => {
                let der = Signer::new(MessageDigest::sha256(), &self.private)
                    .and_then(|mut s| s.sign_oneshot_to_vec(message))
                    .map_err(crypto)?;
                // JWS wants r and s, 32 bytes each, not DER.
                let sig = EcdsaSig::from_der(&der).map_err(crypto)?;
                let mut raw = sig.r().to_vec_padded(32).map_err(crypto)?;
                raw.extend(sig.s().to_vec_padded(32).map_err(crypto)?);
                Ok(raw)
            }
            Alg::EdDsa => Signer::new_without_digest(&self.private)
                .and_then(|mut s| s.sign_oneshot_to_vec(message))
                .map_err(crypto),
        }
    }

    /// Whether `signature` over `message` is this key's.
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let check = || -> Result<bool, openssl::error::ErrorStack> {
            match self.alg {
                Alg::Rs256 => Verifier::new(MessageDigest::sha256(), &self.private)?
                    .verify_oneshot(signature, message),
                Alg::Es256 => {
                    if signature.len() != 64 {
                        return Ok(false);
                    }
                    let r = BigNum::from_slice(&signature[..32])?;
                    let s = BigNum::from_slice(&signature[32..])?;
                    let der = EcdsaSig::from_private_components(r, s)?.to_der()?;
                    Verifier::new(MessageDigest::sha256(), &self.private)?
                        .verify_oneshot(&der, message)
                }
                Alg::EdDsa => {
                    Verifier::new_without_digest(&self.private)?.verify_oneshot(signature, message)
                }
            }
        };
        check().unwrap_or(false)
    }
}

/// The public half of `key` as a JWK (without `kid`).
fn public_jwk(alg: Alg, key: &PKey<Private>) -> OidcResult<Value> {
    Ok(match alg {
        Alg::Rs256 => {
            let rsa = key.rsa().map_err(crypto)?;
            json!({ "kty": "RSA", "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec()) })
        }
        Alg::Es256 => {
            let ec = key.ec_key().map_err(crypto)?;
            let mut ctx = BigNumContext::new().map_err(crypto)?;
            let (mut x, mut y) = (
                BigNum::new().map_err(crypto)?,
                BigNum::new().map_err(crypto)?,
            );
            ec.public_key()
                .affine_coordinates_gfp(ec.group(), &mut x, &mut y, &mut ctx)
                .map_err(crypto)?;
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(&x.to_vec_padded(32).map_err(crypto)?),
                "y": b64(&y.to_vec_padded(32).map_err(crypto)?),
            })
        }
        Alg::EdDsa => json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64(&key.raw_public_key().map_err(crypto)?),
        }),
    })
}

/// Every published key, opened, and when they were read from the store.
type Cached = Option<(OffsetDateTime, Arc<[Arc<SigningKey>]>)>;

/// The signing keys as the store has them, opened, with a short cache in front.
pub struct KeyRing {
    store: Arc<dyn SigningKeyStore>,
    data: Arc<DataKeys>,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cached>,
}

impl KeyRing {
    /// The keys in `store`, sealed with `data`.
    pub fn new(
        store: Arc<dyn SigningKeyStore>,
        data: Arc<DataKeys>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            data,
            clock,
            cache: Mutex::new(None),
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every published key, oldest first.
    pub async fn keys(&self) -> OidcResult<Arc<[Arc<SigningKey>]>> {
        let now = self.clock.now();
        if let Some((at, keys)) = self.cached().as_ref() {
            if now - *at < CACHE_TTL {
                return Ok(keys.clone());
            }
        }
        self.reload().await
    }

    async fn reload(&self) -> OidcResult<Arc<[Arc<SigningKey>]>> {
        let now = self.clock.now();
        let mut keys = Vec::new();
        for record in self.store.signing_keys().await? {
            keys.push(Arc::new(SigningKey::open(&record, &self.data)?));
        }
        // Keys replaced long enough ago that nothing they signed is still valid go.
        let mut kept = Vec::with_capacity(keys.len());
        for key in &keys {
            if retired(key, &keys, now) {
                self.store.delete_signing_key(&key.kid).await?;
            } else {
                kept.push(key.clone());
            }
        }
        let keys: Arc<[Arc<SigningKey>]> = kept.into();
        *self.cached() = Some((now, keys.clone()));
        Ok(keys)
    }

    /// The key that signs with `alg` now: of those active, the one that became active last.
    /// Made on first use (active at once: there is nothing older to sign meanwhile).
    pub async fn signer(&self, alg: Alg) -> OidcResult<Arc<SigningKey>> {
        let now = self.clock.now();
        if let Some(key) = active(&self.keys().await?, alg, now) {
            return Ok(key);
        }
        self.add(alg, now).await?;
        active(&self.reload().await?, alg, now)
            .ok_or_else(|| OidcError::Internal("no signing key after making one".into()))
    }

    /// Makes sure each algorithm has a key (at start-up, so the first token needs no key
    /// generation).
    pub async fn ensure(&self) -> OidcResult<()> {
        for alg in Alg::ALL {
            self.signer(alg).await?;
        }
        Ok(())
    }

    async fn add(&self, alg: Alg, active_from: OffsetDateTime) -> OidcResult<Arc<SigningKey>> {
        let now = self.clock.now();
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg, active_from, now))
            .await
            .map_err(|e| OidcError::Internal(Box::new(e)))??;
        self.store
            .insert_signing_key(&key.record(&self.data)?)
            .await?;
        Ok(Arc::new(key))
    }

    /// A new key for each algorithm, published now and signing `lead` from now. Returns the
    /// new keys.
    pub async fn rotate(&self, lead: Duration) -> OidcResult<Vec<Arc<SigningKey>>> {
        let active_from = self.clock.now() + lead;
        let mut added = Vec::new();
        for alg in Alg::ALL {
            added.push(self.add(alg, active_from).await?);
        }
        self.reload().await?;
        Ok(added)
    }

    /// The JWKS document.
    pub async fn jwks(&self) -> OidcResult<Value> {
        let keys = self.keys().await?;
        Ok(json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() }))
    }

    /// Seals every key again with the newest data key. How many were.
    pub async fn reseal(&self) -> OidcResult<u64> {
        let mut n = 0;
        for record in self.store.signing_keys().await? {
            let key = SigningKey::open(&record, &self.data)?;
            let fresh = key.record(&self.data)?;
            if self
                .store
                .replace_signing_key_sealed(&record.kid, &record.sealed, &fresh.sealed)
                .await?
            {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The claims of a JWS signed by one of our keys (expired or not), if it is one.
    pub async fn verify_jwt(&self, jwt: &str) -> OidcResult<Option<Value>> {
        let mut parts = jwt.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).ok();
        let Some(header) = decode(header).and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        else {
            return Ok(None);
        };
        let (Some(kid), Some(alg)) = (header["kid"].as_str(), header["alg"].as_str()) else {
            return Ok(None);
        };
        let keys = self.keys().await?;
        let Some(key) = keys.iter().find(|k| k.kid == kid && k.alg.as_str() == alg) else {
            return Ok(None);
        };
        let Some(signature) = decode(signature) else {
            return Ok(None);
        };
        let signed = &jwt[..header_and_payload_len(jwt)];
        if !key.verify(signed.as_bytes(), &signature) {
            return Ok(None);
        }
        Ok(decode(payload).and_then(|p| serde_json::from_slice(&p).ok()))
    }
}

fn header_and_payload_len(jwt: &str) -> usize {
    jwt.rfind('.').unwrap_or(0)
}

/// The key signing with `alg` at `now`, if any.
fn active(keys: &[Arc<SigningKey>], alg: Alg, now: OffsetDateTime) -> Option<Arc<SigningKey>> {
    keys.iter()
        .filter(|k| k.alg == alg && k.active_from <= now)
        .max_by_key(|k| (k.active_from, k.created_at))
        .cloned()
}

/// Whether a later key of the same algorithm took over from `key` more than an ID token's
/// lifetime ago.
fn retired(key: &SigningKey, keys: &[Arc<SigningKey>], now: OffsetDateTime) -> bool {
    keys.iter().any(|k| {
        k.alg == key.alg
            && (k.active_from, k.created_at) > (key.active_from, key.created_at)
            && k.active_from + ID_TOKEN_TTL < now
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_what_it_verifies_and_nothing_else() {
        let now = OffsetDateTime::now_utc();
        for alg in Alg::ALL {
            let key = SigningKey::generate(alg, now, now).unwrap();
            let jwt = key.sign_jwt(&json!({ "sub": "x" })).unwrap();
            let signed = &jwt[..header_and_payload_len(&jwt)];
            let signature = URL_SAFE_NO_PAD
                .decode(jwt.rsplit('.').next().unwrap())
                .unwrap();
            assert!(key.verify(signed.as_bytes(), &signature), "{alg:?}");
            assert!(!key.verify(b"something else", &signature), "{alg:?}");
            assert_eq!(key.jwk["alg"], alg.as_str());
            assert!(key.jwk.get("d").is_none(), "no private part in the JWK");
        }
    }
}
