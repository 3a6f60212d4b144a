//! A test hook (feature `test-hooks`, not public API): an append whose
//! transaction stays open, so that tests can race readers against a slow
//! writer and check the in-flight horizon.

use deadpool_postgres::Object;

use super::append::AppendParams;
use super::rows::JsonColumn;
use super::{PostgresStore, BACKEND};
use crate::store::encoding::{backend, check_append};
use crate::store::error::StoreError;
use crate::store::request::AppendRequest;

impl PostgresStore {
    /// Starts an append in a transaction and leaves it open, for tests of
    /// readers racing a slow writer. A test hook (feature `test-hooks`),
    /// not public API.
    #[doc(hidden)]
    pub async fn begin_held_append(
        &self,
        request: &AppendRequest,
    ) -> Result<HeldAppend, StoreError> {
        check_append(request, None)?;
        let column = JsonColumn::Checked.if_json_held(self.inner.json_payloads);
        let params = AppendParams::new(request, None, column)?;
        let client = self.client().await?;
        let result = async {
            client.batch_execute("BEGIN").await?;
            let statement = client.prepare_cached(&self.inner.sql.append).await?;
            let row = client.query_one(&statement, &params.as_params()).await?;
            row.try_get::<_, Option<i64>>(0)
        }
        .await;
        match result {
            Ok(position) => Ok(HeldAppend {
                client: Some(client),
                last_position: position.and_then(|p| u64::try_from(p).ok()),
            }),
            Err(error) => {
                drop(Object::take(client));
                Err(backend(BACKEND, error))
            }
        }
    }
}

/// An append whose transaction is still open (see
/// `PostgresStore::begin_held_append`); dropping it rolls back. A test hook,
/// not public API.
pub struct HeldAppend {
    client: Option<Object>,
    /// The last position the append allocated.
    pub last_position: Option<u64>,
}

impl HeldAppend {
    /// Commits the append.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if let Some(client) = self.client.take() {
            if let Err(error) = client.batch_execute("COMMIT").await {
                drop(Object::take(client));
                return Err(backend(BACKEND, error));
            }
        }
        Ok(())
    }
}

impl Drop for HeldAppend {
    fn drop(&mut self) {
        // Closing the connection rolls the transaction back.
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}
