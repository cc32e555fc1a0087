//! Owners of backend URIs: which server a URI without the gateway's prefix belongs to.
//!
//! A tool's result may link to a resource by the backend's own URI (a `resource_link`).
//! Such a URI carries no gateway prefix, so it is matched against every healthy server's
//! listed resources (exactly) and URI templates (by shape, see
//! `mcp_gateway_protocol::uri_template`). Only reads of URIs no prefix claims come here.

use std::collections::HashMap;
use std::sync::Arc;

use mcp_gateway_protocol::uri_template;
use serde_json::Value;

use crate::ListKind;

/// Backend URIs and URI templates of every healthy server, by server.
#[derive(Debug, Default)]
pub(crate) struct Links {
    /// A listed resource's original URI -> the servers that list it.
    exact: HashMap<String, Vec<Arc<str>>>,
    /// (server, original URI template).
    templates: Vec<(Arc<str>, String)>,
}

/// The servers that own a backend URI: none, one, or (ambiguous) the first two found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkOwner<'a> {
    /// No server lists the URI or a template that produces it.
    None,
    /// Exactly one server does.
    One(&'a str),
    /// At least two servers do (two of them named).
    Ambiguous(&'a str, &'a str),
}

impl Links {
    /// Adds what one healthy server lists.
    pub(crate) fn add(&mut self, server: &Arc<str>, lists: &[Vec<Value>; 4]) {
        let originals = |kind: ListKind| {
            lists[kind.index()]
                .iter()
                .filter_map(move |item| item.get(kind.name_field()).and_then(Value::as_str))
        };
        for uri in originals(ListKind::Resources) {
            let owners = self.exact.entry(uri.to_owned()).or_default();
            if !owners.contains(server) {
                owners.push(server.clone());
            }
        }
        for template in originals(ListKind::ResourceTemplates) {
            self.templates.push((server.clone(), template.to_owned()));
        }
    }

    /// The servers whose listed resources or templates produce `uri`.
    pub(crate) fn owner(&self, uri: &str) -> LinkOwner<'_> {
        let listed = self.exact.get(uri).into_iter().flatten();
        let templated = self
            .templates
            .iter()
            .filter(|(_, template)| uri_template::matches(template, uri))
            .map(|(server, _)| server);
        let mut first: Option<&str> = None;
        for server in listed.chain(templated) {
            match first {
                None => first = Some(server),
                Some(one) if one != server.as_ref() => return LinkOwner::Ambiguous(one, server),
                Some(_) => {}
            }
        }
        first.map_or(LinkOwner::None, LinkOwner::One)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lists(resources: &[&str], templates: &[&str]) -> [Vec<Value>; 4] {
        let mut lists: [Vec<Value>; 4] = Default::default();
        lists[ListKind::Resources.index()] = resources.iter().map(|u| json!({"uri": u})).collect();
        lists[ListKind::ResourceTemplates.index()] = templates
            .iter()
            .map(|t| json!({"uriTemplate": t}))
            .collect();
        lists
    }

    #[test]
    fn owners_by_listed_uri_and_by_template() {
        let mut links = Links::default();
        links.add(
            &Arc::from("ev"),
            &lists(&["demo://static/1"], &["demo://dynamic/{id}"]),
        );
        links.add(
            &Arc::from("fs"),
            &lists(&["file:///a", "demo://static/1"], &["file:///{+path}"]),
        );
        assert_eq!(links.owner("demo://dynamic/7"), LinkOwner::One("ev"));
        assert_eq!(links.owner("file:///x/y"), LinkOwner::One("fs"));
        assert_eq!(links.owner("file:///a"), LinkOwner::One("fs"));
        assert_eq!(
            links.owner("demo://static/1"),
            LinkOwner::Ambiguous("ev", "fs")
        );
        assert_eq!(links.owner("other://x"), LinkOwner::None);
    }
}
