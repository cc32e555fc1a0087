use std::io::Write as _;

use crate::{Config, ConfigError, RawConfig};

fn parse(yaml: &str) -> Config {
    match Config::from_yaml(yaml) {
        Ok(config) => config,
        Err(error) => panic!("expected a valid config, got {error}\n{yaml}"),
    }
}

const FOUR: &str = "servers:
- name: weather-service
  url: http://weather.example.com:8080/mcp
  hostname: weather.example.com
  enabled: true
  toolPrefix: weather_
- {name: news, url: 'https://News.Example.com/', toolPrefix: news_}
- {name: off, url: 'http://off/', toolPrefix: weather_, enabled: false}
- {name: docs, url: 'http://docs/mcp', prefix: docs.}
";

#[test]
fn documented_example_parses() {
    let config = parse(FOUR);
    let server = &config.servers()[0];
    assert_eq!(server.name, "weather-service");
    assert_eq!(server.url.as_str(), "http://weather.example.com:8080/mcp");
    assert_eq!(server.hostname, "weather.example.com");
    assert!(server.enabled);
    assert_eq!(server.tool_prefix, "weather_");
}

#[test]
fn defaults() {
    let config = parse("servers:\n- {name: a, url: 'http://Host.Example.com:9000'}\n");
    let server = &config.servers()[0];
    assert!(server.enabled, "enabled defaults to true");
    assert_eq!(server.tool_prefix, "", "toolPrefix defaults to empty");
    assert_eq!(
        server.hostname, "host.example.com",
        "hostname defaults to the URL host without port"
    );
    assert_eq!(server.url.path(), "/", "an empty path becomes /");
    assert_eq!(server.url.port(), Some(9000));

    let empty_hostname = parse("servers:\n- {name: a, url: 'http://h:1/x', hostname: ''}\n");
    assert_eq!(empty_hostname.servers()[0].hostname, "h");
    assert_eq!(
        empty_hostname.servers()[0].url.path(),
        "/x",
        "the path is kept"
    );
}

#[test]
fn prefix_is_an_alias_of_tool_prefix() {
    assert_eq!(
        parse(FOUR).server("docs").map(|s| s.tool_prefix.as_str()),
        Some("docs.")
    );
}

#[test]
fn an_explicit_empty_list_is_a_config_without_servers() {
    for yaml in [
        "servers: []",
        "servers: []\nother: 1",
        "# none yet\nservers: []\n",
    ] {
        let config = parse(yaml);
        assert!(config.servers().is_empty(), "{yaml:?}");
        assert_eq!(config, Config::empty());
    }
}

/// An empty or truncated file (as seen while an editor writes it) must not replace the
/// servers in force with none.
#[test]
fn text_without_a_servers_list_is_rejected() {
    for yaml in [
        "",
        "\n",
        "# only a comment\n",
        "~",
        "{}",
        "servers:",
        "servers: null",
        "other: 1",
    ] {
        match Config::from_yaml(yaml) {
            Err(error @ ConfigError::NoServers { path: None }) => {
                assert!(error.to_string().contains("servers: []"), "{error}");
            }
            other => panic!("{yaml:?}: expected NoServers, got {other:?}"),
        }
    }
}

#[test]
fn unknown_fields_are_ignored() {
    let yaml = "apiVersion: v9
virtualServers: [{name: v, tools: [a]}]
servers:
- name: a
  url: http://a/
  credentialRef: {name: secret}
  authentication: {type: bearer}
  hostname: a.local
";
    let config = parse(yaml);
    assert_eq!(config.servers().len(), 1);
    assert_eq!(config.servers()[0].hostname, "a.local");
}

#[test]
fn malformed_yaml_is_a_yaml_error() {
    for yaml in [
        "servers: 5",
        "servers: [{name: a, enabled: maybe}]",
        "- a\n- b",
        "servers: [",
        "servers:\n- name: [1]",
    ] {
        match Config::from_yaml(yaml) {
            Err(ConfigError::Yaml { path: None, .. }) => {}
            other => panic!("{yaml:?}: expected a YAML error, got {other:?}"),
        }
    }
    assert!(matches!(
        Config::from_yaml_slice(b"\xff\xfe"),
        Err(ConfigError::Yaml { .. })
    ));
}

#[test]
fn invalid_display_lists_every_error_on_its_own_line() {
    let yaml = "servers:\n- {name: a, url: 'ftp://a/'}\n- {name: a, url: 'http://b/', toolPrefix: 'x y'}\n";
    let Err(error) = Config::from_yaml(yaml) else {
        panic!("expected an error");
    };
    let text = error.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "invalid configuration (3 errors):",
            "  servers[0] (a): url \"ftp://a/\": scheme must be http or https, not \"ftp\"",
            "  servers[1] (a): toolPrefix \"x y\": must contain only A-Z a-z 0-9 _ . -",
            "  servers[1] (a): name \"a\": already used by servers[0]",
        ]
    );
}

