//! A client's GET stream read event by event: what a raw test needs to check ids,
//! order and resumption of server-sent events.

use std::{pin::Pin, time::Duration};

use anyhow::{Context, Result, anyhow, bail};
use futures::{Stream, StreamExt};
use serde_json::Value;

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Vec<u8>>> + Send>>;

/// One server-sent event that carried data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id:` field, if any.
    pub id: Option<String>,
    /// The `data:` lines, joined by newlines.
    pub data: String,
}

impl SseEvent {
    /// The JSON-RPC message the event carries, if its data is JSON.
    pub fn message(&self) -> Option<Value> {
        serde_json::from_str(&self.data).ok()
    }

    /// `method` of the JSON-RPC message the event carries.
    pub fn method(&self) -> Option<String> {
        self.message()?.get("method")?.as_str().map(str::to_owned)
    }
}

/// An open `text/event-stream` response, read one event at a time.
pub struct EventStream {
    body: Body,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("buffered", &self.buffer.len())
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// Reads the body of an event-stream response.
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(
                response
                    .bytes_stream()
                    .map(|chunk| chunk.map(|bytes| bytes.to_vec())),
            ),
            buffer: Vec::new(),
        }
    }

    /// The next event with data (keep-alive comments and priming events without data
    /// are skipped); an error when none arrives within `within` or the stream ends.
    pub async fn next_event(&mut self, within: Duration) -> Result<SseEvent> {
        tokio::time::timeout(within, self.read_event())
            .await
            .map_err(|_| anyhow!("no event on the stream within {within:?}"))?
    }

    /// Reads events until one satisfies `wanted`, returning it and the events skipped
    /// before it; fails when `within` passes first.
    pub async fn next_matching(
        &mut self,
        within: Duration,
        wanted: impl Fn(&SseEvent) -> bool,
    ) -> Result<(SseEvent, Vec<SseEvent>)> {
        let mut skipped = Vec::new();
        let search = async {
            loop {
                let event = self.read_event().await?;
                if wanted(&event) {
                    return Ok::<_, anyhow::Error>(event);
                }
                skipped.push(event);
            }
        };
        match tokio::time::timeout(within, search).await {
            Ok(Ok(event)) => Ok((event, skipped)),
            Ok(Err(error)) => Err(error.context(format!("after events {skipped:?}"))),
            Err(_) => bail!("no matching event within {within:?}; saw {skipped:?}"),
        }
    }

    async fn read_event(&mut self) -> Result<SseEvent> {
        loop {
            while let Some(block) = self.take_block() {
                if let Some(event) = parse_event(&block) {
                    return Ok(event);
                }
            }
            let chunk = self
                .body
                .next()
                .await
                .context("the event stream ended")?
                .context("reading the event stream")?;
            // Line ends may be CRLF; JSON data never holds a raw CR.
            self.buffer
                .extend(chunk.iter().copied().filter(|byte| *byte != b'\r'));
        }
    }

    /// The next complete event block (up to a blank line), removed from the buffer.
    fn take_block(&mut self) -> Option<String> {
        let end = self.buffer.windows(2).position(|pair| pair == b"\n\n")?;
        let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
        Some(String::from_utf8_lossy(&block[..end]).into_owned())
    }
}

/// The event in one block, if it has data.
fn parse_event(block: &str) -> Option<SseEvent> {
    let mut id = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() || data.iter().all(|line| line.is_empty()) {
        return None;
    }
    Some(SseEvent {
        id,
        data: data.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_and_skips_empty_ones() {
        assert_eq!(
            parse_event("id: g1\ndata: {\"a\":1}"),
            Some(SseEvent {
                id: Some("g1".to_owned()),
                data: "{\"a\":1}".to_owned(),
            })
        );
        assert_eq!(
            parse_event("data:x\ndata: y"),
            Some(SseEvent {
                id: None,
                data: "x\ny".to_owned(),
            })
        );
        assert_eq!(parse_event(":keep-alive"), None);
        assert_eq!(parse_event("id: 0\nretry: 500\ndata:"), None);
    }
}
