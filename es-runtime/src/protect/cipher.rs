//! Keys and authenticated encryption (ChaCha20-Poly1305, feature `encryption`).

use std::fmt;
use std::str::FromStr;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use zeroize::Zeroizing;

use super::payload::ProtectionError;

/// The environment variable [`CipherKey::from_env`] reads.
pub const CIPHER_KEY_ENV: &str = "CHRONICLE_CIPHER_KEY";

/// Bytes in a key.
pub const KEY_LEN: usize = 32;
/// Bytes in a nonce (random, one per payload).
pub const NONCE_LEN: usize = 12;
/// Bytes in an authentication tag.
pub const TAG_LEN: usize = 16;

/// A 256-bit ChaCha20-Poly1305 key: the master key of a
/// [`Protection`](super::Protection), from configuration or the environment.
///
/// Its bytes are wiped from memory when it is dropped, and `Debug` does not
/// print them. Errors never include key material.
///
/// ```
/// # use chronicle_es_runtime::protect::CipherKey;
/// let key = CipherKey::from_hex(
///     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
/// )?;
/// let same = CipherKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
/// assert_eq!(key, same);
/// # Ok::<(), chronicle_es_runtime::protect::ProtectionError>(())
/// ```
#[derive(Clone)]
pub struct CipherKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl CipherKey {
    /// A key from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtectionError> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            ProtectionError::Config(format!(
                "a cipher key has {KEY_LEN} bytes, not {}",
                bytes.len()
            ))
        })?;
        Ok(Self {
            bytes: Zeroizing::new(array),
        })
    }

    /// A key from 64 hexadecimal digits (either case; surrounding whitespace
    /// is ignored).
    pub fn from_hex(text: &str) -> Result<Self, ProtectionError> {
        let text = text.trim().as_bytes();
        if text.len() != KEY_LEN * 2 {
            return Err(ProtectionError::Config(format!(
                "a hexadecimal cipher key has {} digits, not {}",
                KEY_LEN * 2,
                text.len()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let (Some(high), Some(low)) = (
                pair.first().copied().and_then(hex_digit),
                pair.get(1).copied().and_then(hex_digit),
            ) else {
                return Err(ProtectionError::Config(
                    "a hexadecimal cipher key holds a character that is not a hexadecimal digit"
                        .into(),
                ));
            };
            *byte = (high << 4) | low;
        }
        Ok(Self { bytes })
    }

    /// A key from base64 (standard or URL-safe alphabet, padding optional,
    /// surrounding whitespace ignored) that decodes to 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, ProtectionError> {
        let decoded = Zeroizing::new(decode_base64(text.trim()).ok_or_else(|| {
            ProtectionError::Config("a base64 cipher key is not valid base64".into())
        })?);
        Self::from_bytes(&decoded)
    }

    /// A key from text: 64 hexadecimal digits, else base64.
    pub fn parse(text: &str) -> Result<Self, ProtectionError> {
        let trimmed = text.trim();
        if trimmed.len() == KEY_LEN * 2 && trimmed.bytes().all(|b| hex_digit(b).is_some()) {
            Self::from_hex(trimmed)
        } else {
            Self::from_base64(trimmed)
        }
    }

    /// The key in the environment variable `CHRONICLE_CIPHER_KEY`
    /// ([`CIPHER_KEY_ENV`]), as hexadecimal or base64 (see [`parse`](Self::parse)).
    pub fn from_env() -> Result<Self, ProtectionError> {
        Self::from_env_var(CIPHER_KEY_ENV)
    }

    /// The key in the environment variable `name` (hexadecimal or base64).
    pub fn from_env_var(name: &str) -> Result<Self, ProtectionError> {
        let value = Zeroizing::new(std::env::var(name).map_err(|error| {
            ProtectionError::Config(format!("environment variable {name}: {error}"))
        })?);
        Self::parse(&value).map_err(|error| {
            ProtectionError::Config(format!("environment variable {name}: {error}"))
        })
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Result<Self, ProtectionError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        random(&mut bytes[..])?;
        Ok(Self { bytes })
    }

    /// The key as 64 lowercase hexadecimal digits, for configuration files.
    /// Handle the result as a secret.
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(KEY_LEN * 2);
        for byte in self.bytes.iter() {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        text
    }

    /// The key's bytes. Handle them as a secret.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    pub(crate) fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&(*self.bytes).into())
    }
}

impl PartialEq for CipherKey {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.bytes
            .iter()
            .zip(other.bytes.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for CipherKey {}

impl fmt::Debug for CipherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CipherKey(..)")
    }
}

impl FromStr for CipherKey {
    type Err = ProtectionError;

