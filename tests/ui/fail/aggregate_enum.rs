use chronicle::prelude::*;

#[aggregate]
pub enum Dog {
    Puppy { name: String },
    Adult { name: String },
}

fn main() {}
