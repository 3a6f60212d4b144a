use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog(String);

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self(name)
    }

    #[event("Renamed")]
    pub fn rename(&mut self, name: String) {
        self.0 = name;
    }
}

fn main() {
    let dog = Dog::register("Fido".to_owned());
    let _ = &dog.0;
}
