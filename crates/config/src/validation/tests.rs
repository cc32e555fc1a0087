//! One table per rule: each row is a config and the errors it must produce.

use crate::{Config, ConfigError};

/// The error lines for `yaml`, or an empty list when it is valid.
fn errors(yaml: &str) -> Vec<String> {
    match Config::from_yaml(yaml) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { errors, .. }) => {
            errors.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected a validation result for {yaml:?}, got {other}"),
    }
}

/// A config with one server whose fields are `fields` (YAML flow-mapping entries).
fn one(fields: &str) -> String {
    format!("servers:\n- {{{fields}}}\n")
}

/// Runs a table: each row's config must produce exactly the listed errors, in order.
fn check(table: &[(&str, String, &[&str])]) {
    for (case, yaml, want) in table {
        let got = errors(yaml);
        assert_eq!(got, *want, "case {case:?}:\n{yaml}");
    }
}

#[test]
fn name_rules() {
    let url = "url: 'http://h.example.com/'";
    let long_ok = "a".repeat(63);
    let long_bad = "a".repeat(64);
    check(&[
        ("valid", one(&format!("name: a_b.c-9, {url}")), &[]),
        (
            "starts with digit",
            one(&format!("name: 9lives, {url}")),
            &[],
        ),
        ("63 chars", one(&format!("name: {long_ok}, {url}")), &[]),
        ("missing", one(url), &["servers[0]: name: is required"]),
        (
            "empty",
            one(&format!("name: '', {url}")),
            &["servers[0]: name \"\": must not be empty"],
        ),
        (
            "leading hyphen",
            one(&format!("name: -a, {url}")),
            &[
                "servers[0] (-a): name \"-a\": must start with a letter or digit and contain only A-Z a-z 0-9 _ . -",
            ],
        ),
        (
            "space",
            one(&format!("name: 'we ather', {url}")),
            &[
                "servers[0] (we ather): name \"we ather\": must start with a letter or digit and contain only A-Z a-z 0-9 _ . -",
            ],
        ),
        (
            "non-ascii",
            one(&format!("name: 'wëather', {url}")),
            &[
                "servers[0] (wëather): name \"wëather\": must start with a letter or digit and contain only A-Z a-z 0-9 _ . -",
            ],
        ),
        (
            "newline is escaped in the label",
            one(&format!("name: \"a\\nb\", {url}")),
            &[
                "servers[0] (a\\nb): name \"a\\nb\": must start with a letter or digit and contain only A-Z a-z 0-9 _ . -",
            ],
        ),
        (
            "64 chars",
            one(&format!("name: {long_bad}, {url}")),
            &[&format!(
                "servers[0] ({long_bad}): name \"{long_bad}\": must be at most 63 characters (has 64)"
            )],
        ),
    ]);
}

#[test]
fn names_are_unique_across_all_servers() {
    let yaml = "servers:
- {name: a, url: 'http://a/', toolPrefix: a_}
- {name: b, url: 'http://b/', toolPrefix: b_}
- {name: a, url: 'http://c/', toolPrefix: c_, enabled: false}
";
    assert_eq!(
        errors(yaml),
        ["servers[2] (a): name \"a\": already used by servers[0]"]
    );
    assert_eq!(
        errors(&yaml.replace("name: a, url: 'http://c/'", "name: A, url: 'http://c/'")),
        Vec::<String>::new()
    );
}

#[test]
fn url_rules() {
    check(&[
        ("http", one("name: a, url: 'http://h/mcp'"), &[]),
        (
            "https with port",
            one("name: a, url: 'https://h:8443/mcp?x=1'"),
            &[],
        ),
        (
            "missing",
            one("name: a"),
            &["servers[0] (a): url: is required"],
        ),
        (
            "relative",
            one("name: a, url: '/mcp'"),
            &["servers[0] (a): url \"/mcp\": is not a valid URL: relative URL without a base"],
        ),
        (
            "empty host",
            one("name: a, url: 'http://'"),
            &["servers[0] (a): url \"http://\": is not a valid URL: empty host"],
        ),
        (
            "ftp",
            one("name: a, url: 'ftp://h/'"),
            &["servers[0] (a): url \"ftp://h/\": scheme must be http or https, not \"ftp\""],
        ),
        (
            "file",
            one("name: a, url: 'file:///x'"),
            &["servers[0] (a): url \"file:///x\": scheme must be http or https, not \"file\""],
        ),
        (
            "fragment",
            one("name: a, url: 'http://h/mcp#x'"),
            &["servers[0] (a): url \"http://h/mcp#x\": must not have a fragment (#...)"],
        ),
    ]);
}