    /// Same as [`CipherKey::parse`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes base64, standard (`+/`) or URL-safe (`-_`) alphabet, with or
/// without `=` padding. `None` when the text is not base64.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    if padding > 2 || (padding > 0 && text.len() & 3 != 0) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut accumulator: u32 = 0;
    let mut bits = 0u32;
    for byte in body.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        accumulator = (accumulator << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((accumulator >> bits) as u8);
            accumulator &= (1 << bits) - 1;
        }
    }
    // Leftover bits (at most 4) must be zero, and a lone 6 bits is no byte.
    if bits >= 6 || accumulator != 0 {
        return None;
    }
    Some(out)
}

/// Fills `buffer` from the operating system's random number generator.
pub(crate) fn random(buffer: &mut [u8]) -> Result<(), ProtectionError> {
    getrandom::fill(buffer).map_err(|error| {
        ProtectionError::Config(format!(
            "the operating system's random number generator failed: {error}"
        ))
    })
}

/// Why [`open`] failed.
pub(crate) enum OpenError {
    /// Shorter than a nonce and a tag.
    Truncated,
    /// Authentication failed.
    Forged,
}

/// Encrypts `plaintext` after `prefix` (which is copied as is): returns
/// `prefix || nonce || ciphertext || tag`, authenticating `aad`.
pub(crate) fn seal(
    cipher: &ChaCha20Poly1305,
    prefix: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ProtectionError> {
    let mut nonce = [0u8; NONCE_LEN];
    random(&mut nonce)?;
    seal_with_nonce(cipher, prefix, nonce, aad, plaintext)
}

/// [`seal`] with a nonce from the caller, who must never use it again with
/// the same key (the protection draws random nonces for a batch at once).
pub(crate) fn seal_with_nonce(
    cipher: &ChaCha20Poly1305,
    prefix: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ProtectionError> {
    let mut out = Vec::with_capacity(prefix.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(prefix);
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    let body = out.get_mut(start..).unwrap_or_default();
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(nonce), aad, body.into())
        .map_err(|_| ProtectionError::Config("payload too large to encrypt".into()))?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Reverses [`seal`] on `nonce || ciphertext || tag` (the prefix removed).
pub(crate) fn open(
    cipher: &ChaCha20Poly1305,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(OpenError::Truncated);
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce = Nonce::try_from(nonce).map_err(|_| OpenError::Truncated)?;
    let tag = Tag::try_from(tag).map_err(|_| OpenError::Truncated)?;
    let mut plaintext = ciphertext.to_vec();
    cipher
        .decrypt_inout_detached(&nonce, aad, plaintext.as_mut_slice().into(), &tag)
        .map_err(|_| OpenError::Forged)?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn keys_parse_from_hex_and_base64() {
        let key = CipherKey::from_hex(HEX).unwrap();
        assert_eq!(key.as_bytes()[31], 0x1f);
        assert_eq!(key.to_hex(), HEX);
        assert_eq!(CipherKey::from_hex(&HEX.to_uppercase()).unwrap(), key);
        let standard = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(CipherKey::from_base64(standard).unwrap(), key);
        assert_eq!(
            CipherKey::from_base64(standard.trim_end_matches('=')).unwrap(),
            key
        );
        assert_eq!(CipherKey::parse(HEX).unwrap(), key);
        assert_eq!(standard.parse::<CipherKey>().unwrap(), key);
        assert_eq!(format!("{key:?}"), "CipherKey(..)");
    }

    #[test]
    fn bad_keys_are_config_errors() {
        for text in [
            "",
            "00",
            &HEX[..63],
            &format!("{}zz", &HEX[..62]),
            "AAEC$wQF",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",
            "AAECAwQF",
        ] {
            assert!(
                matches!(CipherKey::parse(text), Err(ProtectionError::Config(_))),
                "{text:?}"
            );
        }
        assert!(matches!(
            CipherKey::from_bytes(&[0; 31]),
            Err(ProtectionError::Config(_))
        ));
    }

    #[test]
    fn base64_decoder() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("Zm9vYg").unwrap(), b"foob");
        assert_eq!(
            decode_base64("-_-_").unwrap(),
            decode_base64("+/+/").unwrap()
        );
        assert!(decode_base64("Z").is_none());
        assert!(decode_base64("Zh==").is_none());
    }

    #[test]
    fn seal_and_open() {
        let cipher = CipherKey::generate().unwrap().cipher();
        let sealed = seal(&cipher, b"H", b"aad", b"hello").unwrap();
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 5 + TAG_LEN);
        assert_eq!(open(&cipher, b"aad", &sealed[1..]).ok().unwrap(), b"hello");
        assert!(matches!(
            open(&cipher, b"other", &sealed[1..]),
            Err(OpenError::Forged)
        ));
        assert!(matches!(
            open(&cipher, b"aad", &sealed[1..20]),
            Err(OpenError::Truncated)
        ));
    }
}
