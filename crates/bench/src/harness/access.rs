//! Path (7): the gateway of path (3) with `auth:` (tokens from the benchmark's OpenID
//! provider, verified by Envoy's `jwt_authn`) and a `policy:` of [`POLICY_RULES`] rules, of
//! which the caller matches three.

use std::fmt::Write;

use super::idp::Client;

/// The caller of path (7).
pub const CALLER: Client = Client {
    id: "alice",
    secret: "alice-secret",
};
/// The gateway's resource URL in `auth:`, the audience of the caller's token. Tokens are only
/// compared with it, so it need not be where Envoy listens (whose port is chosen later).
pub const RESOURCE: &str = "http://gateway.bench.local/mcp";
/// The scope `auth:` requires and the token carries.
pub const SCOPE: &str = "mcp";
/// Rules of the policy.
pub const POLICY_RULES: usize = 16;

/// What the gateway of path (7) is given: the config sections and the caller's token.
#[derive(Debug, Clone)]
pub struct Access {
    /// `auth:` and `policy:`, appended to the servers of the config.
    pub config: String,
    /// The caller's access token, sent as `Authorization: Bearer` on every request.
    pub bearer: String,
}

/// `auth:` trusting `issuer` (keys at `jwks_uri`) for [`RESOURCE`] with [`SCOPE`] required,
/// then the policy: three rules match [`CALLER`] (one allows backend `a`, one allows `b_*`
/// tools by scope, one denies a tool nobody calls) and the others name other clients.
pub fn access_config(issuer: &str, jwks_uri: &str) -> String {
    let mut out = format!(
        "auth:\n  resource: \"{RESOURCE}\"\n  requiredScopes: [{SCOPE}]\n  issuers:\n  - issuer: \"{issuer}\"\n    jwksUri: \"{jwks_uri}\"\npolicy:\n  rules:\n"
    );
    let caller = CALLER.id;
    let _ = write!(
        out,
        "  - name: caller-backend-a\n    when: {{clientIds: [{caller}]}}\n    allow: {{servers: [a]}}\n\
         \x20 - name: scope-tools-b\n    when: {{scopes: [{SCOPE}]}}\n    allow: {{tools: [\"b_*\"]}}\n\
         \x20 - name: caller-deny\n    when: {{clientIds: [{caller}]}}\n    deny: {{tools: [a_unused]}}\n"
    );
    for team in 3..POLICY_RULES {
        let _ = write!(
            out,
            "  - name: team-{team}\n    when: {{clientIds: [team-{team}]}}\n    allow: {{tools: [\"a_tool_{team}_*\", \"b_tool_{team}_*\"]}}\n"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_has_its_rules_and_auth_names_the_issuer() {
        let yaml = access_config("http://127.0.0.1:7000", "http://127.0.0.1:7000/jwks");
        assert_eq!(yaml.matches("  - name: ").count(), POLICY_RULES);
        assert_eq!(yaml.matches("clientIds: [alice]").count(), 2);
        assert!(yaml.contains("  - issuer: \"http://127.0.0.1:7000\"\n"));
        assert!(yaml.contains("    jwksUri: \"http://127.0.0.1:7000/jwks\"\n"));
        assert!(yaml.contains("requiredScopes: [mcp]"));
    }
}
