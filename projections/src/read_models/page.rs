//! Paged lists: which rows a list may show ([`Scope`]), where a page starts (the id of the last
//! row of the previous page) and the numbered SQL parameters the paged queries build.
//!
//! A cursor is the id of a row the list showed. It is looked up inside the same scope as the
//! list, so an id the caller cannot see (another organization's, another team's, or nobody's)
//! answers [`Listed::UnknownCursor`], the same for all three: a cursor never tells where an
//! invisible row would sort.

use sqlx::any::AnyArguments;

/// Which rows of an organization a list may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every row of the organization.
    Organization(uuid::Uuid),
    /// The rows of the organization that belong to a team `user_id` is a member of.
    TeamsOf {
        organization_id: uuid::Uuid,
        user_id: uuid::Uuid,
    },
}

impl Scope {
    pub fn organization_id(&self) -> uuid::Uuid {
        match *self {
            Scope::Organization(organization_id)
            | Scope::TeamsOf {
                organization_id, ..
            } => organization_id,
        }
    }
}

/// One page of a list: at most `limit` rows after the row whose id is `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: Option<uuid::Uuid>,
    pub limit: i64,
}

/// The rows of a page, or the news that its cursor names no row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed<T> {
    Rows(Vec<T>),
    UnknownCursor,
}

/// A parameter of a paged query.
enum Value {
    Text(String),
    Integer(i64),
}

/// The parameters of a query being written, numbered in the order they are added (`$1`, `$2`,
/// ...), so a clause and its value are always written together.
#[derive(Default)]
pub(crate) struct Parameters {
    values: Vec<Value>,
}

impl Parameters {
    /// Adds a text parameter and answers its placeholder.
    pub(crate) fn text(&mut self, value: impl Into<String>) -> String {
        self.values.push(Value::Text(value.into()));
        format!("${}", self.values.len())
    }

    /// Adds an integer parameter and answers its placeholder.
    pub(crate) fn integer(&mut self, value: i64) -> String {
        self.values.push(Value::Integer(value));
        format!("${}", self.values.len())
    }

    /// `AND <team column> IN (...)` when the scope is a user's teams, else nothing.
    pub(crate) fn scope(&mut self, scope: &Scope, team_column: &str) -> String {
        match scope {
            Scope::Organization(_) => String::new(),
            Scope::TeamsOf { user_id, .. } => format!(
                " AND {team_column} IN (SELECT team_id FROM team_members WHERE user_id = {})",
                self.text(user_id.to_string())
            ),
        }
    }

    /// The query with every parameter bound, in order.
    pub(crate) fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>> {
        for value in self.values {
            query = match value {
                Value::Text(text) => query.bind(text),
                Value::Integer(number) => query.bind(number),
            };
        }
        query
    }
}
