//! The tool list of one echo backend, pre-serialised page by page.

use std::collections::HashSet;

/// The name of the tool that echoes its arguments; always the first tool.
pub const ECHO_TOOL: &str = "echo";

/// One generation of a backend's tools: the names and the `tools` array of every page,
/// already serialised (a `tools/list` is a copy).
#[derive(Debug)]
pub struct ToolPages {
    names: HashSet<String>,
    pages: Vec<String>,
}

impl ToolPages {
    /// `count` tools (at least the echo tool), plus `bumped_<generation>` when the generation is
    /// above 0, in pages of `page_size` tools (0: one page).
    pub fn new(count: usize, page_size: usize, generation: u64) -> Self {
        let mut names: Vec<String> = std::iter::once(ECHO_TOOL.to_owned())
            .chain((1..count.max(1)).map(|i| format!("tool_{i}")))
            .collect();
        if generation > 0 {
            names.push(format!("bumped_{generation}"));
        }
        let page_size = if page_size == 0 {
            names.len()
        } else {
            page_size
        };
        let pages = names
            .chunks(page_size)
            .map(|chunk| {
                let entries: Vec<String> = chunk.iter().map(|name| tool_json(name)).collect();
                format!("[{}]", entries.join(","))
            })
            .collect();
        Self {
            names: names.into_iter().collect(),
            pages,
        }
    }

    /// Whether a tool of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The number of tools.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The `result` of `tools/list` for a cursor (`None`: the first page), or `None` when the
    /// cursor is not one this list handed out.
    pub fn page_result(&self, cursor: Option<&str>) -> Option<String> {
        let index = match cursor {
            None => 0,
            Some(cursor) => cursor.parse::<usize>().ok()?,
        };
        let page = self.pages.get(index)?;
        let next = if index + 1 < self.pages.len() {
            format!(r#","nextCursor":"{}""#, index + 1)
        } else {
            String::new()
        };
        Some(format!(r#"{{"tools":{page}{next}}}"#))
    }
}

fn tool_json(name: &str) -> String {
    if name == ECHO_TOOL {
        return r#"{"name":"echo","description":"Returns its arguments as text.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}"#.to_owned();
    }
    format!(
        r#"{{"name":"{name}","description":"Synthetic tool {name}.","inputSchema":{{"type":"object","properties":{{"text":{{"type":"string"}}}}}}}}"#
    )
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn names(result: &str) -> Vec<String> {
        let value: Value = serde_json::from_str(result).expect("valid JSON");
        value["tools"]
            .as_array()
            .expect("tools array")
            .iter()
            .map(|tool| tool["name"].as_str().expect("name").to_owned())
            .collect()
    }

    #[test]
    fn pages_cover_every_tool_once() {
        let tools = ToolPages::new(5, 2, 0);
        let first = tools.page_result(None).expect("first page");
        assert_eq!(names(&first), ["echo", "tool_1"]);
        let value: Value = serde_json::from_str(&first).expect("JSON");
        assert_eq!(value["nextCursor"], "1");
        assert_eq!(
            names(&tools.page_result(Some("1")).expect("p1")),
            ["tool_2", "tool_3"]
        );
        let last = tools.page_result(Some("2")).expect("last page");
        assert_eq!(names(&last), ["tool_4"]);
        assert!(!last.contains("nextCursor"));
        assert!(tools.page_result(Some("3")).is_none());
        assert!(tools.page_result(Some("x")).is_none());
    }

    #[test]
    fn bump_adds_a_tool_and_zero_page_size_is_one_page() {
        let tools = ToolPages::new(3, 0, 2);
        assert_eq!(tools.len(), 4);
        assert!(tools.contains("bumped_2"));
        let page = tools.page_result(None).expect("page");
        assert_eq!(names(&page), ["echo", "tool_1", "tool_2", "bumped_2"]);
    }
}
