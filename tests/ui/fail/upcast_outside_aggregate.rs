use chronicle_es::prelude::*;
use chronicle_es::upcast::Value;

pub struct Migrations;

impl Migrations {
    #[upcast("TrickAdded", from = 1)]
    fn trick_added_v1(payload: Value) -> Value {
        payload
    }
}

fn main() {}
