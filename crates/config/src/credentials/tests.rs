use std::path::PathBuf;

use crate::{Config, ConfigError, Credentials, RawConfig, Secret, TokenRequest};

fn load(yaml: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(yaml)
}

fn messages(yaml: &str) -> Vec<String> {
    load(yaml)
        .expect_err("invalid")
        .field_errors()
        .iter()
        .map(ToString::to_string)
        .collect()
}

const CLIENT: &str = "
tokenClient:
  tokenEndpoint: http://127.0.0.1:8890/token
  clientId: mcp-gateway
  clientSecret: {env: GATEWAY_CLIENT_SECRET}
auth:
  resource: http://gw:8888/mcp
  issuers: [{issuer: 'http://127.0.0.1:8890', jwksUri: 'http://127.0.0.1:8890/jwks'}]
";

/// Auth on (token exchange and passthrough need a verified caller).
const AUTH: &str = "auth: {resource: 'http://gw:8888/mcp', issuers: [{issuer: i, jwksUri: 'https://i.example/k'}]}\n";

fn with_client(servers: &str) -> String {
    format!("{CLIENT}servers:\n{servers}")
}

#[test]
fn absent_means_none() {
    let cfg = load("servers: [{name: a, toolPrefix: a_, url: http://a/mcp}]").unwrap();
    assert_eq!(cfg.servers()[0].credentials, None);
    assert!(cfg.token_client().is_none());
}

#[test]
fn static_defaults_and_sources() {
    let cfg = load(
        "servers:
  - name: a
    toolPrefix: a_
    url: http://a/mcp
    credentials: {static: {value: {file: /run/secrets/a}}}
  - name: b
    toolPrefix: b_
    url: http://b/mcp
    credentials: {static: {header: X-Api-Key, prefix: 'Key ', value: {env: B_KEY}}}
  - name: c
    toolPrefix: c_
    url: http://c/mcp
    credentials: {static: {value: {inline: s3cret}}}
",
    )
    .unwrap();
    let modes: Vec<_> = cfg
        .servers()
        .iter()
        .map(|s| s.credentials.clone())
        .collect();
    assert_eq!(
        modes,
        [
            Some(Credentials::Static {
                header: "authorization".into(),
                prefix: String::new(),
                value: Secret::File(PathBuf::from("/run/secrets/a")),
            }),
            Some(Credentials::Static {
                header: "x-api-key".into(),
                prefix: "Key ".into(),
                value: Secret::Env("B_KEY".into()),
            }),
            Some(Credentials::Static {
                header: "authorization".into(),
                prefix: String::new(),
                value: Secret::Inline("s3cret".into()),
            }),
        ]
    );
    // An inline secret never shows in Debug output (a config logged by mistake).
    assert!(!format!("{cfg:?}").contains("s3cret"));
}

#[test]
fn token_modes_default_the_resource_to_the_server_url() {
    let cfg = load(&with_client(
        "  - name: a
    toolPrefix: a_
    url: http://a:9/mcp
    credentials: {tokenExchange: {}}
  - name: b
    toolPrefix: b_
    url: http://b/mcp
    credentials: {clientCredentials: {audience: b-api, scope: 'read write'}}
  - name: c
    toolPrefix: c_
    url: http://c/mcp
    credentials: {tokenExchange: {resource: 'urn:c', discovery: none}}
  - name: d
    toolPrefix: d_
    url: http://d/mcp
    credentials: {passthrough: {}}
",
    ))
    .unwrap();
    let modes: Vec<_> = cfg
        .servers()
        .iter()
        .map(|s| s.credentials.clone())
        .collect();
    assert_eq!(
        modes,
        [
            Some(Credentials::TokenExchange {
                request: TokenRequest {
                    resource: Some("http://a:9/mcp".into()),
                    audience: None,
                    scope: None,
                },
                discovery: true,
            }),
            Some(Credentials::ClientCredentials(TokenRequest {
                resource: None,
                audience: Some("b-api".into()),
                scope: Some("read write".into()),
            })),
            Some(Credentials::TokenExchange {
                request: TokenRequest {
                    resource: Some("urn:c".into()),
                    audience: None,
                    scope: None,
                },
                discovery: false,
            }),
            Some(Credentials::Passthrough { discovery: false }),
        ]
    );
    let client = cfg.token_client().unwrap();
    assert_eq!(client.client_id, "mcp-gateway");
    assert_eq!(
        client.client_secret,
        Secret::Env("GATEWAY_CLIENT_SECRET".into())
    );
}

#[test]
fn passthrough_needs_no_token_client_unless_discovery_uses_one() {
    assert!(load(&format!("{AUTH}servers: [{{name: a, toolPrefix: a_, url: http://a/mcp, credentials: {{passthrough: {{}}}}}}]")).is_ok());
    assert_eq!(
        messages(&format!(
            "{AUTH}servers: [{{name: a, toolPrefix: a_, url: http://a/mcp, credentials: {{passthrough: {{discovery: clientCredentials}}}}}}]"
        )),
        [
            "servers[0].credentials.passthrough: needs tokenClient: (the gateway's own client at the token endpoint)"
        ]
    );
}

