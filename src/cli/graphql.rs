//! `rel04d graphql`, like Guardrails' `turbot graphql`: a query (text or
//! `--query FILE`), or the `controls` / `notifications` shortcuts that page
//! through every match. As `turbot graphql` does, it prints the query's data
//! (no `data` wrapper) as YAML unless `--format json`, the shortcuts as
//! `controls: items: …`, and errors on stderr with a non-zero exit. `--output`
//! selects on the connection (`'{ items { state } metadata { stats { total } } }'`)
//! or, rel04d's extension, on each item (`'{ state reason }'`). Runs against
//! the state database, no daemon needed; mutes and unmutes work, `runControl`
//! needs the daemon and says so.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::commands::{open_for_edit, open_read_only};
use crate::config::Settings;
use crate::graphql::{Actor, Rel04Schema};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GraphqlArgs {
    #[command(subcommand)]
    pub list: Option<GraphqlList>,
    /// The query text (or --query FILE).
    pub text: Option<String>,
    /// A file holding the query, e.g. a query saved for Guardrails.
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub query: Option<PathBuf>,
    /// Variables as a JSON object.
    #[arg(long)]
    pub variables: Option<String>,
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum GraphqlList {
    /// Every control matching --filter (Guardrails' filter grammar).
    Controls(ListArgs),
    /// Every control notification (transition) matching --filter, newest first.
    Notifications(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, default_value = "")]
    pub filter: String,
    /// The selection on the list, e.g. '{ items { state reason } }', or on each
    /// item, e.g. '{ state reason resource { turbot { title } } }'.
    #[arg(long, value_name = "SELECTION")]
    pub output: Option<String>,
    #[arg(long, value_enum, default_value = "yaml")]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

const CONTROL_FIELDS: &str = "{ state reason turbot { id resourceId stateChangeTimestamp } \
     resource { turbot { title akas } trunk { title } } }";
const NOTIFICATION_FIELDS: &str = "{ notificationType timestamp actor { identity { turbot { title } } } \
     control { state reason } oldControl { state } resource { turbot { title akas } } }";

pub async fn run(settings: &Settings, args: GraphqlArgs) -> anyhow::Result<()> {
    let policies = settings.policy_set()?;
    let controls = settings.controls()?;
    match args.list {
        // Listing only reads: the database is opened read-only.
        Some(GraphqlList::Controls(list)) => {
            let schema = crate::graphql::schema_with_runner(
                open_read_only(settings).await?,
                policies,
                &controls,
                None,
            );
            let page = list_all(&schema, "controls", CONTROL_FIELDS, &list).await?;
            print(&json!({ "controls": page }), list.format)
        }
        Some(GraphqlList::Notifications(list)) => {
            let schema = crate::graphql::schema_with_runner(
                open_read_only(settings).await?,
                policies,
                &controls,
                None,
            );
            let page = list_all(&schema, "notifications", NOTIFICATION_FIELDS, &list).await?;
            print(&json!({ "notifications": page }), list.format)
        }
        None => {
            let text = match (args.text, args.query) {
                (Some(text), _) => text,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read --query {}", path.display()))?,
                (None, None) => anyhow::bail!(
                    "give a query: rel04d graphql '{{ ... }}', --query FILE, or the controls / notifications subcommands"
                ),
            };
            let variables = match args.variables {
                Some(text) => {
                    serde_json::from_str(&text).context("--variables is not a JSON object")?
                }
                None => json!({}),
            };
            let store = if is_mutation(&text) {
                open_for_edit(settings).await?
            } else {
                open_read_only(settings).await?
            };
            let schema = crate::graphql::schema_with_runner(store, policies, &controls, None);
            let response = execute(&schema, text, variables).await;
            for error in &response.errors {
                eprintln!("error: {}", error.message);
            }
            anyhow::ensure!(response.errors.is_empty(), "the query returned errors");
            print(&response.data.into_json()?, args.format)
        }
    }
}

/// Whether a document holds a mutation (mutes, unmutes), the only requests
/// that may write; a document that does not parse writes nothing (executing it
/// reports why).
fn is_mutation(text: &str) -> bool {
    async_graphql::parser::parse_query(text).is_ok_and(|document| {
        document
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Mutation)
    })
}

