//! The page arguments of lists: `first` (how many rows) and `after` (the id of the last row of
//! the previous page, or for findings a cursor the API issued).

use async_graphql::ID;
use projections::read_models::page::{Listed, Page};

use super::error::bad_input;
use super::types::parse_id;

/// The page size of lists whose `first` is left out.
pub const DEFAULT_PAGE: i32 = 50;

/// The page size of the findings lists whose `first` is left out.
pub const DEFAULT_FINDINGS_PAGE: i32 = 100;

/// The most rows one page may hold.
pub const MAX_PAGE: i32 = 500;

/// `first` as a row count, or BAD_USER_INPUT naming it.
pub fn first_rows(first: i32) -> async_graphql::Result<i64> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(i64::from(first))
    } else {
        Err(bad_input("first", format!("must be from 1 to {MAX_PAGE}")))
    }
}

/// A page of a list whose cursor is the id of its last row.
pub fn page(first: i32, after: Option<&ID>) -> async_graphql::Result<Page> {
    let limit = first_rows(first)?;
    let after = after
        .map(|id| parse_id(id).ok_or_else(unknown_cursor))
        .transpose()?;
    Ok(Page { after, limit })
}

/// A cursor that names no row of the list: malformed, unknown, or a row the caller cannot see
/// (the same answer for all).
pub fn unknown_cursor() -> async_graphql::Error {
    bad_input("after", "not the id of a row of this list")
}

/// The rows of a page, or BAD_USER_INPUT for its cursor.
pub fn rows<T>(listed: Listed<T>) -> async_graphql::Result<Vec<T>> {
    match listed {
        Listed::Rows(rows) => Ok(rows),
        Listed::UnknownCursor => Err(unknown_cursor()),
    }
}