#[test]
fn token_modes_need_a_token_client() {
    assert_eq!(
        messages(&format!(
            "{AUTH}servers:
  - {{name: a, toolPrefix: a_, url: http://a/mcp, credentials: {{tokenExchange: {{}}}}}}
  - {{name: b, toolPrefix: b_, url: http://b/mcp, credentials: {{clientCredentials: {{}}}}}}
"
        )),
        [
            "servers[0].credentials.tokenExchange: needs tokenClient: (the gateway's own client at the token endpoint)",
            "servers[1].credentials.clientCredentials: needs tokenClient: (the gateway's own client at the token endpoint)",
        ]
    );
}

/// Token exchange and passthrough send something of the caller's: without `auth:` there is
/// no verified caller, so the config is refused (rather than every call answering 503).
#[test]
fn caller_modes_need_auth() {
    assert_eq!(
        messages(&with_client_only(
            "  - {name: a, toolPrefix: a_, url: http://a/mcp, credentials: {tokenExchange: {}}}
  - {name: b, toolPrefix: b_, url: http://b/mcp, credentials: {clientCredentials: {}}}
  - {name: c, toolPrefix: c_, url: http://c/mcp, credentials: {passthrough: {}}}
  - {name: d, toolPrefix: d_, url: http://d/mcp, credentials: {static: {value: {env: K}}}}
"
        )),
        [
            "servers[0].credentials.tokenExchange: needs auth: (it sends the caller's verified token, or one exchanged for it)",
            "servers[2].credentials.passthrough: needs auth: (it sends the caller's verified token, or one exchanged for it)",
        ]
    );
}

/// `tokenClient:` without `auth:`.
fn with_client_only(servers: &str) -> String {
    let client = CLIENT.split("auth:").next().unwrap_or_default();
    format!("{client}servers:\n{servers}")
}

#[test]
fn every_broken_rule_is_named() {
    let errors = messages(
        "tokenClient: {tokenEndpoint: 'ftp://x', clientId: 'a:b', clientSecret: {file: /a, env: B}}
servers:
  - {name: a, toolPrefix: a_, url: http://a/mcp, credentials: {}}
  - {name: b, toolPrefix: b_, url: http://b/mcp, credentials: {static: {value: {file: /x}}, passthrough: {}}}
  - {name: c, toolPrefix: c_, url: http://c/mcp, credentials: {static: {header: 'x mcp', value: {inline: ''}}}}
  - {name: d, toolPrefix: d_, url: http://d/mcp, credentials: {static: {header: Mcp-Session-Id}}}
  - {name: e, toolPrefix: e_, url: http://e/mcp, credentials: {tokenExchange: {resource: 'not a uri', discovery: sometimes}}}
",
    );
    assert_eq!(
        errors,
        [
            "servers[0].credentials: must name exactly one of static, tokenExchange, clientCredentials, passthrough",
            "servers[1].credentials: must name exactly one of static, tokenExchange, clientCredentials, passthrough",
            "servers[2].credentials.static.header \"x mcp\": must be a header name of A-Z a-z 0-9 -",
            "servers[2].credentials.static.value.inline: must be non-empty visible ASCII",
            "servers[3].credentials.static.header \"mcp-session-id\": is a header the gateway or Envoy sets itself",
            "servers[3].credentials.static.value: is required",
            "servers[4].credentials.tokenExchange.discovery \"sometimes\": must be clientCredentials or none",
            "tokenClient.tokenEndpoint \"ftp://x\": must be an http or https URL with a host",
            "tokenClient.clientId \"a:b\": is required and may not contain ':'",
            "tokenClient.clientSecret: must name exactly one of file, env, inline",
        ]
    );
}

#[test]
fn unknown_fields_in_a_credentials_block_are_errors() {
    // A typo in a credentials block must not silently mean "no credential".
    let error = load(
        "servers: [{name: a, toolPrefix: a_, url: http://a/mcp, credentials: {static: {valu: {file: /x}}}}]",
    )
    .expect_err("invalid");
    assert!(
        error.to_string().contains("unknown field `valu`"),
        "{error}"
    );
}

#[test]
fn round_trips_through_the_file_format() {
    let cfg = load(&with_client(
        "  - {name: a, toolPrefix: a_, url: http://a/mcp, credentials: {static: {header: X-Key, value: {file: /k}}}}
  - {name: b, toolPrefix: b_, url: http://b/mcp, credentials: {tokenExchange: {audience: b, scope: s, discovery: none}}}
  - {name: c, toolPrefix: c_, url: http://c/mcp, credentials: {clientCredentials: {}}}
  - {name: d, toolPrefix: d_, url: http://d/mcp, credentials: {passthrough: {discovery: clientCredentials}}}
",
    ))
    .unwrap();
    let raw = RawConfig::from(&cfg);
    let again = Config::try_from(raw).unwrap();
    assert_eq!(again, cfg);
    let yaml = serde_yaml::to_string(&RawConfig::from(&cfg)).unwrap();
    assert!(yaml.contains("tokenClient:"), "{yaml}");
    assert_eq!(Config::from_yaml(&yaml).unwrap(), cfg);
}
