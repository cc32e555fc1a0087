use crate::{Config, ConfigError, Offering, RawConfig, session_binding};

const SERVERS: &str = "servers:
- {name: weather, url: 'http://weather/mcp', toolPrefix: weather_}
- {name: news, url: 'http://news/mcp', toolPrefix: news_}
";

fn with(virtual_servers: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(&format!("{SERVERS}virtualServers:\n{virtual_servers}"))
}

fn problems(virtual_servers: &str) -> String {
    match with(virtual_servers) {
        Ok(_) => panic!("accepted:\n{virtual_servers}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn subset_is_servers_and_listed_names() {
    let config = with(
        "- name: mixed
  servers: [weather]
  tools: [news_headlines]
  prompts: [news_brief]
  resources: ['news+docs://guide', 'news+docs://items/{id}']
",
    )
    .unwrap();
    let v = config.virtual_server("mixed").unwrap();
    assert!(v.offers(Offering::Tool, "weather", "weather_today"));
    assert!(v.offers(Offering::Prompt, "weather", "weather_any"));
    assert!(v.offers(Offering::Tool, "news", "news_headlines"));
    assert!(!v.offers(Offering::Tool, "news", "news_sports"));
    assert!(
        !v.offers(Offering::Tool, "news", "news_brief"),
        "a prompt, not a tool"
    );
    assert!(v.offers(Offering::Prompt, "news", "news_brief"));
    assert!(v.offers(Offering::Resource, "news", "news+docs://guide"));
    assert!(v.offers(Offering::Resource, "news", "news+docs://items/{id}"));
    assert!(v.offers(Offering::Resource, "news", "news+docs://items/7"));
    assert!(!v.offers(Offering::Resource, "news", "news+docs://other"));
    assert!(config.virtual_server("other").is_none());
}

#[test]
fn snake_case_key_is_accepted_too() {
    let config = Config::from_yaml(&format!(
        "{SERVERS}virtual_servers:\n- {{name: w, servers: [weather]}}\n"
    ))
    .unwrap();
    assert!(config.virtual_server("w").is_some());
}

#[test]
fn bad_entries_are_refused_naming_the_field() {
    let cases = [
        (
            "- {servers: [weather]}",
            "virtualServers[0].name",
            "is required",
        ),
        (
            "- {name: 'a/b', servers: [weather]}",
            "virtualServers[0].name",
            "must",
        ),
        (
            "- {name: '', servers: [weather]}",
            "virtualServers[0].name",
            "empty",
        ),
        (
            "- {name: w, servers: [nowhere]}",
            "virtualServers[0].servers[0]",
            "not a server",
        ),
        ("- {name: w}", "virtualServers[0]", "exposes nothing"),
        (
            "- {name: w, tools: ['']}",
            "virtualServers[0].tools[0]",
            "is empty",
        ),
        (
            "- {name: w, servers: [weather]}\n- {name: w, tools: [news_x]}",
            "virtualServers[1].name",
            "two virtual servers",
        ),
    ];
    for (yaml, field, message) in cases {
        let text = problems(yaml);
        assert!(text.contains(field), "{yaml}: {text}");
        assert!(text.contains(message), "{yaml}: {text}");
    }
}

#[test]
fn round_trips_through_the_file_format() {
    let config = with("- {name: w, servers: [weather], tools: [news_a, news_b]}\n").unwrap();
    let raw = RawConfig::from(&config);
    assert_eq!(raw.virtual_servers.len(), 1);
    let again = Config::try_from(raw).unwrap();
    assert_eq!(again, config);
    let v = again.virtual_server("w").unwrap();
    assert_eq!(
        v.fingerprint,
        config.virtual_server("w").unwrap().fingerprint
    );
}

#[test]
fn sessions_are_bound_to_their_endpoint() {
    assert_eq!(session_binding(None, None), None);
    assert_eq!(session_binding(Some("2:ab"), None).as_deref(), Some("2:ab"));
    let a = session_binding(None, Some("a"));
    let b = session_binding(None, Some("b"));
    assert!(a.is_some() && a != b);
    assert_ne!(session_binding(Some("1:x"), Some("a")), a);
}

#[test]
fn hostnames_select_a_virtual_server_on_mcp() {
    let config = with(
        "- {name: w, servers: [weather], hostnames: [Weather.Example.com]}
- {name: n, servers: [news]}
",
    )
    .unwrap();
    let name = |path: Option<&str>, host: Option<&str>| {
        config
            .virtual_server_for(path, host)
            .map(|v| v.map(|v| v.name.clone()))
    };
    assert_eq!(name(None, None), Ok(None));
    assert_eq!(name(None, Some("gateway.example.com")), Ok(None));
    assert_eq!(
        name(None, Some("weather.example.com")),
        Ok(Some("w".into()))
    );
    assert_eq!(
        name(None, Some("WEATHER.example.com:8888")),
        Ok(Some("w".into()))
    );
    assert_eq!(
        name(Some("n"), Some("weather.example.com")),
        Ok(Some("n".into())),
        "the path decides"
    );
    assert_eq!(
        name(Some("x"), None),
        Err(mcp_gateway_protocol::TransportError::UnknownVirtualServer(
            "x".into()
        ))
    );
}

#[test]
fn hostnames_are_checked() {
    let cases = [
        (
            "- {name: w, servers: [weather], hostnames: ['a:80']}",
            "hostnames[0]",
            "port",
        ),
        (
            "- {name: w, servers: [weather], hostnames: [a.example]}\n- {name: v, servers: [news], hostnames: [A.example]}",
            "virtualServers[1].hostnames[0]",
            "already a hostname of virtual server \"w\"",
        ),
        (
            "- {name: w, servers: [weather], hostnames: [news]}",
            "virtualServers[0].hostnames[0]",
            "hostname of server \"news\"",
        ),
    ];
    for (yaml, field, message) in cases {
        let text = problems(yaml);
        assert!(text.contains(field), "{yaml}: {text}");
        assert!(text.contains(message), "{yaml}: {text}");
    }
}
