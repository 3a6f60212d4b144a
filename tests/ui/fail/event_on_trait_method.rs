use chronicle_es::prelude::*;

pub trait Trainable {
    #[event("TrickAdded")]
    fn add_trick(&mut self, trick: String);
}

fn main() {}
