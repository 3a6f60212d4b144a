pub use es_macros::*; pub use es_runtime::*;
