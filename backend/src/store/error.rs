//! The store's one error type, in terms the layers above can act on.

/// A lower-level error kept as the source of a [`StoreError`], so logs show the whole chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in a store, in terms the layers above can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (the user name).
    #[error("duplicate key")]
    Duplicate,
    /// The database cannot be reached or is not answering; worth retrying later.
    #[error("store unavailable")]
    Unavailable(#[source] Cause),
    /// Anything else: a bug or corrupt data.
    #[error("store failure")]
    Internal(#[source] Cause),
}

impl StoreError {
    /// [`StoreError::Unavailable`], saying what was being done when `source` happened.
    pub fn unavailable(what: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Unavailable(Box::new(Context {
            what: what.into(),
            source: source.into(),
        }))
    }
}

/// What was being done when a lower-level error happened.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
struct Context {
    what: String,
    #[source]
    source: Cause,
}

/// The result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;
