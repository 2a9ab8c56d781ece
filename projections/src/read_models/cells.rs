//! Reading read-model rows defensively: a stored value that does not parse is a
//! `ProjectionError::Database("corrupt read model row: <table>.<column>")`, never a panic.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::error::ProjectionError;

/// Reads the columns of one row of `table`, turning anything unreadable into a corrupt-row error.
pub(crate) struct Cells<'r> {
    row: &'r AnyRow,
    table: &'static str,
}

impl<'r> Cells<'r> {
    pub(crate) fn new(row: &'r AnyRow, table: &'static str) -> Self {
        Self { row, table }
    }

    pub(crate) fn corrupt(&self, column: &str) -> ProjectionError {
        tracing::error!(table = self.table, column, "corrupt value in a read model");
        ProjectionError::Database(format!("corrupt read model row: {}.{column}", self.table))
    }

    pub(crate) fn text(&self, column: &str) -> Result<String, ProjectionError> {
        self.row
            .try_get::<String, _>(column)
            .map_err(|_| self.corrupt(column))
    }

    pub(crate) fn optional_text(&self, column: &str) -> Result<Option<String>, ProjectionError> {
        self.row
            .try_get::<Option<String>, _>(column)
            .map_err(|_| self.corrupt(column))
    }

    pub(crate) fn integer(&self, column: &str) -> Result<i64, ProjectionError> {
        self.row
            .try_get::<i64, _>(column)
            .map_err(|_| self.corrupt(column))
    }

    pub(crate) fn optional_integer(&self, column: &str) -> Result<Option<i64>, ProjectionError> {
        self.row
            .try_get::<Option<i64>, _>(column)
            .map_err(|_| self.corrupt(column))
    }

    pub(crate) fn uuid(&self, column: &str) -> Result<Uuid, ProjectionError> {
        Uuid::parse_str(&self.text(column)?).map_err(|_| self.corrupt(column))
    }

    pub(crate) fn flag(&self, column: &str) -> Result<bool, ProjectionError> {
        match self.integer(column)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.corrupt(column)),
        }
    }

    pub(crate) fn count(&self, column: &str) -> Result<u64, ProjectionError> {
        u64::try_from(self.integer(column)?).map_err(|_| self.corrupt(column))
    }

    pub(crate) fn time(&self, micros: i64, column: &str) -> Result<DateTime<Utc>, ProjectionError> {
        DateTime::from_timestamp_micros(micros).ok_or_else(|| self.corrupt(column))
    }

    pub(crate) fn micros(&self, column: &str) -> Result<DateTime<Utc>, ProjectionError> {
        self.time(self.integer(column)?, column)
    }

    pub(crate) fn optional_micros(
        &self,
        column: &str,
    ) -> Result<Option<DateTime<Utc>>, ProjectionError> {
        self.optional_integer(column)?
            .map(|micros| self.time(micros, column))
            .transpose()
    }
}
