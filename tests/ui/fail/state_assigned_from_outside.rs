use chronicle_es::prelude::*;

#[aggregate]
pub struct Dog {
    name: String,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self { name }
    }
}

fn rename(dog: &mut Dog) {
    dog.name = "Rex".to_owned();
}

fn main() {
    let mut dog = Dog::register("Fido".to_owned());
    rename(&mut dog);
}
