use chronicle_es::prelude::*;

#[aggregate]
pub enum Dog {
    Puppy { name: String },
    Adult { name: String },
}

fn main() {}
