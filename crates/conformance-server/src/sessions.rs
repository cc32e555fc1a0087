//! rmcp's in-memory session manager, plus what `test_reconnection` needs: the
//! ability for a tool to close the SSE stream of its own `tools/call` and to
//! learn when the client has resumed it with `Last-Event-ID` (SEP-1699).
//!
//! rmcp numbers the POST streams of a session ("HTTP request ids") but does not
//! tell a handler which one carries its request. [`Sessions`] records that
//! mapping when the stream is created, keeps it while the stream lives, and
//! signals waiting tools when a `GET` resumes a stream.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use futures::Stream;
use rmcp::{
    model::{ClientJsonRpcMessage, JsonRpcMessage, RequestId},
    transport::{
        WorkerTransport,
        streamable_http_server::{
            SessionId, SessionManager,
            session::{
                EventStore, RestoreOutcome, ServerSseMessage,
                local::{
                    LocalSessionHandle, LocalSessionManager, LocalSessionManagerError,
                    LocalSessionWorker,
                },
            },
        },
    },
};
use tokio::sync::oneshot;
use tokio_stream::wrappers::ReceiverStream;

/// A POST stream number, as rmcp's local session manager assigns them.
type HttpRequestId = u64;

/// Which POST stream carries one MCP request of one session.
type StreamKey = (SessionId, RequestId);

/// How a [`Sessions::close_and_await_resume`] call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconnection {
    /// The stream was closed and the client resumed it in time.
    Resumed,
    /// The stream was closed but the client did not resume it in time.
    NotResumed,
    /// No open SSE stream carries this request (JSON response, or already closed).
    NoStream,
}

/// The streams and resume waiters of every session.
#[derive(Debug, Default)]
struct Registry {
    streams: Mutex<HashMap<StreamKey, HttpRequestId>>,
    resume_waiters: Mutex<HashMap<(SessionId, HttpRequestId), oneshot::Sender<()>>>,
}

/// Locks `mutex`; a panic elsewhere while holding it leaves plain map data behind,
/// which stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// rmcp's [`LocalSessionManager`] that also knows which POST stream carries
/// each in-flight request.
#[derive(Debug, Default)]
pub struct Sessions {
    local: LocalSessionManager,
    registry: Arc<Registry>,
}

impl Sessions {
    /// Closes the SSE stream carrying `request` of `session` (after a priming
    /// event announcing `retry`), then waits up to `wait` for the client to
    /// resume it with `Last-Event-ID`.
    pub async fn close_and_await_resume(
        &self,
        session: &SessionId,
        request: &RequestId,
        retry: Duration,
        wait: Duration,
    ) -> Result<Reconnection, LocalSessionManagerError> {
        let key = (session.clone(), request.clone());
        let Some(http_request_id) = lock(&self.registry.streams).get(&key).copied() else {
            return Ok(Reconnection::NoStream);
        };
        let (resumed_tx, resumed) = oneshot::channel();
        lock(&self.registry.resume_waiters).insert((session.clone(), http_request_id), resumed_tx);
        let closed = match self.handle(session).await {
            Ok(handle) => handle
                .close_sse_stream(http_request_id, Some(retry))
                .await
                .map_err(LocalSessionManagerError::from),
            Err(error) => Err(error),
        };
        if let Err(error) = closed {
            lock(&self.registry.resume_waiters).remove(&(session.clone(), http_request_id));
            return Err(error);
        }
        let outcome = match tokio::time::timeout(wait, resumed).await {
            Ok(Ok(())) => Reconnection::Resumed,
            Ok(Err(_)) | Err(_) => Reconnection::NotResumed,
        };
        lock(&self.registry.resume_waiters).remove(&(session.clone(), http_request_id));
        Ok(outcome)
    }

    async fn handle(&self, id: &SessionId) -> Result<LocalSessionHandle, LocalSessionManagerError> {
        self.local
            .sessions
            .read()
            .await
            .get(id)
            .cloned()
            .ok_or_else(|| LocalSessionManagerError::SessionNotFound(id.clone()))
    }
}

