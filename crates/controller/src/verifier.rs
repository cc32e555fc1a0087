//! A mocked Kubernetes API server for tests: a [`Client`] whose requests arrive at
//! an [`ApiServerVerifier`], which asserts each one (method, path, query, body) in
//! the order a [`Scenario`] lists and answers it.
//!
//! The verifier stops after the last expected request and drops its end of the
//! mock, so any further request fails with a transport error: tests see calls that
//! should not happen. Wrap every verifier in [`finish`], which times out when an
//! expected call never comes.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::context::FIELD_MANAGER;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// A client talking to the returned verifier.
pub fn mock_client() -> (Client, ApiServerVerifier) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServerVerifier(handle))
}

/// Waits for the verifier, failing the test if it takes longer than a second.
/// Returns the JSON bodies of the requests it answered, in order.
pub async fn finish(verifier: JoinHandle<Vec<Value>>) -> Vec<Value> {
    tokio::time::timeout(Duration::from_secs(1), verifier)
        .await
        .expect("an expected API call never came (timeout)")
        .expect("the verifier panicked")
}

/// One expected request and its answer.
#[derive(Clone, Debug)]
pub enum Step {
    /// Server-side apply of the gateway ConfigMap `mcp-system/mcp-gateway-config`
    /// whose `config.yaml` is exactly `config`; answered with `code`.
    ApplyConfigMap { config: String, code: u16 },
    /// Server-side apply of `namespace/name`'s status with the `Ready` condition
    /// `ready`/`reason`; answered with `code`.
    ApplyStatus {
        namespace: String,
        name: String,
        ready: bool,
        reason: &'static str,
        code: u16,
    },
    /// `GET` of the Lease `mcp-system/mcp-gateway-controller`; answered with the
    /// Lease, or 404 when `None`.
    GetLease(Option<Value>),
    /// `POST` of that Lease held by `holder`; answered with `code`.
    CreateLease { holder: String, code: u16 },
    /// `PUT` of that Lease held by `holder` (`None`: released) with
    /// `leaseTransitions` = `transitions`; answered with `code`.
    ReplaceLease {
        holder: Option<String>,
        transitions: i64,
        code: u16,
    },
}

/// The request sequences the tests use.
#[derive(Clone, Debug)]
pub enum Scenario {
    /// The ConfigMap is applied with `config`, then each status in order.
    Publish { config: String, statuses: Vec<Step> },
    /// Exactly these steps.
    Steps(Vec<Step>),
}

/// The API-server side of [`mock_client`].
pub struct ApiServerVerifier(Handle);

impl ApiServerVerifier {
    /// Serves `scenario` in the background.
    pub fn run(self, scenario: Scenario) -> JoinHandle<Vec<Value>> {
        let steps = match scenario {
            Scenario::Publish { config, statuses } => {
                let mut steps = vec![Step::ApplyConfigMap { config, code: 200 }];
                steps.extend(statuses);
                steps
            }
            Scenario::Steps(steps) => steps,
        };
        tokio::spawn(self.serve(steps))
    }

    async fn serve(mut self, steps: Vec<Step>) -> Vec<Value> {
        let mut bodies = Vec::new();
        for step in steps {
            let (request, respond) = self
                .0
                .next_request()
                .await
                .unwrap_or_else(|| panic!("client gone before {step:?}"));
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.expect("request body");
            let body: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).expect("request body is JSON")
            };
            let (code, answer) = check(&step, &parts, &body);
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&answer).expect("serializes")))
                .expect("response");
            respond.send_response(response);
            bodies.push(body);
        }
        bodies
    }
}

