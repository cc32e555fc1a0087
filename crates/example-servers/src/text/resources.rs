//! The `text` server's resources: two documents and the `text://words/{word}` template.

use rmcp::{
    ErrorData,
    model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate},
};
use serde_json::json;

use crate::shared::{json_text, resource_not_found, template_variable};

/// What the server is and offers.
pub const README: &str = "text://readme";
/// Notes; the `calc` server has a resource with the same URI on purpose.
pub const NOTES: &str = "file:///notes.txt";
/// Facts about one word.
pub const WORDS_TEMPLATE: &str = "text://words/{word}";

/// [`WORDS_TEMPLATE`] up to its variable.
const WORDS_PREFIX: &str = "text://words/";

/// Text of [`README`].
pub const README_TEXT: &str = "The text server: string tools (upper, lower, reverse, word_count, \
echo, now), the prompts summarize and translate, and facts about any word at text://words/{word}.";
/// Text of [`NOTES`].
pub const NOTES_TEXT: &str = "Notes of the text server: words are split on whitespace.";

/// Words suggested for the `word` variable of [`WORDS_TEMPLATE`].
pub const WORDS: &[&str] = &["envoy", "gateway", "hello", "prompt", "resource", "world"];

/// The direct resources, in a stable order.
pub fn list() -> Vec<Resource> {
    vec![
        Resource::new(README, "readme")
            .with_description("What the text server offers")
            .with_mime_type("text/plain"),
        Resource::new(NOTES, "notes")
            .with_description("Notes of the text server")
            .with_mime_type("text/plain"),
    ]
}

/// The resource templates.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(WORDS_TEMPLATE, "word")
            .with_description("Letters, reversal and upper case of one word, as JSON")
            .with_mime_type("application/json"),
    ]
}

/// Whether `uri` names a resource of this server (listed or from the template).
pub fn exists(uri: &str) -> bool {
    matches!(uri, README | NOTES) || template_variable(WORDS_PREFIX, uri).is_some()
}

/// The contents of `uri`; an unknown URI is a resource-not-found error.
pub fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let contents = match uri {
        README => ResourceContents::text(README_TEXT, uri).with_mime_type("text/plain"),
        NOTES => ResourceContents::text(NOTES_TEXT, uri).with_mime_type("text/plain"),
        _ => {
            let word =
                template_variable(WORDS_PREFIX, uri).ok_or_else(|| resource_not_found(uri))?;
            let facts = json!({
                "word": word,
                "letters": word.chars().count(),
                "reversed": word.chars().rev().collect::<String>(),
                "upper": word.to_uppercase(),
            });
            ResourceContents::text(json_text(&facts), uri).with_mime_type("application/json")
        }
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(result: &ReadResourceResult) -> serde_json::Value {
        serde_json::to_value(&result.contents[0]).expect("serializes")
    }

    #[test]
    fn reads_every_listed_resource() {
        let listed = list();
        assert!(!listed.is_empty());
        for resource in listed {
            assert!(exists(&resource.uri));
            let contents = text_of(&read(&resource.uri).expect(&resource.uri));
            assert_eq!(contents["uri"], resource.uri.as_str());
            assert_eq!(contents["mimeType"].as_str(), resource.mime_type.as_deref());
        }
        assert_eq!(text_of(&read(NOTES).expect("notes"))["text"], NOTES_TEXT);
    }

    #[test]
    fn reads_words_from_the_template() {
        let contents = text_of(&read("text://words/héllo").expect("word"));
        let facts: serde_json::Value =
            serde_json::from_str(contents["text"].as_str().expect("text")).expect("json");
        assert_eq!(
            facts,
            json!({"word": "héllo", "letters": 5, "reversed": "olléh", "upper": "HÉLLO"})
        );
    }

    #[test]
    fn unknown_uris_are_not_found() {
        for uri in [
            "text://nope",
            "text://words/",
            "text://words/a/b",
            "file:///other.txt",
        ] {
            assert!(!exists(uri), "{uri}");
            let error = read(uri).expect_err(uri);
            assert_eq!(error.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND);
        }
    }
}
