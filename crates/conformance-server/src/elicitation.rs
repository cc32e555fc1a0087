//! The `requestedSchema`s of the elicitation tools, exactly as the scenarios
//! `tools-call-elicitation`, `elicitation-sep1034-defaults` (default values for
//! every primitive type) and `elicitation-sep1330-enums` (the five enum forms)
//! inspect them.

use rmcp::model::ElicitationSchema;
use serde_json::{Value, json};

/// `test_elicitation`: a username and an email address, both required.
pub fn user_info() -> Value {
    json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"}
        },
        "required": ["username", "email"]
    })
}

/// `test_elicitation_sep1034_defaults`: one field of each primitive type, each
/// with a default value.
pub fn defaults() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active"
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": true}
        }
    })
}

/// `test_elicitation_sep1330_enums`: untitled and titled single-select, the
/// legacy `enumNames` form, and untitled and titled multi-select.
pub fn enums() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Untitled single-select",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "description": "Titled single-select",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}
                ]
            },
            "legacyEnum": {
                "type": "string",
                "description": "Legacy titled enum",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "description": "Untitled multi-select",
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]}
            },
            "titledMulti": {
                "type": "array",
                "description": "Titled multi-select",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"}
                    ]
                }
            }
        }
    })
}

/// `schema` as rmcp's typed elicitation schema.
pub fn typed(schema: Value) -> Result<ElicitationSchema, serde_json::Error> {
    serde_json::from_value(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed schema must put on the wire exactly what the scenario checks:
    /// nothing dropped, renamed or added by rmcp's types.
    #[test]
    fn schemas_survive_rmcp_types_unchanged() {
        for schema in [user_info(), defaults(), enums()] {
            let typed = typed(schema.clone()).expect("valid elicitation schema");
            assert_eq!(serde_json::to_value(&typed).expect("serializes"), schema);
        }
    }

    #[test]
    fn defaults_cover_every_primitive_type() {
        let schema = defaults();
        let properties = schema["properties"].as_object().expect("properties");
        let types: Vec<_> = properties
            .values()
            .map(|property| property["type"].as_str().expect("type"))
            .collect();
        for kind in ["string", "integer", "number", "boolean"] {
            assert!(types.contains(&kind), "{kind}");
        }
        assert!(properties.values().all(|p| p.get("default").is_some()));
    }
}
