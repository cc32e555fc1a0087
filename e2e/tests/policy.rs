//! Authorization through Envoy with a real OpenID provider (`e2e/node/idp.mjs`): the
//! config's `policy:` lets `alice` use everything and `bob` only what `calc` offers
//! (`calc_*` tools and prompts, calc's resources). Lists show each caller its own view,
//! calls outside it are refused (403, the request's id) without reaching a backend (Envoy's
//! cluster counters and the servers' own `/stats` say so), a reloaded policy applies at
//! once, and the gateway's `--audit-log` holds one line per decision. Needs
//! `npm ci --prefix e2e/node` (`make test` runs it).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, IdentityProvider, RawClient, Reply, ServerKind, eventually,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

/// JSON-RPC "invalid request": the code of a refused call.
const INVALID_REQUEST: i64 = -32600;

/// Alice may use every server; bob only calc's tools, prompts and resources.
const POLICY: &str = "policy:
  rules:
  - name: alice-all
    when: {clientIds: [alice]}
    allow: {servers: ['*']}
  - name: bob-calc
    when: {clientIds: [bob]}
    allow: {tools: ['calc_*'], prompts: ['calc_*'], resources: ['*calc_*']}
";

/// The same, with bob also allowed `text_upper`.
const POLICY_BOB_UPPER: &str = "policy:
  rules:
  - name: alice-all
    when: {clientIds: [alice]}
    allow: {servers: ['*']}
  - name: bob-calc
    when: {clientIds: [bob]}
    allow: {tools: ['calc_*', text_upper], prompts: ['calc_*'], resources: ['*calc_*']}
";

struct Setup {
    idp: IdentityProvider,
    gateway: Gateway,
    raw: RawClient,
    resource: String,
    audit: PathBuf,
    // Last: removed after the gateway (which writes into it) is gone.
    _dir: TempDir,
}

