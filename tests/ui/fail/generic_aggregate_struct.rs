use chronicle_es::prelude::*;

#[aggregate]
pub struct Kennel<T> {
    residents: Vec<T>,
}

fn main() {}
