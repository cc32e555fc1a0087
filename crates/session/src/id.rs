use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::SessionError;

const RANDOM_LEN: usize = 16;
const EXPIRY_LEN: usize = 8;
const PAYLOAD_LEN: usize = RANDOM_LEN + EXPIRY_LEN;
const TAG_LEN: usize = 16;
/// Length of an encoded id: base64url of payload + tag, no padding.
const ENCODED_LEN: usize = ((PAYLOAD_LEN + TAG_LEN) * 4).div_ceil(3);

/// The secret that signs session ids. Replicas that share sessions must share the key.
#[derive(Clone)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// A fresh random key: sessions survive only as long as this process.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        Self(key)
    }

    /// A key derived from operator-supplied secret material (e.g. `MCP_SESSION_KEY`).
    pub fn from_secret(secret: &[u8]) -> Self {
        use sha2::Digest;
        let digest = Sha256::digest(secret);
        let mut key = [0u8; 32];
        key.copy_from_slice(&digest);
        Self(key)
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// Mints and verifies gateway session ids.
///
/// An id is `base64url(random[16] || expiry_be[8] || tag[16])` where `tag` is HMAC-SHA256 over
/// the payload and the authenticated subject (empty when auth is off), truncated to 128 bits.
/// 128 random bits make ids unguessable; the tag makes a forged or altered id fail before any
/// store lookup; binding the subject makes a stolen id useless to another user.
#[derive(Clone, Debug)]
pub struct SessionIds {
    key: SessionKey,
    lifetime: Duration,
}

impl SessionIds {
    /// Ids signed with `key`, valid for `lifetime` after minting.
    pub fn new(key: SessionKey, lifetime: Duration) -> Self {
        Self { key, lifetime }
    }

    /// A new id bound to `subject` (`None` when the gateway does not authenticate callers).
    pub fn mint(&self, subject: Option<&str>) -> String {
        let mut raw = [0u8; PAYLOAD_LEN + TAG_LEN];
        rand::fill(&mut raw[..RANDOM_LEN]);
        let expiry = now_secs().saturating_add(self.lifetime.as_secs());
        raw[RANDOM_LEN..PAYLOAD_LEN].copy_from_slice(&expiry.to_be_bytes());
        let tag = self
            .mac(&raw[..PAYLOAD_LEN], subject)
            .finalize()
            .into_bytes();
        raw[PAYLOAD_LEN..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks that `id` was minted by this gateway for `subject` and has not expired.
    pub fn verify(&self, id: &str, subject: Option<&str>) -> Result<(), SessionError> {
        if id.len() != ENCODED_LEN {
            return Err(SessionError::Invalid);
        }
        let mut raw = [0u8; PAYLOAD_LEN + TAG_LEN];
        match URL_SAFE_NO_PAD.decode_slice(id, &mut raw) {
            Ok(n) if n == raw.len() => {}
            _ => return Err(SessionError::Invalid),
        }
        self.mac(&raw[..PAYLOAD_LEN], subject)
            .verify_truncated_left(&raw[PAYLOAD_LEN..])
            .map_err(|_| SessionError::Invalid)?;
        let mut expiry = [0u8; EXPIRY_LEN];
        expiry.copy_from_slice(&raw[RANDOM_LEN..PAYLOAD_LEN]);
        if u64::from_be_bytes(expiry) <= now_secs() {
            return Err(SessionError::Expired);
        }
        Ok(())
    }

    fn mac(&self, payload: &[u8], subject: Option<&str>) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key.0)
            .expect("HMAC accepts keys of any length");
        mac.update(payload);
        if let Some(subject) = subject {
            mac.update(&(subject.len() as u64).to_be_bytes());
            mac.update(subject.as_bytes());
        }
        mac
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> SessionIds {
        SessionIds::new(SessionKey::random(), Duration::from_secs(3600))
    }

    #[test]
    fn minted_ids_verify_and_are_distinct() {
        let ids = ids();
        let a = ids.mint(None);
        let b = ids.mint(None);
        assert_ne!(a, b);
        assert_eq!(a.len(), ENCODED_LEN);
        assert!(
            a.bytes().all(|c| (0x21..=0x7e).contains(&c)),
            "visible ASCII only"
        );
        assert_eq!(ids.verify(&a, None), Ok(()));
    }

    #[test]
    fn another_key_rejects() {
        let a = ids().mint(None);
        assert_eq!(ids().verify(&a, None), Err(SessionError::Invalid));
    }

    #[test]
    fn same_secret_is_shared_across_replicas() {
        let one = SessionIds::new(SessionKey::from_secret(b"s3cret"), Duration::from_secs(60));
        let two = SessionIds::new(SessionKey::from_secret(b"s3cret"), Duration::from_secs(60));
        assert_eq!(two.verify(&one.mint(None), None), Ok(()));
    }

    #[test]
    fn bound_to_subject() {
        let ids = ids();
        let a = ids.mint(Some("alice"));
        assert_eq!(ids.verify(&a, Some("alice")), Ok(()));
        assert_eq!(ids.verify(&a, Some("mallory")), Err(SessionError::Invalid));
        assert_eq!(ids.verify(&a, None), Err(SessionError::Invalid));
    }

    #[test]
    fn tampering_is_detected() {
        let ids = ids();
        let a = ids.mint(None);
        for i in 0..a.len() {
            let mut bytes = a.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).expect("ascii");
            assert!(ids.verify(&tampered, None).is_err(), "byte {i}");
        }
    }

    #[test]
    fn expired_ids_are_rejected() {
        let ids = SessionIds::new(SessionKey::random(), Duration::ZERO);
        assert_eq!(
            ids.verify(&ids.mint(None), None),
            Err(SessionError::Expired)
        );
    }

    #[test]
    fn garbage_never_panics() {
        let ids = ids();
        for s in [
            "",
            "x",
            "Ω",
            &"A".repeat(ENCODED_LEN),
            &"é".repeat(ENCODED_LEN),
            "../../etc",
        ] {
            assert!(ids.verify(s, None).is_err());
        }
    }
}