impl Setup {
    /// Calc and text behind the gateway, then auth and [`POLICY`] turned on by a reload.
    async fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let audit = dir.path().join("audit.log");
        let audit_arg = audit.to_str().context("a UTF-8 temporary path")?.to_owned();
        let idp = IdentityProvider::start("alice:alice-secret,bob:bob-secret").await?;
        let gateway = Gateway::start(GatewayOptions {
            servers: &[ServerKind::Calc, ServerKind::Text],
            gateway_args: &["--audit-log", &audit_arg],
            ..GatewayOptions::default()
        })
        .await?;
        let resource = gateway.mcp_url();
        let setup = Self {
            raw: RawClient::new(&resource)?,
            idp,
            gateway,
            resource,
            audit,
            _dir: dir,
        };
        setup.write_policy(POLICY)?;
        let token = setup.token("bob").await?;
        eventually("auth and the policy on", || {
            let setup = &setup;
            let token = &token;
            async move {
                let session = setup.initialize(token).await?;
                let tools = setup.names(token, &session, "tools/list").await?;
                ensure!(
                    tools.iter().all(|t| t.starts_with("calc_")),
                    "bob still sees {tools:?}"
                );
                Ok(())
            }
        })
        .await?;
        Ok(setup)
    }

    /// Rewrites the config: both servers, auth, and `policy` (YAML).
    fn write_policy(&self, policy: &str) -> Result<()> {
        let yaml = format!(
            "{}auth:
  resource: {}
  issuers:
  - issuer: {}
    jwksUri: {}
{policy}",
            self.gateway
                .config_yaml(&[ServerKind::Calc, ServerKind::Text])?,
            self.resource,
            self.idp.issuer(),
            self.idp.jwks_uri(),
        );
        self.gateway.write_config(&yaml)
    }

    /// A client-credentials token of `client` for the gateway.
    async fn token(&self, client: &str) -> Result<String> {
        self.idp
            .client_token(client, &format!("{client}-secret"), &self.resource, None)
            .await
    }

    /// POSTs `body` with `token` in `session` (when given).
    async fn post(&self, token: &str, session: Option<&str>, body: Value) -> Result<Reply> {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(session) = session {
            headers.push(("mcp-session-id", session));
        }
        self.raw.post_with(&headers, body.to_string()).await
    }

    async fn initialize(&self, token: &str) -> Result<String> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "policy-e2e", "version": "0"}}});
        let reply = self.post(token, None, body).await?;
        ensure!(reply.status == StatusCode::OK, "initialize: {reply}");
        let session = reply.session_id().map(str::to_owned);
        let session = session.with_context(|| format!("no session id: {reply}"))?;
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.post(token, Some(&session), initialized).await?;
        Ok(session)
    }

    /// The names (or URIs, or URI templates) a list `method` shows.
    async fn names(&self, token: &str, session: &str, method: &str) -> Result<BTreeSet<String>> {
        let (items, key) = match method {
            "tools/list" => ("tools", "name"),
            "prompts/list" => ("prompts", "name"),
            "resources/list" => ("resources", "uri"),
            "resources/templates/list" => ("resourceTemplates", "uriTemplate"),
            other => bail!("not a list: {other}"),
        };
        let body = json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": {}});
        let reply = self.post(token, Some(session), body).await?;
        let listed = reply
            .result()?
            .get(items)
            .and_then(Value::as_array)
            .with_context(|| format!("{method}: {reply}"))?;
        Ok(listed
            .iter()
            .filter_map(|item| item.get(key).and_then(Value::as_str))
            .map(str::to_owned)
            .collect())
    }

    /// `method` with `params` as request `id`.
    async fn call(
        &self,
        token: &str,
        session: &str,
        id: Value,
        method: &str,
        params: Value,
    ) -> Result<Reply> {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.post(token, Some(session), body).await
    }

    /// Requests Envoy sent to `server`'s cluster, and `tools/call`s the server received.
    async fn backend_traffic(&self, server: ServerKind) -> Result<(u64, u64)> {
        let name = format!("cluster.mcp_server_{}.upstream_rq_total", server.name());
        let envoy = self.gateway.envoy_counter(&name).await?;
        let calls = self
            .gateway
            .backend(server.name())?
            .stats()
            .await?
            .tool_calls;
        Ok((envoy, calls))
    }

    /// The audit log's lines, parsed.
    fn audit_lines(&self) -> Result<Vec<Value>> {
        let text = std::fs::read_to_string(&self.audit).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).with_context(|| format!("audit line {line}")))
            .collect()
    }
}

fn set(names: impl IntoIterator<Item = impl Into<String>>) -> BTreeSet<String> {
    names.into_iter().map(Into::into).collect()
}

