use chronicle_es::prelude::*;

#[aggregate]
pub union Dog {
    age: u32,
    weight: f32,
}

fn main() {}
