//! zlib compression (feature `compression`): flate2 with its pure-Rust
//! miniz_oxide backend.

use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

/// zlib's default level: a good balance for small JSON documents.
pub(crate) const DEFAULT_LEVEL: u32 = 6;
/// Payloads shorter than this are not worth compressing (zlib adds 6 bytes).
pub(crate) const DEFAULT_MIN_SIZE: usize = 64;

/// `data` compressed at `level` (0 to 9), or `None` when that does not make it
/// smaller.
pub(crate) fn compress(data: &[u8], level: u32) -> Option<Vec<u8>> {
    let mut encoder = ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 16),
        Compression::new(level.min(9)),
    );
    encoder.write_all(data).ok()?;
    let compressed = encoder.finish().ok()?;
    (compressed.len() < data.len()).then_some(compressed)
}

/// `data` decompressed, refusing output larger than `limit` bytes (a
/// decompression bomb). The error says why.
pub(crate) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    ZlibDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|error| format!("zlib data does not decompress: {error}"))?;
    if out.len() > limit {
        return Err(format!(
            "decompresses to more than the {limit}-byte payload limit"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let data = b"roll over, roll over, roll over, roll over, roll over".repeat(20);
        let compressed = compress(&data, DEFAULT_LEVEL).unwrap();
        assert!(compressed.len() < data.len() / 5);
        assert_eq!(decompress(&compressed, data.len()).unwrap(), data);
        assert!(decompress(&compressed, data.len() - 1).is_err());
        assert!(compress(b"{}", DEFAULT_LEVEL).is_none());
        assert!(decompress(b"not zlib", 1000).is_err());
        let mut flipped = compressed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(decompress(&flipped, data.len()).is_err());
        assert!(decompress(&compressed[..compressed.len() / 2], data.len()).is_err());
    }
}