#[test]
fn hostname_rules() {
    let label63 = "a".repeat(63);
    let label64 = "a".repeat(64);
    let max_len = format!("{label63}.{label63}.{label63}.{}", "a".repeat(61));
    let too_long = format!("{max_len}a");
    let with = |h: &str| one(&format!("name: s, url: 'http://u/', hostname: '{h}'"));
    let bad = |h: &str, msg: &str| format!("servers[0] (s): hostname {h:?}: {msg}");
    check(&[
        ("dns", with("weather.example.com"), &[]),
        ("single label", with("localhost"), &[]),
        ("mixed case", with("Weather.Example.COM"), &[]),
        ("digits in labels", with("1a.b2-c.io"), &[]),
        ("ipv4", with("10.0.0.1"), &[]),
        ("63-char label", with(&label63), &[]),
        ("253 chars", with(&max_len), &[]),
        ("empty means default", with(""), &[]),
        (
            "port",
            with("h:8080"),
            &[&bad("h:8080", "must not include a port")],
        ),
        (
            "ipv4 with port",
            with("10.0.0.1:80"),
            &[&bad("10.0.0.1:80", "must not include a port")],
        ),
        (
            "ipv6",
            with("[::1]"),
            &[&bad(
                "[::1]",
                "must be a DNS hostname or an IPv4 address, not IPv6",
            )],
        ),
        (
            "leading hyphen",
            with("-h.com"),
            &[&bad(
                "-h.com",
                "label \"-h\" must not start or end with a hyphen",
            )],
        ),
        (
            "trailing hyphen",
            with("h-.com"),
            &[&bad(
                "h-.com",
                "label \"h-\" must not start or end with a hyphen",
            )],
        ),
        (
            "double dot",
            with("a..b"),
            &[&bad(
                "a..b",
                "must not have an empty label (leading, trailing or double dot)",
            )],
        ),
        (
            "trailing dot",
            with("a.b."),
            &[&bad(
                "a.b.",
                "must not have an empty label (leading, trailing or double dot)",
            )],
        ),
        (
            "underscore",
            with("a_b.com"),
            &[&bad(
                "a_b.com",
                "must contain only letters, digits, hyphens and dots",
            )],
        ),
        (
            "path",
            with("a.com/x"),
            &[&bad(
                "a.com/x",
                "must contain only letters, digits, hyphens and dots",
            )],
        ),
        (
            "64-char label",
            with(&label64),
            &[&bad(
                &label64,
                &format!("label {label64:?} must be at most 63 characters"),
            )],
        ),
        (
            "254 chars",
            with(&too_long),
            &[&bad(&too_long, "must be at most 253 characters (has 254)")],
        ),
        (
            "bad ipv4",
            with("999.1.1.1"),
            &[&bad(
                "999.1.1.1",
                "is all digits but not a valid IPv4 address",
            )],
        ),
        (
            "short ipv4",
            with("1.2.3"),
            &[&bad("1.2.3", "is all digits but not a valid IPv4 address")],
        ),
        (
            "ipv6 from url",
            one("name: s, url: 'http://[::1]:8080/'"),
            &[
                "servers[0] (s): hostname \"[::1]\": must be a DNS hostname or an IPv4 address, not IPv6 (taken from url; set hostname explicitly)",
            ],
        ),
    ]);
}

#[test]
fn hostnames_are_unique_among_enabled_servers() {
    let yaml = |second_enabled: bool| {
        format!(
            "servers:
- {{name: a, url: 'http://a/', hostname: Weather.example.com, toolPrefix: a_}}
- {{name: b, url: 'http://b/', hostname: weather.EXAMPLE.com, toolPrefix: b_, enabled: {second_enabled}}}
"
        )
    };
    assert_eq!(
        errors(&yaml(true)),
        [
            "servers[1] (b): hostname \"weather.EXAMPLE.com\": already used by enabled servers[0] (a)"
        ]
    );
    assert_eq!(errors(&yaml(false)), Vec::<String>::new());

    let derived = "servers:
- {name: a, url: 'http://same:8080/one', toolPrefix: a_}
- {name: b, url: 'http://same:9090/two', toolPrefix: b_}
";
    assert_eq!(
        errors(derived),
        [
            "servers[1] (b): hostname \"same\": already used by enabled servers[0] (a) (taken from url; set hostname explicitly)"
        ]
    );
}