async fn execute(schema: &Rel04Schema, query: String, variables: Value) -> async_graphql::Response {
    let actor = std::env::var("USER").unwrap_or_else(|_| "cli".to_owned());
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables))
        .data(Actor(actor));
    crate::graphql::execute(schema, request).await
}

/// Whether `selection` selects on the list (`{ items { … } }`, as
/// `turbot graphql --output` does) rather than on each item.
fn selects_the_list(selection: &str) -> bool {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let Ok(document) = async_graphql::parser::parse_query(format!("{{ list {selection} }}")) else {
        return false;
    };
    let DocumentOperations::Single(operation) = &document.operations else {
        return false;
    };
    let Some(Selection::Field(list)) = operation
        .node
        .selection_set
        .node
        .items
        .first()
        .map(|s| &s.node)
    else {
        return false;
    };
    list.node.selection_set.node.items.iter().any(|s| {
        matches!(&s.node, Selection::Field(f)
            if matches!(f.node.name.node.as_str(), "items" | "metadata" | "paging"))
    })
}

/// The alias of the cursor `list_all` follows, taken out of what it prints.
const CURSOR: &str = "rel04dNextPage";

/// Every item of `field` matching the filter, following `paging.next`: the
/// first page's selection with the items of all pages.
async fn list_all(
    schema: &Rel04Schema,
    field: &str,
    default_fields: &str,
    list: &ListArgs,
) -> anyhow::Result<Value> {
    let selection = match list.output.as_deref() {
        Some(output) if selects_the_list(output) => output.trim().to_owned(),
        output => format!("{{ items {} }}", output.unwrap_or(default_fields)),
    };
    // The cursor rides along under an alias of our own, whatever the selection.
    let inner = selection
        .strip_suffix('}')
        .context("--output must be a selection in braces")?;
    let query = format!(
        "query List($filter: String, $paging: String) {{ list: {field}(filter: $filter, paging: $paging) \
         {inner} {CURSOR}: paging {{ next }} }} }}"
    );
    let (mut first, mut paging) = (Value::Null, Value::Null);
    loop {
        let variables = json!({ "filter": list.filter, "paging": paging });
        let response = execute(schema, query.clone(), variables).await;
        if let Some(error) = response.errors.first() {
            anyhow::bail!("{}", error.message);
        }
        let mut data = response.data.into_json()?;
        let mut page = data["list"].take();
        let next = page[CURSOR]["next"].take();
        if let Some(fields) = page.as_object_mut() {
            fields.remove(CURSOR);
        }
        match (&mut first, page["items"].as_array()) {
            (Value::Null, _) => first = page,
            (first, Some(items)) => {
                if let Some(all) = first["items"].as_array_mut() {
                    all.extend(items.iter().cloned());
                }
            }
            _ => {}
        }
        // A `limit:` in the filter is all the caller wants: one page.
        if next.is_null() || list.filter.contains("limit:") {
            return Ok(first);
        }
        paging = next;
    }
}

fn print(value: &Value, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Yaml => print!("{}", super::yaml::to_yaml(value)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_mutation;

    #[test]
    fn only_documents_with_a_mutation_open_the_database_for_writing() {
        assert!(!is_mutation("{ controls { items { state } } }"));
        assert!(!is_mutation("query Q { controls { items { state } } }"));
        assert!(!is_mutation("not graphql"));
        assert!(is_mutation(
            "mutation { muteControl(input: { workloadId: \"w\", reason: \"r\" }) { muted } }"
        ));
        assert!(is_mutation(
            "query A { controls { items { state } } } mutation B { unmuteControl(input: {}) { muted } }"
        ));
    }
}
