//! MessagePack payloads (feature `msgpack`): a compact binary codec.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::{Codec, CodecError};

/// MessagePack via `rmp-serde`: smaller and faster than JSON, unreadable in a
/// database console.
///
/// Structs are encoded as maps keyed by field name (`rmp_serde::to_vec_named`),
/// not as positional arrays, so that a payload decodes by field name: fields
/// can be added with `#[serde(default)]`, reordered, and upcast like JSON ones.
/// Decoding also accepts the positional (array) form.
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgPackCodec;

impl Codec for MsgPackCodec {
    const NAME: &'static str = "msgpack";
    const EXACT_FOR_PLAIN_TYPES: bool = true;

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>, CodecError> {
        rmp_serde::to_vec_named(value).map_err(|e| CodecError {
            codec: Self::NAME,
            message: e.to_string(),
        })
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, CodecError> {
        rmp_serde::from_slice(bytes).map_err(|e| CodecError {
            codec: Self::NAME,
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Old {
        name: String,
        tricks: Vec<String>,
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct New {
        tricks: Vec<String>,
        name: String,
        #[serde(default)]
        age: Option<u32>,
    }

    #[test]
    fn structs_round_trip_by_field_name() {
        let codec = MsgPackCodec;
        let old = Old {
            name: "Fido".into(),
            tricks: vec!["sit".into()],
        };
        let bytes = codec.encode(&old).unwrap();
        // A map (fixmap of two entries), keyed by name.
        assert_eq!(bytes.first(), Some(&0x82));
        assert_eq!(codec.decode::<Old>(&bytes).unwrap(), old);
        let new: New = codec.decode(&bytes).unwrap();
        assert_eq!(new.name, "Fido");
        assert_eq!(new.age, None);
    }

    #[test]
    fn garbage_is_an_error() {
        let error = MsgPackCodec.decode::<Old>(&[0xc1, 0x00]).unwrap_err();
        assert_eq!(error.codec, "msgpack");
    }
}