/// Asserts `request` is what `step` expects; returns the answer.
fn check(step: &Step, request: &http::request::Parts, body: &Value) -> (StatusCode, Value) {
    let path = request.uri.path();
    let query = request.uri.query().unwrap_or_default();
    match step {
        Step::ApplyConfigMap { config, code } => {
            assert_eq!(request.method, Method::PATCH, "{step:?}");
            assert_eq!(
                path,
                "/api/v1/namespaces/mcp-system/configmaps/mcp-gateway-config"
            );
            assert_apply(request, query);
            assert_eq!(
                body["data"]["config.yaml"].as_str(),
                Some(config.as_str()),
                "config text"
            );
            assert_eq!(
                body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
                FIELD_MANAGER
            );
            answer(*code, body.clone())
        }
        Step::ApplyStatus {
            namespace,
            name,
            ready,
            reason,
            code,
        } => {
            assert_eq!(request.method, Method::PATCH, "{step:?}");
            let expected = format!(
                "/apis/mcp.kagenti.com/v1alpha1/namespaces/{namespace}/mcpservers/{name}/status"
            );
            assert_eq!(path, expected);
            assert_apply(request, query);
            assert_eq!(body["kind"], "MCPServer");
            assert_eq!(body["metadata"]["name"], name.as_str());
            let condition = &body["status"]["conditions"][0];
            assert_eq!(condition["type"], "Ready", "{body}");
            assert_eq!(
                condition["status"],
                if *ready { "True" } else { "False" },
                "{body}"
            );
            assert_eq!(condition["reason"], *reason, "{body}");
            let object = json!({
                "apiVersion": "mcp.kagenti.com/v1alpha1",
                "kind": "MCPServer",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"targetRefs": []},
                "status": body["status"].clone(),
            });
            answer(*code, object)
        }
        Step::GetLease(lease) => {
            assert_eq!(request.method, Method::GET, "{step:?}");
            assert_eq!(path, LEASE_PATH);
            match lease {
                Some(lease) => (StatusCode::OK, lease.clone()),
                None => answer(404, Value::Null),
            }
        }
        Step::CreateLease { holder, code } => {
            assert_eq!(request.method, Method::POST, "{step:?}");
            assert_eq!(
                path,
                "/apis/coordination.k8s.io/v1/namespaces/mcp-system/leases"
            );
            assert_eq!(body["metadata"]["name"], "mcp-gateway-controller");
            assert_eq!(body["spec"]["holderIdentity"], holder.as_str(), "{body}");
            assert_eq!(body["spec"]["leaseDurationSeconds"], 15, "{body}");
            assert_eq!(body["spec"]["leaseTransitions"], 0, "{body}");
            answer(*code, with_version(body, "1"))
        }
        Step::ReplaceLease {
            holder,
            transitions,
            code,
        } => {
            assert_eq!(request.method, Method::PUT, "{step:?}");
            assert_eq!(path, LEASE_PATH);
            let expected_holder = holder.as_deref().map_or(Value::Null, |h| json!(h));
            assert_eq!(body["spec"]["holderIdentity"], expected_holder, "{body}");
            assert_eq!(body["spec"]["leaseTransitions"], *transitions, "{body}");
            assert!(
                body["metadata"]["resourceVersion"].is_string(),
                "optimistic lock: {body}"
            );
            let next = body["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("0")
                .to_owned()
                + "+";
            answer(*code, with_version(body, &next))
        }
    }
}

const LEASE_PATH: &str =
    "/apis/coordination.k8s.io/v1/namespaces/mcp-system/leases/mcp-gateway-controller";

/// A Lease as the API server returns it.
pub fn lease(holder: Option<&str>, version: &str, transitions: i64) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "mcp-gateway-controller", "namespace": "mcp-system", "resourceVersion": version},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "leaseTransitions": transitions,
            "renewTime": "2025-01-01T00:00:00.000000Z",
        },
    })
}

fn assert_apply(request: &http::request::Parts, query: &str) {
    assert!(
        query.contains(&format!("fieldManager={FIELD_MANAGER}")),
        "field manager: {query}"
    );
    assert!(query.contains("force=true"), "force: {query}");
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/apply-patch+yaml"));
}

fn with_version(body: &Value, version: &str) -> Value {
    let mut object = body.clone();
    object["metadata"]["resourceVersion"] = json!(version);
    object
}

/// `code` with `object`, or a `Status` failure body for codes >= 400.
fn answer(code: u16, object: Value) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(code).expect("status code");
    if code < 400 {
        return (status, object);
    }
    let reason = match code {
        404 => "NotFound",
        409 => "Conflict",
        _ => "InternalError",
    };
    let failure = json!({
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "message": format!("mocked {code}"),
        "reason": reason,
        "code": code,
    });
    (status, failure)
}
