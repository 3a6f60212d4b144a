//! A projection that writes SQL needs a store with SQL read models; the
//! in-memory store has none.
use chronicle_es::prelude::*;
use chronicle_es::{HandlerError, ModelWrites, Projection, ProjectionRunner};

#[aggregate]
#[derive(Debug, Clone, PartialEq)]
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

struct Names;

impl Projection for Names {
    type Event = DogEvent;
    type Writes = ModelWrites;

    fn name(&self) -> &str {
        "names"
    }

    fn handle(&mut self, event: &Envelope<DogEvent>, writes: &mut ModelWrites) -> Result<(), HandlerError> {
        let DogEvent::Registered { name } = &event.event;
        writes.execute("INSERT INTO names (name) VALUES ($1)", [name.as_str()]);
        Ok(())
    }
}

fn main() {
    let app = Application::in_memory();
    let _runner = ProjectionRunner::new(app, Names);
}
