use chronicle::prelude::*;

#[aggregate]
pub struct Dog(String);

fn main() {}