#[test]
fn tool_prefix_rules() {
    let p64 = "p".repeat(64);
    let p65 = "p".repeat(65);
    let with = |fields: &str| one(&format!("name: s, url: 'http://u/', {fields}"));
    check(&[
        ("legal chars", with("toolPrefix: 'Az09_.-'"), &[]),
        ("64 chars", with(&format!("toolPrefix: {p64}")), &[]),
        ("alias", with("prefix: w_"), &[]),
        (
            "space",
            with("toolPrefix: 'we ather'"),
            &["servers[0] (s): toolPrefix \"we ather\": must contain only A-Z a-z 0-9 _ . -"],
        ),
        (
            "slash",
            with("toolPrefix: 'a/'"),
            &["servers[0] (s): toolPrefix \"a/\": must contain only A-Z a-z 0-9 _ . -"],
        ),
        (
            "65 chars",
            with(&format!("toolPrefix: {p65}")),
            &[&format!(
                "servers[0] (s): toolPrefix \"{p65}\": must be at most 64 characters (has 65)"
            )],
        ),
        (
            "bad alias",
            with("prefix: 'a b'"),
            &["servers[0] (s): prefix \"a b\": must contain only A-Z a-z 0-9 _ . -"],
        ),
        (
            "both",
            with("toolPrefix: a_, prefix: a_"),
            &[
                "servers[0] (s): prefix \"a_\": cannot be combined with toolPrefix (prefix is its alias)",
            ],
        ),
    ]);
}

#[test]
fn error_text_matches_the_documented_example() {
    let yaml = "servers:
- {name: a, url: 'http://a/', toolPrefix: x_}
- {name: weather, url: 'http://w/', toolPrefix: 'we ather'}
";
    assert_eq!(
        errors(yaml),
        ["servers[1] (weather): toolPrefix \"we ather\": must contain only A-Z a-z 0-9 _ . -"]
    );
}

/// A server in a prefix table: name, prefix field (YAML), enabled.
type Row<'a> = (&'a str, &'a str, bool);

#[test]
fn prefix_conflicts_among_enabled_servers() {
    let servers = |rows: &[Row]| {
        let mut yaml = String::from("servers:\n");
        for (name, prefix, enabled) in rows {
            yaml.push_str(&format!(
                "- {{name: {name}, url: 'http://{name}/', {prefix}, enabled: {enabled}}}\n"
            ));
        }
        yaml
    };
    let table: &[(&str, &[Row], &[&str])] = &[
        (
            "disjoint",
            &[("a", "toolPrefix: a_", true), ("b", "toolPrefix: b_", true)],
            &[],
        ),
        (
            "one starts the other",
            &[
                ("a", "toolPrefix: weather_", true),
                ("x", "toolPrefix: x_", true),
                ("b", "toolPrefix: we", true),
            ],
            &[
                "servers[2] (b): toolPrefix \"we\" conflicts with servers[0] (a) toolPrefix \"weather_\": one is a prefix of the other",
            ],
        ),
        (
            "longer comes second",
            &[
                ("a", "toolPrefix: we", true),
                ("b", "toolPrefix: weather_", true),
            ],
            &[
                "servers[1] (b): toolPrefix \"weather_\" conflicts with servers[0] (a) toolPrefix \"we\": one is a prefix of the other",
            ],
        ),
        (
            "equal",
            &[("a", "toolPrefix: w_", true), ("b", "toolPrefix: w_", true)],
            &[
                "servers[1] (b): toolPrefix \"w_\" conflicts with servers[0] (a) toolPrefix \"w_\": the prefixes are equal",
            ],
        ),
        (
            "alias named in both places",
            &[("a", "prefix: ab", true), ("b", "prefix: a", true)],
            &[
                "servers[1] (b): prefix \"a\" conflicts with servers[0] (a) prefix \"ab\": one is a prefix of the other",
            ],
        ),
        (
            "empty and another",
            &[("a", "toolPrefix: ''", true), ("b", "toolPrefix: b_", true)],
            &[
                "servers[1] (b): toolPrefix \"b_\" conflicts with servers[0] (a) toolPrefix \"\": an empty prefix is only allowed on the single enabled server",
            ],
        ),
        (
            "two defaults",
            &[("a", "hostname: ''", true), ("b", "hostname: ''", true)],
            &[
                "servers[1] (b): toolPrefix \"\" conflicts with servers[0] (a) toolPrefix \"\": an empty prefix is only allowed on the single enabled server",
            ],
        ),
        (
            "empty alone",
            &[
                ("a", "toolPrefix: ''", true),
                ("b", "toolPrefix: b_", false),
            ],
            &[],
        ),
        (
            "disabled equal",
            &[
                ("a", "toolPrefix: w_", false),
                ("b", "toolPrefix: w_", true),
            ],
            &[],
        ),
        (
            "every conflicting pair is reported",
            &[
                ("a", "toolPrefix: w", true),
                ("b", "toolPrefix: we", true),
                ("c", "toolPrefix: wea", true),
            ],
            &[
                "servers[1] (b): toolPrefix \"we\" conflicts with servers[0] (a) toolPrefix \"w\": one is a prefix of the other",
                "servers[2] (c): toolPrefix \"wea\" conflicts with servers[0] (a) toolPrefix \"w\": one is a prefix of the other",
                "servers[2] (c): toolPrefix \"wea\" conflicts with servers[1] (b) toolPrefix \"we\": one is a prefix of the other",
            ],
        ),
    ];
    for (case, rows, want) in table {
        assert_eq!(errors(&servers(rows)), *want, "case {case:?}");
    }
}

