//! The `calc` server's resources: constants, notes and the `calc://square/{n}` template.

use rmcp::{
    ErrorData,
    model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate},
};
use serde_json::json;

use crate::shared::{json_text, resource_not_found, template_variable};

/// Mathematical constants as JSON.
pub const CONSTANTS: &str = "calc://constants";
/// Notes; the `text` server has a resource with the same URI on purpose.
pub const NOTES: &str = "file:///notes.txt";
/// The square of a number.
pub const SQUARE_TEMPLATE: &str = "calc://square/{n}";

/// [`SQUARE_TEMPLATE`] up to its variable.
const SQUARE_PREFIX: &str = "calc://square/";

/// Text of [`NOTES`].
pub const NOTES_TEXT: &str =
    "Notes of the calc server: all arithmetic is IEEE 754 double precision.";

/// The direct resources, in a stable order.
pub fn list() -> Vec<Resource> {
    vec![
        Resource::new(CONSTANTS, "constants")
            .with_description("The constants pi and e")
            .with_mime_type("application/json"),
        Resource::new(NOTES, "notes")
            .with_description("Notes of the calc server")
            .with_mime_type("text/plain"),
    ]
}

/// The resource templates.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(SQUARE_TEMPLATE, "square")
            .with_description("The square of the number n")
            .with_mime_type("text/plain"),
    ]
}

/// The value of a `calc://square/{n}` URI: n * n, when that is a finite number.
fn square(uri: &str) -> Option<f64> {
    template_variable(SQUARE_PREFIX, uri)?
        .parse::<f64>()
        .ok()
        .map(|n| n * n)
        .filter(|square| square.is_finite())
}

/// Whether `uri` names a resource of this server (listed or from the template).
pub fn exists(uri: &str) -> bool {
    matches!(uri, CONSTANTS | NOTES) || square(uri).is_some()
}

/// The contents of `uri`; an unknown URI (or a square that overflows) is a
/// resource-not-found error.
pub fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let contents = match uri {
        CONSTANTS => {
            let constants = json!({"pi": std::f64::consts::PI, "e": std::f64::consts::E});
            ResourceContents::text(json_text(&constants), uri).with_mime_type("application/json")
        }
        NOTES => ResourceContents::text(NOTES_TEXT, uri).with_mime_type("text/plain"),
        _ => {
            let square = square(uri).ok_or_else(|| resource_not_found(uri))?;
            ResourceContents::text(square.to_string(), uri).with_mime_type("text/plain")
        }
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(uri: &str) -> serde_json::Value {
        let result = read(uri).expect(uri);
        serde_json::to_value(&result.contents[0]).expect("serializes")
    }

    #[test]
    fn reads_every_listed_resource() {
        let listed = list();
        assert!(!listed.is_empty());
        for resource in listed {
            assert!(exists(&resource.uri));
            let contents = contents(&resource.uri);
            assert_eq!(contents["uri"], resource.uri.as_str());
            assert_eq!(contents["mimeType"].as_str(), resource.mime_type.as_deref());
        }
        let constants: serde_json::Value =
            serde_json::from_str(contents(CONSTANTS)["text"].as_str().expect("text"))
                .expect("json");
        assert_eq!(constants["pi"], std::f64::consts::PI);
        assert_eq!(constants["e"], std::f64::consts::E);
    }

    #[test]
    fn squares_from_the_template() {
        assert_eq!(contents("calc://square/7")["text"], "49");
        assert_eq!(contents("calc://square/-1.5")["text"], "2.25");
    }

    #[test]
    fn unknown_uris_and_overflows_are_not_found() {
        for uri in [
            "calc://square/",
            "calc://square/x",
            "calc://square/1e200",
            "calc://square/inf",
            "calc://nope",
            "text://readme",
        ] {
            assert!(!exists(uri), "{uri}");
            let error = read(uri).expect_err(uri);
            assert_eq!(
                error.code,
                rmcp::model::ErrorCode::RESOURCE_NOT_FOUND,
                "{uri}"
            );
        }
    }
}
