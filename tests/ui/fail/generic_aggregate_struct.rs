use chronicle::prelude::*;

#[aggregate]
pub struct Kennel<T> {
    residents: Vec<T>,
}

fn main() {}
