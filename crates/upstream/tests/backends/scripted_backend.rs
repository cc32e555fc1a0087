//! Against hand-written backends: exact headers, event streams with CRLF and
//! messages before the response, resumption, error statuses, bad pagination,
//! and servers that never answer.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use mcp_gateway_upstream::{UpstreamClient, UpstreamError};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use url::Url;

use crate::scripted::{
    accepted, event_stream, handshake, init_result, json, reply, result_for, scripted,
};
use crate::{client, options};

#[tokio::test]
async fn initialize_sends_the_transport_headers_and_negotiated_version() {
    let backend = scripted(|seen, _| match seen.rpc() {
        "initialize" => {
            let mut response = json(&init_result(seen.id(), "2025-03-26"));
            response
                .headers_mut()
                .insert("mcp-session-id", "sess-1".parse().expect("header"));
            response
        }
        _ => accepted(),
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-11-25"))
        .await
        .expect("init");
    assert_eq!(session.session_id.as_deref(), Some("sess-1"));
    assert_eq!(session.protocol_version, "2025-03-26");

    let seen = backend.seen();
    assert_eq!(seen.len(), 2);
    let (init, initialized) = (&seen[0], &seen[1]);
    assert_eq!(init.method, Method::POST);
    assert_eq!(
        init.header("accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(init.header("content-type"), Some("application/json"));
    assert_eq!(init.header("mcp-session-id"), None);
    assert_eq!(init.header("mcp-protocol-version"), None);
    assert!(init.id().is_some());
    assert_eq!(init.body["params"]["protocolVersion"], "2025-11-25");
    assert_eq!(
        init.body["params"]["capabilities"],
        json!({"roots": {"listChanged": true}})
    );
    assert_eq!(init.body["params"]["clientInfo"]["name"], "gateway-test");

    assert_eq!(initialized.rpc(), "notifications/initialized");
    assert!(initialized.body.get("id").is_none());
    assert_eq!(initialized.header("mcp-session-id"), Some("sess-1"));
    assert_eq!(
        initialized.header("mcp-protocol-version"),
        Some("2025-03-26")
    );
    assert_eq!(
        initialized.header("accept"),
        Some("application/json, text/event-stream")
    );
}

#[tokio::test]
async fn request_ids_are_increasing_integers() {
    let backend = scripted(|seen, _| {
        handshake(seen, Some("s")).unwrap_or_else(|| json(&result_for(seen.id(), json!({}))))
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let clone = client.clone();
    client.ping(backend.url(), &session).await.expect("ping");
    clone.ping(backend.url(), &session).await.expect("ping");
    let ids: Vec<u64> = backend.seen().iter().filter_map(|s| s.id()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn event_stream_skips_messages_before_the_response() {
    let backend = scripted(|seen, _| {
        handshake(seen, Some("s")).unwrap_or_else(|| {
            let id = seen.id().unwrap_or_default();
            event_stream(
                vec![
                    ": keep-alive\r\n\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",".into(),
                    "\"method\":\"notifications/progress\",\"params\":{}}\r\n\r\n".into(),
                    "id: 9\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"method\":\"sampling/createMessage\",\"params\":{}}\r\n\r\n".into(),
                    format!("data: {{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{{}}}}\r\n\r\n", id + 1000),
                    "data: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":".into(),
                    format!("{id},\"result\":{{\"answer\":42}}}}\r"),
                    "\n\r\n".into(),
                ],
                true,
            )
        })
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let start = Instant::now();
    let result = client
        .request(
            backend.url(),
            &session,
            "tools/call",
            Some(json!({"name": "x"})),
        )
        .await
        .expect("answer despite the stream staying open");
    assert_eq!(result, json!({"answer": 42}));
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn stream_closed_early_is_resumed_with_last_event_id() {
    let backend = scripted(|seen, before| {
        if let Some(response) = handshake(seen, Some("s")) {
            return response;
        }
        if seen.method == Method::GET {
            let id = before.iter().rev().find_map(|s| s.id()).unwrap_or_default();
            return event_stream(
                vec![format!(
                    "id: ev-2\ndata: {}\n\n",
                    result_for(Some(id), json!("resumed"))
                )],
                false,
            );
        }
        event_stream(vec!["id: ev-1\nretry: 10\ndata:\n\n".into()], false)
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let result = client
        .request(backend.url(), &session, "tools/call", None)
        .await
        .expect("resumed");
    assert_eq!(result, json!("resumed"));
    let get = backend
        .seen()
        .into_iter()
        .find(|s| s.method == Method::GET)
        .expect("a GET");
    assert_eq!(get.header("last-event-id"), Some("ev-1"));
    assert_eq!(get.header("mcp-session-id"), Some("s"));
    assert_eq!(get.header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn stream_ending_without_response_is_a_protocol_error() {
    let backend = scripted(|seen, _| {
        handshake(seen, None).unwrap_or_else(|| {
            event_stream(
                vec!["data: {\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n\n".into()],
                false,
            )
        })
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let error = client
        .request(backend.url(), &session, "tools/call", None)
        .await
        .expect_err("no response");
    assert!(matches!(error, UpstreamError::Protocol(_)), "{error:?}");
}

#[tokio::test]
async fn error_statuses_are_classified() {
    let backend = scripted(|seen, _| {
        if let Some(response) = handshake(seen, Some("s")) {
            return response;
        }
        let id = seen.id();
        match seen.body["params"]["case"].as_str().unwrap_or("") {
            // Python and TypeScript SDKs: JSON-RPC body without our id.
            "gone-json" => reply(
                StatusCode::NOT_FOUND,
                "application/json",
                json!({"jsonrpc": "2.0", "id": "server-error",
                    "error": {"code": -32600, "message": "Session not found"}})
                .to_string(),
            ),
            "gone-text" => reply(StatusCode::NOT_FOUND, "text/plain", "Not Found"),
            // rmcp stateless: method not found as HTTP 404 with our id.
            "rpc-404" => reply(
                StatusCode::NOT_FOUND,
                "application/json",
                json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": "Method not found"}})
                .to_string(),
            ),
            "boom" => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "boom"),
            "html" => reply(StatusCode::OK, "text/html", "<html></html>"),
            "not-json" => reply(StatusCode::OK, "application/json", "{"),
            "only-notification" => json(&json!({"jsonrpc": "2.0", "method": "n"})),
            "no-result" => json(&json!({"jsonrpc": "2.0", "id": id})),
            "accepted" => accepted(),
            _ => json(&result_for(id, json!({}))),
        }
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let call = |case: &'static str| {
        let client = client.clone();
        let session = session.clone();
        let url = backend.url().clone();
        async move {
            client
                .request(&url, &session, "x", Some(json!({"case": case})))
                .await
                .expect_err(case)
        }
    };
    assert!(call("gone-json").await.is_session_gone());
    assert!(call("gone-text").await.is_session_gone());
    let error = call("rpc-404").await;
    assert!(!error.is_session_gone());
    assert!(
        matches!(error, UpstreamError::Rpc { code: -32601, .. }),
        "{error:?}"
    );
    let error = call("boom").await;
    assert!(
        matches!(
            &error,
            UpstreamError::Status {
                status: 500,
                body_bytes: 4
            }
        ),
        "{error:?}"
    );
    // The body may echo what the gateway sent (a credential): it is never carried.
    assert!(!format!("{error} {error:?}").contains("boom"), "{error:?}");
    for case in [
        "html",
        "not-json",
        "only-notification",
        "no-result",
        "accepted",
    ] {
        let error = call(case).await;
        assert!(
            matches!(error, UpstreamError::Protocol(_)),
            "{case}: {error:?}"
        );
    }
}

#[tokio::test]
async fn list_all_rejects_repeated_cursors_and_missing_items() {
    let backend = scripted(|seen, _| {
        handshake(seen, None).unwrap_or_else(|| match seen.rpc() {
            "tools/list" => json(&result_for(
                seen.id(),
                json!({"tools": [{"name": "t"}], "nextCursor": "again"}),
            )),
            "prompts/list" => json(&result_for(seen.id(), json!({"prompts": "nope"}))),
            "resources/list" => {
                let page = seen.body["params"]["cursor"].as_str().unwrap_or("");
                let next = if page.is_empty() {
                    json!("p2")
                } else {
                    json!("")
                };
                json(&result_for(
                    seen.id(),
                    json!({"resources": [page], "nextCursor": next}),
                ))
            }
            _ => json(&result_for(seen.id(), json!({}))),
        })
    })
    .await;
    let client = client();
    let session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let error = client
        .list_all(backend.url(), &session, "tools/list", "tools")
        .await
        .expect_err("repeats its cursor");
    assert!(matches!(error, UpstreamError::Protocol(_)), "{error:?}");
    let tools_pages = backend
        .seen()
        .iter()
        .filter(|s| s.rpc() == "tools/list")
        .count();
    assert_eq!(tools_pages, 2);
    let error = client
        .list_all(backend.url(), &session, "prompts/list", "prompts")
        .await
        .expect_err("not an array");
    assert!(matches!(error, UpstreamError::Protocol(_)), "{error:?}");
    let resources = client
        .list_all(backend.url(), &session, "resources/list", "resources")
        .await
        .expect("empty cursor ends the list");
    assert_eq!(resources, vec![json!(""), json!("p2")]);
}

#[tokio::test]
async fn silent_servers_time_out() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    // Answers requests with an event stream of keep-alive comments only.
    let chatty = scripted(|seen, _| {
        handshake(seen, Some("s"))
            .unwrap_or_else(|| event_stream(vec![": ping\n\n".into(), ": ping\n\n".into()], true))
    })
    .await;

    let quick = UpstreamClient::new(Duration::from_millis(300)).expect("client");
    let url = Url::parse(&format!("http://{addr}/mcp")).expect("url");
    let start = Instant::now();
    let error = quick
        .initialize(&url, &options("2025-06-18"))
        .await
        .expect_err("silent");
    assert!(matches!(error, UpstreamError::Timeout), "{error:?}");
    assert!(start.elapsed() < Duration::from_secs(3));

    let session = quick
        .initialize(chatty.url(), &options("2025-06-18"))
        .await
        .expect("init");
    let start = Instant::now();
    let error = quick
        .ping(chatty.url(), &session)
        .await
        .expect_err("never answers");
    assert!(matches!(error, UpstreamError::Timeout), "{error:?}");
    assert!(start.elapsed() < Duration::from_secs(3));
    holder.abort();
}

#[tokio::test]
async fn terminate_is_best_effort() {
    let backend = scripted(|seen, _| {
        if seen.method == Method::DELETE {
            return match seen.header("mcp-session-id") {
                Some("not-allowed") => reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", ""),
                Some("gone") => reply(StatusCode::NOT_FOUND, "text/plain", ""),
                _ => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "broken"),
            };
        }
        handshake(seen, None).unwrap_or_else(accepted)
    })
    .await;
    let client = client();
    let mut session = client
        .initialize(backend.url(), &options("2025-06-18"))
        .await
        .expect("init");
    client
        .terminate(backend.url(), &session)
        .await
        .expect("stateless: nothing to do");
    assert!(backend.seen().iter().all(|s| s.method != Method::DELETE));

    for (id, ok) in [("not-allowed", true), ("gone", true), ("other", false)] {
        session.session_id = Some(id.into());
        let outcome = client.terminate(backend.url(), &session).await;
        assert_eq!(outcome.is_ok(), ok, "{id}: {outcome:?}");
    }
    let deletes: Vec<Value> = backend
        .seen()
        .iter()
        .filter(|s| s.method == Method::DELETE)
        .map(|s| json!([s.header("mcp-session-id"), s.header("mcp-protocol-version")]))
        .collect();
    assert_eq!(
        deletes,
        vec![
            json!(["not-allowed", "2025-06-18"]),
            json!(["gone", "2025-06-18"]),
            json!(["other", "2025-06-18"]),
        ]
    );
}

#[tokio::test]
async fn error_bodies_are_truncated_and_urls_stay_out() {
    let backend = scripted(|seen, _| {
        handshake(seen, None)
            .unwrap_or_else(|| reply(StatusCode::BAD_GATEWAY, "text/plain", "x".repeat(100_000)))
    })
    .await;
    let mut url = backend.url().clone();
    url.set_username("user").expect("username");
    url.set_password(Some("hunter2")).expect("password");
    url.set_query(Some("key=hunter2"));
    let client = client();
    let session = client
        .initialize(&url, &options("2025-06-18"))
        .await
        .expect("init");
    let error = client.ping(&url, &session).await.expect_err("502");
    match &error {
        UpstreamError::Status { status: 502, .. } => {}
        other => panic!("unexpected {other:?}"),
    }
    assert!(!format!("{error} {error:?}").contains("hunter2"));
}
