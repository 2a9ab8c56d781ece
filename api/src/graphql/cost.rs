//! What a field costs against the complexity limit ([`super::MAX_COMPLEXITY`]), so that the
//! limit bounds the work a document can ask for, not only its size.
//!
//! One unit is one value of a row the server already holds. A field that reads the store or a
//! read model costs [`LOOKUP`] more; a list costs a lookup plus its rows times what each row
//! selects (`first x child`, with `first` read from the document, its variables or the
//! argument's default); a scan read as it was at an earlier moment (`asOf`) costs
//! [`TIME_TRAVEL`] more; an authentication attempt costs [`AUTH`], so that only one fits in a
//! document (aliases cannot multiply password guesses). Lists the server bounds and holds in
//! memory (a module's options, a scan's targets, run changes capped at 200) cost like one value
//! per row they select, as async-graphql counts them by default.
//!
//! The functions take async-graphql's own names for the complexity callback's parameters
//! (`__ctx`, `__variables_definition`, `__field`, `child_complexity`), e.g.
//! `#[graphql(complexity = "cost::page(__ctx, __variables_definition, __field, cost::DEFAULT_PAGE, child_complexity)")]`,
//! because an argument named in the expression itself (`first`) must be given when it is a
//! variable: async-graphql refuses a document whose optional variable is left out.

use async_graphql::Positioned;
use async_graphql::VisitorContext;
use async_graphql::parser::types::{Field, VariableDefinition};
use chrono::{DateTime, Utc};

use super::MAX_COMPLEXITY;
use super::paging::MAX_PAGE;
pub use super::paging::{DEFAULT_FINDINGS_PAGE, DEFAULT_PAGE};

/// Reading something from the store or a read model.
pub const LOOKUP: usize = 20;

/// Reading a scan as it was at an earlier moment (`asOf`) rather than as it is.
pub const TIME_TRAVEL: usize = 1_000;

/// An authentication attempt (login, registration, refresh, TOTP, OIDC): more than half the
/// limit, so a document holds one.
pub const AUTH: usize = MAX_COMPLEXITY / 2 + 1;

/// The rows `modules` is priced at: the registry is fixed at build time (25 modules today).
pub const MODULES: usize = 32;

/// A lookup plus `rows` rows of `child` each.
pub fn rows(rows: usize, child: usize) -> usize {
    LOOKUP.saturating_add(rows.saturating_mul(child))
}

/// A lookup plus `child`: one object read by its key.
pub fn lookup(child: usize) -> usize {
    LOOKUP.saturating_add(child)
}

/// A paged list: a lookup plus `first` rows of `child` each.
pub fn page(
    ctx: &VisitorContext<'_>,
    variables: &[Positioned<VariableDefinition>],
    field: &Field,
    default: i32,
    child: usize,
) -> usize {
    rows(first(ctx, variables, field, default), child)
}

/// The rows a page asks for: its `first` argument (a literal, a variable or the default),
/// within `0..=MAX_PAGE`; the largest page when it cannot be read here (the request fails
/// before any resolver runs then).
pub fn first(
    ctx: &VisitorContext<'_>,
    variables: &[Positioned<VariableDefinition>],
    field: &Field,
    default: i32,
) -> usize {
    let first = match field.get_argument("first") {
        None => default,
        Some(_) => ctx
            .param_value::<i32>(variables, field, "first", None)
            .unwrap_or(MAX_PAGE),
    };
    usize::try_from(first.clamp(0, MAX_PAGE)).unwrap_or_default()
}

/// One scan read by its id: a lookup, plus [`TIME_TRAVEL`] when `asOf` is given (a literal,
/// or a variable with a value; a variable left out is null).
pub fn scan(
    ctx: &VisitorContext<'_>,
    variables: &[Positioned<VariableDefinition>],
    field: &Field,
    child: usize,
) -> usize {
    let time_travel = field.get_argument("asOf").is_some()
        && matches!(
            ctx.param_value::<Option<DateTime<Utc>>>(variables, field, "asOf", None),
            Ok(Some(_))
        );
    let surcharge = if time_travel { TIME_TRAVEL } else { 0 };
    lookup(child).saturating_add(surcharge)
}