/// The reply is a 403 refusing `what` for request `id`.
fn forbidden(reply: &Reply, id: &Value, what: &str) -> Result<()> {
    ensure!(
        reply.status == StatusCode::FORBIDDEN,
        "expected 403: {reply}"
    );
    let message = reply.message.as_ref();
    ensure!(
        message.and_then(|m| m.get("id")) == Some(id),
        "id {id}: {reply}"
    );
    ensure!(reply.error_code() == Some(INVALID_REQUEST), "{reply}");
    let text = reply.error_message().unwrap_or_default();
    ensure!(text.contains(what), "the error should name {what}: {reply}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_lists_only_what_it_may_use() -> Result<()> {
    let setup = Setup::start().await?;
    let alice = setup.token("alice").await?;
    let bob = setup.token("bob").await?;
    let alice_session = setup.initialize(&alice).await?;
    let bob_session = setup.initialize(&bob).await?;

    let every_tool = set(ServerKind::Calc
        .exposed_tools()
        .chain(ServerKind::Text.exposed_tools()));
    let calc_tools = set(ServerKind::Calc.exposed_tools());
    let every_prompt = set(ServerKind::Calc
        .exposed_prompts()
        .chain(ServerKind::Text.exposed_prompts()));
    let calc_prompts = set(ServerKind::Calc.exposed_prompts());
    let every_resource = set([
        "calc://calc_constants",
        "file://calc_/notes.txt",
        "file://text_/notes.txt",
        "text://text_readme",
    ]);
    let calc_resources = set(["calc://calc_constants", "file://calc_/notes.txt"]);
    let every_template = set(["calc://calc_square/{n}", "text://text_words/{word}"]);
    let calc_templates = set(["calc://calc_square/{n}"]);

    let cases = [
        ("tools/list", every_tool, calc_tools),
        ("prompts/list", every_prompt, calc_prompts),
        ("resources/list", every_resource, calc_resources),
        ("resources/templates/list", every_template, calc_templates),
    ];
    let mut failures = Vec::new();
    for (method, for_alice, for_bob) in cases {
        let seen = setup.names(&alice, &alice_session, method).await?;
        if seen != for_alice {
            failures.push(format!(
                "alice's {method}: {seen:?}, expected {for_alice:?}"
            ));
        }
        let seen = setup.names(&bob, &bob_session, method).await?;
        if seen != for_bob {
            failures.push(format!("bob's {method}: {seen:?}, expected {for_bob:?}"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_calls_never_reach_a_backend_and_each_decision_is_audited() -> Result<()> {
    let setup = Setup::start().await?;
    let alice = setup.token("alice").await?;
    let bob = setup.token("bob").await?;
    let bob_session = setup.initialize(&bob).await?;

    // Bob's session has reached no backend yet; note what each has seen.
    let text_before = setup.backend_traffic(ServerKind::Text).await?;
    let calc_before = setup.backend_traffic(ServerKind::Calc).await?;

    let upper = json!({"name": "text_upper", "arguments": {"text": "hi"}});
    let refusals = [
        (json!(41), "tools/call", upper.clone(), "text_upper"),
        (
            json!("p-1"),
            "prompts/get",
            json!({"name": "text_summarize", "arguments": {"text": "x"}}),
            "text_summarize",
        ),
        (
            json!(43),
            "resources/read",
            json!({"uri": "file://text_/notes.txt"}),
            "file://text_/notes.txt",
        ),
        (
            json!(44),
            "resources/subscribe",
            json!({"uri": "text://text_readme"}),
            "text://text_readme",
        ),
        (
            json!(45),
            "completion/complete",
            json!({
            "ref": {"type": "ref/prompt", "name": "text_translate"},
            "argument": {"name": "language", "value": "fr"}}),
            "text_translate",
        ),
    ];
    let mut failures = Vec::new();
    for (id, method, params, what) in &refusals {
        let reply = setup
            .call(&bob, &bob_session, id.clone(), method, params.clone())
            .await?;
        if let Err(error) = forbidden(&reply, id, what) {
            failures.push(format!("{method}: {error:#}"));
        }
    }
    // What bob may use works in the same session.
    let add = json!({"name": "calc_add", "arguments": {"a": 2, "b": 3}});
    let reply = setup
        .call(&bob, &bob_session, json!(46), "tools/call", add)
        .await?;
    if reply.tool_text().ok() != Some("5") {
        failures.push(format!("bob's calc_add: {reply}"));
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));

    let text_after = setup.backend_traffic(ServerKind::Text).await?;
    ensure!(
        text_after == text_before,
        "refused calls reached text: (Envoy requests, tool calls) {text_before:?} -> {text_after:?}"
    );
    let calc_after = setup.backend_traffic(ServerKind::Calc).await?;
    ensure!(
        calc_after.0 > calc_before.0 && calc_after.1 == calc_before.1 + 1,
        "bob's allowed call should reach calc once: {calc_before:?} -> {calc_after:?}"
    );

    // Alice may call text_upper.
    let alice_session = setup.initialize(&alice).await?;
    let reply = setup
        .call(&alice, &alice_session, json!(47), "tools/call", upper)
        .await?;
    ensure!(reply.tool_text()? == "HI", "{reply}");

    // One audit line per decision: five denials and one allowed call of bob, one of alice.
    let lines = eventually("the audit lines", || async {
        let lines = setup.audit_lines()?;
        ensure!(lines.len() >= 7, "{} audit lines so far", lines.len());
        Ok(lines)
    })
    .await?;
    ensure!(lines.len() == 7, "expected 7 audit lines: {lines:#?}");
    let bob_hash = mcp_gateway_audit::hash_session(&bob_session);
    let alice_hash = mcp_gateway_audit::hash_session(&alice_session);
    let text = std::fs::read_to_string(&setup.audit)?;
    ensure!(
        !text.contains(&bob_session) && !text.contains(&bob) && !text.contains(&alice),
        "session ids and tokens never appear in the audit log: {text}"
    );
    let mut failures = Vec::new();
    for (line, (id, method, _, exposed)) in lines.iter().zip(&refusals) {
        let expected = json!({
            "subject": "bob", "client_id": "bob", "session": bob_hash, "method": method,
            "exposed": exposed, "decision": "deny", "rule": null, "status": 403,
        });
        if let Err(error) = contains(line, &expected) {
            failures.push(format!("the denial of {id}: {error:#}"));
        }
    }
    let allowed = [
        (
            &lines[5],
            json!({"subject": "bob", "client_id": "bob", "session": bob_hash,
            "method": "tools/call", "server": "calc", "kind": "tool", "exposed": "calc_add",
            "original": "add", "decision": "allow", "rule": "bob-calc", "status": null}),
        ),
        (
            &lines[6],
            json!({"subject": "alice", "client_id": "alice", "session": alice_hash,
            "method": "tools/call", "server": "text", "kind": "tool", "exposed": "text_upper",
            "original": "upper", "decision": "allow", "rule": "alice-all"}),
        ),
    ];
    for (line, expected) in allowed {
        if let Err(error) = contains(line, &expected) {
            failures.push(format!("{error:#}"));
        }
    }
    for line in &lines {
        let request_id = line.get("request_id").and_then(Value::as_str);
        if request_id.is_none_or(str::is_empty) || line.get("time").is_none() {
            failures.push(format!("no request id or time: {line}"));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Every field of `expected` is in `line` with that value.
fn contains(line: &Value, expected: &Value) -> Result<()> {
    let Some(expected) = expected.as_object() else {
        bail!("not an object: {expected}");
    };
    for (key, value) in expected {
        let seen = line.get(key).unwrap_or(&Value::Null);
        ensure!(seen == value, "{key}: {seen} instead of {value} in {line}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_policy_applies_to_lists_and_calls_at_once() -> Result<()> {
    let setup = Setup::start().await?;
    let bob = setup.token("bob").await?;
    let session = setup.initialize(&bob).await?;
    let upper = json!({"name": "text_upper", "arguments": {"text": "hi"}});
    let reply = setup
        .call(&bob, &session, json!(51), "tools/call", upper.clone())
        .await?;
    forbidden(&reply, &json!(51), "text_upper")?;

    setup.write_policy(POLICY_BOB_UPPER)?;
    eventually("bob's new rights in his open session", || {
        let setup = &setup;
        let (bob, session, upper) = (&bob, &session, &upper);
        async move {
            let tools = setup.names(bob, session, "tools/list").await?;
            ensure!(tools.contains("text_upper"), "{tools:?}");
            ensure!(!tools.contains("text_lower"), "{tools:?}");
            let reply = setup
                .call(bob, session, json!(52), "tools/call", upper.clone())
                .await?;
            ensure!(reply.tool_text()? == "HI", "{reply}");
            Ok(())
        }
    })
    .await?;

    // And taken away again.
    setup.write_policy(POLICY)?;
    eventually("bob's rights taken back", || {
        let setup = &setup;
        let (bob, session, upper) = (&bob, &session, &upper);
        async move {
            let tools = setup.names(bob, session, "tools/list").await?;
            ensure!(!tools.contains("text_upper"), "{tools:?}");
            let reply = setup
                .call(bob, session, json!(53), "tools/call", upper.clone())
                .await?;
            forbidden(&reply, &json!(53), "text_upper")
        }
    })
    .await?;
    Ok(())
}
