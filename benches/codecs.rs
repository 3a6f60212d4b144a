//! Codec and payload-protection benchmark (being written).

fn main() {}
