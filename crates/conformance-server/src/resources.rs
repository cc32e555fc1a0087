//! The resources and the resource template of the `resources-*` scenarios.

use rmcp::{
    ErrorData,
    model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate},
};
use serde_json::json;

use crate::media;

/// A text resource.
pub const STATIC_TEXT: &str = "test://static-text";
/// A binary (PNG) resource.
pub const STATIC_BINARY: &str = "test://static-binary";
/// The resource the subscribe scenarios subscribe to.
pub const WATCHED: &str = "test://watched-resource";
/// The template; `{id}` is substituted into the content.
pub const TEMPLATE: &str = "test://template/{id}/data";

/// Prefix and suffix of URIs matching [`TEMPLATE`].
const TEMPLATE_PREFIX: &str = "test://template/";
const TEMPLATE_SUFFIX: &str = "/data";

/// Text of [`STATIC_TEXT`].
pub const STATIC_TEXT_CONTENT: &str = "This is the content of the static text resource.";

/// The direct resources, in a stable order.
pub fn list() -> Vec<Resource> {
    vec![
        Resource::new(STATIC_TEXT, "static-text")
            .with_description("A static text resource")
            .with_mime_type("text/plain"),
        Resource::new(STATIC_BINARY, "static-binary")
            .with_description("A static binary resource: a 1x1 red PNG")
            .with_mime_type(media::PNG_MIME),
        Resource::new(WATCHED, "watched-resource")
            .with_description("A resource clients can subscribe to")
            .with_mime_type("text/plain"),
    ]
}

/// The resource templates.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(TEMPLATE, "template-data")
            .with_description("JSON data for the id in the URI")
            .with_mime_type("application/json"),
    ]
}

/// The `{id}` of a URI matching [`TEMPLATE`]: one non-empty path segment.
pub fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix(TEMPLATE_PREFIX)?
        .strip_suffix(TEMPLATE_SUFFIX)?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Whether `uri` names a resource of this server.
pub fn exists(uri: &str) -> bool {
    matches!(uri, STATIC_TEXT | STATIC_BINARY | WATCHED) || template_id(uri).is_some()
}

/// The contents of `uri`; an unknown URI is a resource-not-found error.
pub fn read(uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let contents = match uri {
        STATIC_TEXT => {
            ResourceContents::text(STATIC_TEXT_CONTENT, uri).with_mime_type("text/plain")
        }
        STATIC_BINARY => {
            ResourceContents::blob(media::png_base64(), uri).with_mime_type(media::PNG_MIME)
        }
        WATCHED => ResourceContents::text("This resource is watched for updates.", uri)
            .with_mime_type("text/plain"),
        _ => match template_id(uri) {
            Some(id) => {
                let data =
                    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                ResourceContents::text(data.to_string(), uri).with_mime_type("application/json")
            }
            None => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource {uri:?}"),
                    Some(json!({"uri": uri})),
                ));
            }
        },
    };
    Ok(ReadResourceResult::new(vec![contents]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_template() {
        assert_eq!(template_id("test://template/123/data"), Some("123"));
        assert_eq!(template_id("test://template//data"), None);
        assert_eq!(template_id("test://template/a/b/data"), None);
        assert_eq!(template_id("test://template/123"), None);
        assert_eq!(template_id("test://static-text"), None);
    }

    #[test]
    fn substitutes_the_template_id() {
        let result = read("test://template/123/data").expect("read");
        let contents = serde_json::to_value(&result.contents[0]).expect("serializes");
        assert_eq!(contents["uri"], "test://template/123/data");
        assert_eq!(contents["mimeType"], "application/json");
        let data: serde_json::Value =
            serde_json::from_str(contents["text"].as_str().expect("text")).expect("json");
        assert_eq!(
            data,
            json!({"id": "123", "templateTest": true, "data": "Data for ID: 123"})
        );
    }

    #[test]
    fn every_listed_resource_reads_with_its_mime_type() {
        for resource in list() {
            assert!(exists(&resource.uri));
            let result = read(&resource.uri).expect(&resource.uri);
            let contents = serde_json::to_value(&result.contents[0]).expect("serializes");
            assert_eq!(contents["mimeType"].as_str(), resource.mime_type.as_deref());
        }
    }

    #[test]
    fn unknown_uris_are_not_found() {
        assert!(!exists("test://nope"));
        let error = read("test://nope").expect_err("unknown");
        assert_eq!(error.code, rmcp::model::ErrorCode::RESOURCE_NOT_FOUND);
    }
}