#[test]
fn all_errors_are_collected_and_grouped_by_server() {
    let yaml = "servers:
- {name: ok, url: 'http://ok/', toolPrefix: ok_}
- {url: 'ftp://x/', hostname: 'h:1', toolPrefix: 'a b'}
- {name: ok, url: 'http://dup/', toolPrefix: ok_}
";
    assert_eq!(
        errors(yaml),
        [
            "servers[1]: name: is required",
            "servers[1]: url \"ftp://x/\": scheme must be http or https, not \"ftp\"",
            "servers[1]: hostname \"h:1\": must not include a port",
            "servers[1]: toolPrefix \"a b\": must contain only A-Z a-z 0-9 _ . -",
            "servers[2] (ok): name \"ok\": already used by servers[0]",
            "servers[2] (ok): toolPrefix \"ok_\" conflicts with servers[0] (ok) toolPrefix \"ok_\": the prefixes are equal",
        ]
    );
}

#[test]
fn field_error_carries_its_path() {
    let Err(error) = Config::from_yaml(&one("name: a, url: 'http://a/', prefix: 'x y'")) else {
        panic!("expected an error");
    };
    let [field] = error.field_errors() else {
        panic!("expected one field error, got {error}");
    };
    assert_eq!(field.path(), "servers[0].prefix");
    assert_eq!(field.index(), 0);
    assert_eq!(field.server(), Some("a"));
    assert_eq!(field.field(), "prefix");
    assert_eq!(field.value(), Some("x y"));
    assert_eq!(field.message(), "must contain only A-Z a-z 0-9 _ . -");
}

#[test]
fn stdio_server_rules() {
    check(&[
        (
            "valid",
            one("name: ev, command: node, args: [a.js, stdio], env: {A: b}, port: 9101"),
            &[],
        ),
        (
            "no port",
            one("name: ev, command: node"),
            &[
                "servers[0] (ev): port: is required with command: the loopback port of its bridge (1-65535)",
            ],
        ),
        (
            "url and command",
            one("name: ev, command: node, port: 9101, url: 'http://h.example.com/'"),
            &[
                "servers[0] (ev): url \"http://h.example.com/\": cannot be combined with command (the bridge's address is the URL)",
            ],
        ),
        (
            "stdio fields without command",
            one("name: ev, url: 'http://h.example.com/', args: [x], port: 1"),
            &[
                "servers[0] (ev): args: is only for stdio servers (set command)",
                "servers[0] (ev): port: is only for stdio servers (set command)",
            ],
        ),
        (
            "empty command",
            one("name: ev, command: ' ', port: 9101"),
            &["servers[0] (ev): command \" \": must not be empty"],
        ),
        (
            "bad env name",
            one("name: ev, command: node, port: 9101, env: {'A=B': c}"),
            &["servers[0] (ev): env \"A=B\": is not a variable name"],
        ),
    ]);
}

#[test]
fn stdio_servers_are_reached_at_their_bridge_and_routed_by_name() {
    let yaml = "servers:\n\
        - {name: One, command: node, args: [a.js], env: {K: v}, workingDir: /srv, port: 9101, toolPrefix: a_}\n\
        - {name: two, command: uvx, port: 9102, hostname: two.local, toolPrefix: b_}\n";
    let config = Config::from_yaml(yaml).expect("valid");
    let [one, two] = config.servers() else {
        panic!("two servers")
    };
    assert_eq!(one.url.as_str(), "http://127.0.0.1:9101/mcp");
    assert_eq!(one.hostname, "one");
    assert_eq!(two.hostname, "two.local");
    let command = one.command.as_ref().expect("a stdio server");
    assert_eq!(command.program, "node");
    assert_eq!(command.args, ["a.js"]);
    assert_eq!(command.env.get("K").map(String::as_str), Some("v"));
    assert_eq!(
        command.working_dir.as_deref(),
        Some(std::path::Path::new("/srv"))
    );
    // Written back without a url, and read again to the same config.
    let raw = crate::RawConfig::from(&config);
    assert_eq!(raw.servers[0].url, None);
    let text = serde_yaml::to_string(&raw).expect("serializes");
    assert_eq!(Config::from_yaml(&text).expect("round trip"), config);
}