/// The POST stream number in an rmcp event id (`<index>/<http request id>`);
/// `None` for events of the standalone GET stream (`<index>`).
fn http_request_id_of(event_id: &str) -> Option<HttpRequestId> {
    let (_index, http_request_id) = event_id.split_once('/')?;
    http_request_id.parse().ok()
}

/// Removes a stream's registry entry when the stream is dropped.
#[derive(Debug)]
struct Registration {
    registry: Arc<Registry>,
    key: StreamKey,
    http_request_id: HttpRequestId,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut streams = lock(&self.registry.streams);
        // A client may reuse a request id; leave a newer stream's entry alone.
        if streams.get(&self.key) == Some(&self.http_request_id) {
            streams.remove(&self.key);
        }
    }
}

/// A POST response stream that stays registered while it lives.
#[derive(Debug)]
struct TrackedStream {
    inner: ReceiverStream<ServerSseMessage>,
    _registration: Option<Registration>,
}

impl Stream for TrackedStream {
    type Item = ServerSseMessage;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().inner).poll_next(cx)
    }
}

impl SessionManager for Sessions {
    type Error = LocalSessionManagerError;
    type Transport = WorkerTransport<LocalSessionWorker>;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        self.local.create_session().await
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<rmcp::model::ServerJsonRpcMessage, Self::Error> {
        self.local.initialize_session(id, message).await
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        self.local.has_session(id).await
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.local.close_session(id).await
    }

    /// What [`LocalSessionManager`] does, recording the stream of a request.
    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let handle = self.handle(id).await?;
        let receiver = handle.establish_request_wise_channel().await?;
        let registration = match (&message, receiver.http_request_id) {
            (JsonRpcMessage::Request(request), Some(http_request_id)) => {
                let key = (id.clone(), request.id.clone());
                lock(&self.registry.streams).insert(key.clone(), http_request_id);
                Some(Registration {
                    registry: self.registry.clone(),
                    key,
                    http_request_id,
                })
            }
            _ => None,
        };
        handle
            .push_message(message, receiver.http_request_id)
            .await?;
        Ok(TrackedStream {
            inner: ReceiverStream::new(receiver.inner),
            _registration: registration,
        })
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.local.accept_message(id, message).await
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        self.local.create_standalone_stream(id).await
    }

    /// What [`LocalSessionManager`] does, then wakes a tool waiting for this
    /// stream to be resumed.
    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let http_request_id = http_request_id_of(&last_event_id);
        let stream = self.local.resume(id, last_event_id).await?;
        if let Some(http_request_id) = http_request_id
            && let Some(waiter) =
                lock(&self.registry.resume_waiters).remove(&(id.clone(), http_request_id))
        {
            // The tool may have stopped waiting; then nobody needs to know.
            let _ = waiter.send(());
        }
        Ok(stream)
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        self.local.restore_session(id).await
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.local.event_store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stream_number_of_an_event_id() {
        assert_eq!(http_request_id_of("3/7"), Some(7));
        assert_eq!(http_request_id_of("0/0"), Some(0));
        assert_eq!(http_request_id_of("12"), None);
        assert_eq!(http_request_id_of("1/x"), None);
        assert_eq!(http_request_id_of(""), None);
    }

    #[tokio::test]
    async fn unknown_requests_have_no_stream() {
        let sessions = Sessions::default();
        let outcome = sessions
            .close_and_await_resume(
                &SessionId::from("nope"),
                &RequestId::Number(1),
                Duration::from_millis(1),
                Duration::from_millis(1),
            )
            .await
            .expect("no error");
        assert_eq!(outcome, Reconnection::NoStream);
    }

    #[test]
    fn dropping_a_registration_forgets_its_stream_only() {
        let registry = Arc::new(Registry::default());
        let key = (SessionId::from("s"), RequestId::Number(2));
        let registration = |http_request_id| Registration {
            registry: registry.clone(),
            key: key.clone(),
            http_request_id,
        };
        lock(&registry.streams).insert(key.clone(), 4);
        let older = registration(3);
        drop(older);
        assert_eq!(
            lock(&registry.streams).get(&key),
            Some(&4),
            "newer entry kept"
        );
        drop(registration(4));
        assert!(!lock(&registry.streams).contains_key(&key));
    }
}