#[test]
fn load_file_errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.yaml");
    let err = Config::load_file(&missing).expect_err("missing file");
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("reading {}: ", missing.display())),
        "{err}"
    );

    for (file, body, kind) in [
        ("bad.yaml", "servers: 5", "invalid YAML"),
        (
            "invalid.yaml",
            "servers: [{name: a}]",
            "invalid configuration",
        ),
    ] {
        let path = dir.path().join(file);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(body.as_bytes()))
            .expect("write");
        let err = Config::load_file(&path).expect_err(file);
        assert!(
            err.to_string()
                .starts_with(&format!("{}: {kind}", path.display())),
            "{err}"
        );
    }

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, FOUR).expect("write");
    assert_eq!(Config::load_file(&good).expect("valid"), parse(FOUR));
}

#[test]
fn lookups() {
    let config = parse(FOUR);
    let enabled: Vec<&str> = config.enabled_servers().map(|s| s.name.as_str()).collect();
    assert_eq!(enabled, ["weather-service", "news", "docs"]);
    assert_eq!(config.server("off").map(|s| s.enabled), Some(false));
    assert!(config.server("OFF").is_none(), "names are exact");

    assert_eq!(
        config
            .server_by_hostname("WEATHER.example.com")
            .map(|s| s.name.as_str()),
        Some("weather-service")
    );
    assert_eq!(
        config
            .server_by_hostname("news.example.com")
            .map(|s| s.name.as_str()),
        Some("news")
    );
    assert!(
        config.server_by_hostname("off").is_none(),
        "disabled servers are not routed"
    );
    assert!(config.server_by_hostname("nowhere").is_none());
}

#[test]
fn server_for_tool() {
    let prefixed = parse(FOUR);
    let single_default = parse(
        "servers:\n- {name: only, url: 'http://only/'}\n- {name: off, url: 'http://off/', toolPrefix: x_, enabled: false}\n",
    );
    let table: &[(&Config, &str, Option<&str>)] = &[
        (&prefixed, "weather_forecast", Some("weather-service")),
        (&prefixed, "news_top", Some("news")),
        (&prefixed, "docs.search", Some("docs")),
        (&prefixed, "weather_", None),
        (&prefixed, "Weather_forecast", None),
        (&prefixed, "search", None),
        (&prefixed, "", None),
        (&single_default, "anything", Some("only")),
        (&single_default, "x_tool", Some("only")),
        (&single_default, "", None),
        (&Config::empty(), "tool", None),
    ];
    for (config, tool, want) in table {
        assert_eq!(
            config.server_for_tool(tool).map(|s| s.name.as_str()),
            *want,
            "{tool:?}"
        );
    }
    let weather = prefixed.server("weather-service").expect("present");
    assert_eq!(weather.tool_name("weather_forecast"), Some("forecast"));
    assert_eq!(weather.tool_name("weather_"), None);
    assert_eq!(weather.tool_name("news_top"), None);
}

#[test]
fn raw_config_round_trips_through_yaml() {
    let original = parse(FOUR);
    let raw = RawConfig::from(&original);
    let yaml = serde_yaml::to_string(&raw).expect("serialize");
    assert!(yaml.contains("toolPrefix: weather_"), "{yaml}");
    assert!(
        !yaml.contains("prefix: docs"),
        "the alias is not written: {yaml}"
    );
    assert_eq!(parse(&yaml), original);
    assert_eq!(Config::try_from(raw).expect("valid"), original);
}

#[test]
fn protocol_pins_a_backend_era_or_leaves_it_to_discovery() {
    let config = parse(
        "servers:
- {name: a, url: 'http://a/', toolPrefix: a_}
- {name: b, url: 'http://b/', toolPrefix: b_, protocol: legacy}
- {name: c, url: 'http://c/', toolPrefix: c_, protocol: modern}
- {name: d, url: 'http://d/', toolPrefix: d_, protocol: auto}
",
    );
    let protocols: Vec<_> = config.servers().iter().map(|s| s.protocol).collect();
    use crate::ProtocolChoice::{Auto, Legacy, Modern};
    assert_eq!(protocols, [Auto, Legacy, Modern, Auto]);
    // Written back: only a pinned era is spelled out, and it reads back the same.
    let raw = RawConfig::from(&config);
    let written: Vec<_> = raw.servers.iter().map(|s| s.protocol.as_deref()).collect();
    assert_eq!(written, [None, Some("legacy"), Some("modern"), None]);
    let error = Config::from_yaml(
        "servers:\n- {name: a, url: 'http://a/', toolPrefix: a_, protocol: 2026}\n",
    )
    .expect_err("an unknown era");
    assert!(
        error.to_string().contains("protocol")
            && error.to_string().contains("auto, legacy or modern"),
        "{error}"
    );
}
