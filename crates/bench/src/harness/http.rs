//! Small HTTP calls of the harness: admin pages, stats, readiness.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};

use crate::loadgen::{Conn, Target, get};

/// Timeout of one harness request.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `GET url`: status and body.
pub async fn fetch(url: &str) -> Result<(StatusCode, Bytes)> {
    let target = Target::resolve(url).await?;
    send(&target, get(&target)).await
}

/// `GET url`, which must answer 2xx, as JSON.
pub async fn fetch_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T> {
    let (status, body) = fetch(url).await?;
    if !status.is_success() {
        bail!("GET {url}: {status}");
    }
    serde_json::from_slice(&body)
        .with_context(|| format!("GET {url}: body is not the JSON expected"))
}

/// `POST url` with an empty body, which must answer 2xx.
pub async fn post_empty(url: &str) -> Result<Bytes> {
    let target = Target::resolve(url).await?;
    let mut request = get(&target);
    *request.method_mut() = Method::POST;
    let (status, body) = send(&target, request).await?;
    if !status.is_success() {
        bail!("POST {url}: {status}");
    }
    Ok(body)
}

/// `POST url` of an `application/x-www-form-urlencoded` `form` with `authorization`: status
/// and body.
pub async fn post_form(
    url: &str,
    authorization: &str,
    form: String,
) -> Result<(StatusCode, Bytes)> {
    let target = Target::resolve(url).await?;
    let mut request = Request::new(Full::new(Bytes::from(form)));
    *request.method_mut() = Method::POST;
    if let Ok(uri) = target.path().parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    headers.insert(HOST, target.authority().clone());
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(authorization).context("authorization header")?,
    );
    send(&target, request).await
}

async fn send(target: &Target, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
    let exchange = async {
        let mut conn = Conn::open(target.addr()).await?;
        conn.send(request).await
    };
    let reply = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .with_context(|| format!("{} did not answer within {TIMEOUT:?}", target.url()))??;
    Ok((reply.status, reply.body))
}
