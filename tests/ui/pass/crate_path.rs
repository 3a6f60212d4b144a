//! `#[aggregate(crate = "...")]`: generated code names the library by the
//! given path, so an application can use chronicle-es through its own
//! re-export (or a renamed dependency). This crate reaches it only as
//! `crate::platform::events`.

mod platform {
    pub use ::chronicle_es as events;
}

use crate::platform::events::{aggregate, Application};

#[aggregate(crate = "crate::platform::events", snapshots)]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dog {
    name: String,
    tricks: Vec<String>,
}

#[aggregate]
impl Dog {
    #[event("Registered")]
    pub fn register(name: String) -> Self {
        Self {
            name,
            tricks: Vec::new(),
        }
    }

    #[event("TrickAdded")]
    pub fn add_trick(&mut self, trick: String) {
        self.tricks.push(trick);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), platform::events::Error> {
    let app = Application::in_memory();
    let mut dog = Dog::register("Fido".to_owned());
    dog.add_trick("sit".to_owned());
    app.save(&mut dog).await?;
    app.take_snapshot::<Dog>(dog.id()).await?;
    let copy: Dog = app.get(dog.id()).await?;
    assert_eq!(copy, dog);
    Ok(())
}
