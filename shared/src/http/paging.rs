//! Paged lists (`?limit=&cursor=`): the query parsed once, and cursors that are opaque to
//! clients (base64url of where the page ended) and checked when they come back.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::error::ApiError;
use crate::store::SessionCursor;

/// How many items a page holds by default and at most.
#[derive(Clone, Copy, Debug)]
pub struct PageSize {
    pub default: u32,
    pub max: u32,
}

pub const USERS_PAGE: PageSize = PageSize { default: 20, max: 100 };
pub const SESSIONS_PAGE: PageSize = PageSize { default: 50, max: 50 };

/// A page request: its size, and the cursor's text (not yet decoded) when continuing.
pub struct PageQuery {
    pub limit: u32,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct RawQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl PageQuery {
    pub fn parse(query: &str, size: PageSize) -> Result<Self, ApiError> {
        let params: RawQuery = serde_urlencoded::from_str(query)
            .map_err(|_| ApiError::validation("query", "is not a valid query string"))?;
        let limit = match params.limit.as_deref() {
            None | Some("") => size.default,
            Some(raw) => raw.parse::<u32>().ok().filter(|limit| (1..=size.max).contains(limit)).ok_or_else(|| {
                ApiError::validation("limit", format!("must be a whole number from 1 to {}", size.max))
            })?,
        };
        Ok(Self { limit, cursor: params.cursor.filter(|cursor| !cursor.is_empty()) })
    }

    /// The id of the last user of the previous page.
    pub fn user_cursor(&self) -> Result<Option<String>, ApiError> {
        self.decoded(|text| uuid::Uuid::try_parse(&text).is_ok().then_some(text))
    }

    pub fn session_cursor(&self) -> Result<Option<SessionCursor>, ApiError> {
        self.decoded(|text| {
            let (created_ms, session_id) = text.split_once('.')?;
            uuid::Uuid::try_parse(session_id).ok()?;
            Some(SessionCursor { created_ms: created_ms.parse().ok()?, session_id: session_id.to_owned() })
        })
    }

    fn decoded<T>(&self, read: impl FnOnce(String) -> Option<T>) -> Result<Option<T>, ApiError> {
        let Some(cursor) = &self.cursor else { return Ok(None) };
        let text = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|bytes| String::from_utf8(bytes).ok());
        text.and_then(read).map(Some).ok_or_else(|| ApiError::validation("cursor", "is not a cursor this API returned"))
    }
}

pub fn user_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

pub fn session_cursor(cursor: &SessionCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", cursor.created_ms, cursor.session_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        let cursor = SessionCursor { created_ms: 1_700_000_000_123, session_id: uuid::Uuid::new_v4().to_string() };
        let query = PageQuery::parse(&format!("cursor={}", session_cursor(&cursor)), SESSIONS_PAGE).unwrap();
        assert_eq!(query.session_cursor().unwrap(), Some(cursor));
        assert_eq!(query.limit, 50);
        let user = uuid::Uuid::new_v4().to_string();
        let query = PageQuery::parse(&format!("limit=5&cursor={}", user_cursor(&user)), USERS_PAGE).unwrap();
        assert_eq!((query.limit, query.user_cursor().unwrap()), (5, Some(user.clone())));
        // A user cursor is no session cursor, and garbage is neither.
        assert!(query.session_cursor().is_err());
        let garbage = PageQuery::parse("cursor=bm90LWEtdXVpZA", USERS_PAGE).unwrap();
        assert!(garbage.user_cursor().is_err() && garbage.session_cursor().is_err());
        assert!(PageQuery::parse("limit=51", SESSIONS_PAGE).is_err());
        assert!(PageQuery::parse("limit=0", USERS_PAGE).is_err());
    }
}
