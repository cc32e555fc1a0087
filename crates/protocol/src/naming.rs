//! Naming rules: valid MCP tool names and the gateway's prefixing.

/// The longest valid MCP tool name, in characters.
pub const MAX_TOOL_NAME_LEN: usize = 128;

/// Whether `name` is a valid MCP tool name: 1 to 128 characters, each one of
/// `A-Z`, `a-z`, `0-9`, `_`, `.` or `-`.
pub fn is_valid_tool_name(name: &str) -> bool {
    (1..=MAX_TOOL_NAME_LEN).contains(&name.len()) && name.bytes().all(is_name_byte)
}

/// Whether `prefix` can start exposed tool names: only tool-name characters,
/// and short enough to leave room for at least one character of the name.
/// The empty prefix (no prefixing) is valid.
pub fn is_valid_prefix(prefix: &str) -> bool {
    prefix.len() < MAX_TOOL_NAME_LEN && prefix.bytes().all(is_name_byte)
}

/// The name the gateway exposes for a backend's `name`: `prefix + name`.
pub fn expose(prefix: &str, name: &str) -> String {
    let mut exposed = String::with_capacity(prefix.len() + name.len());
    exposed.push_str(prefix);
    exposed.push_str(name);
    exposed
}

/// The backend's name for an exposed name, or `None` when `exposed` does not
/// start with `prefix` or nothing follows it.
pub fn strip<'n>(prefix: &str, exposed: &'n str) -> Option<&'n str> {
    exposed.strip_prefix(prefix).filter(|name| !name.is_empty())
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names() {
        let max = "a".repeat(MAX_TOOL_NAME_LEN);
        let too_long = "a".repeat(MAX_TOOL_NAME_LEN + 1);
        let cases: &[(&str, bool)] = &[
            ("add", true),
            ("weather_get-forecast.v2", true),
            ("A9", true),
            (&max, true),
            ("", false),
            (&too_long, false),
            ("has space", false),
            ("slash/name", false),
            ("colon:name", false),
            ("é", false),
            ("emoji😀", false),
            ("nul\0", false),
        ];
        for (name, valid) in cases {
            assert_eq!(is_valid_tool_name(name), *valid, "{name:?}");
        }
    }

    #[test]
    fn prefixes() {
        assert!(is_valid_prefix(""));
        assert!(is_valid_prefix("weather_"));
        assert!(!is_valid_prefix("bad prefix"));
        assert!(!is_valid_prefix(&"p".repeat(MAX_TOOL_NAME_LEN)));
        assert!(is_valid_prefix(&"p".repeat(MAX_TOOL_NAME_LEN - 1)));
    }

    #[test]
    fn expose_and_strip_round_trip() {
        assert_eq!(expose("weather_", "add"), "weather_add");
        assert_eq!(strip("weather_", "weather_add"), Some("add"));
        assert_eq!(strip("weather_", "news_add"), None);
        assert_eq!(strip("weather_", "weather_"), None);
        assert_eq!(strip("", "add"), Some("add"));
        assert_eq!(strip("weather_", "weather_weather_x"), Some("weather_x"));
    }
}
