//! Checks a GraphQL document before async-graphql sees it, closing what its own limits miss:
//! the parser recurses without bound on nested list and object values (a few kilobytes of `[`
//! overflow the stack), and the complexity and depth checks expand fragment spreads without
//! memoisation (exponential work) and give `__typename` no cost.

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// Deepest nesting of `{`, `[` and `(` outside strings.
pub const MAX_NESTING: usize = 64;
/// Most fields a document may select once every fragment spread is expanded.
pub const MAX_EXPANDED_FIELDS: u64 = 5_000;

/// `Err(reason)` when the document must not be parsed or executed.
pub fn check(query: &str) -> Result<(), String> {
    check_nesting(query)?;
    // Nesting is bounded now, so parsing is safe; parse errors are async-graphql's to report.
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Ok(());
    };
    check_expansion(&document)
}

fn check_nesting(query: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in query.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!("document nesting exceeds {MAX_NESTING} levels"));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Counts fields (`__typename` included) with each fragment counted once and reused.
fn check_expansion(document: &ExecutableDocument) -> Result<(), String> {
    let mut memo: HashMap<String, u64> = HashMap::new();
    let mut total: u64 = 0;
    for (_, operation) in document.operations.iter() {
        total = total.saturating_add(count(
            &operation.node.selection_set.node,
            document,
            &mut memo,
            0,
        )?);
    }
    if total > MAX_EXPANDED_FIELDS {
        return Err(format!(
            "document selects {total} fields once fragments are expanded, the limit is {MAX_EXPANDED_FIELDS}"
        ));
    }
    Ok(())
}

fn count(
    set: &SelectionSet,
    document: &ExecutableDocument,
    memo: &mut HashMap<String, u64>,
    depth: usize,
) -> Result<u64, String> {
    if depth > MAX_NESTING {
        return Err("fragments nest too deeply or form a cycle".to_owned());
    }
    let mut fields: u64 = 0;
    for item in &set.items {
        let add = match &item.node {
            Selection::Field(field) => {
                1 + count(&field.node.selection_set.node, document, memo, depth + 1)?
            }
            Selection::InlineFragment(fragment) => {
                count(&fragment.node.selection_set.node, document, memo, depth + 1)?
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match memo.get(name) {
                    Some(known) => *known,
                    None => {
                        let inner = match document.fragments.get(name) {
                            Some(fragment) => {
                                count(&fragment.node.selection_set.node, document, memo, depth + 1)?
                            }
                            None => 0,
                        };
                        memo.insert(name.to_owned(), inner);
                        inner
                    }
                }
            }
        };
        fields = fields.saturating_add(add);
        if fields > MAX_EXPANDED_FIELDS {
            return Ok(fields);
        }
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_values_are_refused_before_parsing() {
        let deep = format!("{{ me(x: {}) {{ id }} }}", "[".repeat(5000));
        assert!(check(&deep).unwrap_err().contains("nesting"));
        let in_string = format!("{{ me(x: \"{}\") {{ id }} }}", "[".repeat(5000));
        assert!(
            check(&in_string).is_ok(),
            "brackets inside strings do not count"
        );
    }

    #[test]
    fn exponential_fragments_and_typename_aliases_are_counted() {
        let mut document =
            String::from("query { ...F0 }\nfragment F20 on QueryRoot { __typename }\n");
        for i in 0..20 {
            document.push_str(&format!(
                "fragment F{i} on QueryRoot {{ ...F{n} ...F{n} }}\n",
                n = i + 1
            ));
        }
        assert!(check(&document).unwrap_err().contains("fields"));
        let aliases: String = (0..6000).map(|i| format!("a{i}: __typename ")).collect();
        assert!(check(&format!("{{ {aliases} }}")).is_err());
        assert!(check("{ me { id email teams { id name } } }").is_ok());
    }
}
