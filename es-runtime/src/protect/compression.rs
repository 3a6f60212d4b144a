//! zlib compression (feature `compression`): flate2 with its pure-Rust
//! miniz_oxide backend.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// zlib's default level: a good balance for small JSON documents.
pub(crate) const DEFAULT_LEVEL: u32 = 6;
/// Payloads shorter than this are not worth compressing (zlib adds 6 bytes).
pub(crate) const DEFAULT_MIN_SIZE: usize = 64;

thread_local! {
    /// A compressor per thread and level: setting one up costs more than
    /// compressing a small payload.
    static COMPRESSOR: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// `data` compressed at `level` (0 to 9), or `None` when that does not make it
/// smaller.
pub(crate) fn compress(data: &[u8], level: u32) -> Option<Vec<u8>> {
    let level = level.min(9);
    COMPRESSOR.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        let compressor = match &mut *slot {
            Some((cached, compressor)) if *cached == level => {
                compressor.reset();
                compressor
            }
            other => {
                &mut other
                    .insert((level, Compress::new(Compression::new(level), true)))
                    .1
            }
        };
        // Room for a smaller result only: if the stream does not end within
        // it, compression does not pay.
        let mut out = Vec::with_capacity(data.len().saturating_sub(1));
        match compressor.compress_vec(data, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) if out.len() < data.len() => Some(out),
            _ => {
                // Leave no half-finished stream behind.
                compressor.reset();
                None
            }
        }
    })
}

/// `data` decompressed, refusing output larger than `limit` bytes (a
/// decompression bomb) and anything but exactly one zlib stream. The error
/// says why.
pub(crate) fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    DECOMPRESSOR.with(|cell| {
        let mut fresh = None;
        let mut slot = cell.try_borrow_mut();
        let decompressor = match slot.as_deref_mut() {
            Ok(Some(decompressor)) => {
                decompressor.reset(true);
                decompressor
            }
            Ok(slot) => slot.insert(Decompress::new(true)),
            Err(_) => fresh.insert(Decompress::new(true)),
        };
        let mut out = Vec::with_capacity(data.len().saturating_mul(4).clamp(64, limit.max(64)));
        loop {
            let consumed = usize::try_from(decompressor.total_in()).unwrap_or(usize::MAX);
            let input = data.get(consumed..).unwrap_or_default();
            let before = (decompressor.total_in(), decompressor.total_out());
            let status = decompressor
                .decompress_vec(input, &mut out, FlushDecompress::None)
                .map_err(|error| format!("zlib data does not decompress: {error}"))?;
            if out.len() > limit {
                return Err(format!(
                    "decompresses to more than the {limit}-byte payload limit"
                ));
            }
            match status {
                Status::StreamEnd => break,
                _ if out.len() == out.capacity() => {
                    let grow = out
                        .capacity()
                        .min(limit.saturating_add(1) - out.len())
                        .max(64);
                    out.reserve(grow);
                }
                _ if before == (decompressor.total_in(), decompressor.total_out()) => {
                    return Err("the zlib stream is truncated".into());
                }
                _ => {}
            }
        }
        if usize::try_from(decompressor.total_in()).ok() != Some(data.len()) {
            return Err("bytes follow the zlib stream".into());
        }
        Ok(out)
    })
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
        assert!(decompress(&compressed[..compressed.len() - 1], data.len()).is_err());
        assert!(decompress(&[], data.len()).is_err());
        let mut trailing = compressed.clone();
        trailing.push(0);
        assert!(decompress(&trailing, data.len()).is_err());
        // Reused compressors give the same results, at any level.
        for level in [1, 9, 6, 6] {
            let again = compress(&data, level).unwrap();
            assert_eq!(decompress(&again, data.len()).unwrap(), data);
        }
        // A large output grows past the first guess.
        let zeros = vec![0u8; 1 << 20];
        let packed = compress(&zeros, DEFAULT_LEVEL).unwrap();
        assert_eq!(decompress(&packed, zeros.len()).unwrap(), zeros);
        assert!(decompress(&packed, zeros.len() - 1).is_err());
    }
}
