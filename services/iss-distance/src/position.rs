//! Where is the ISS now? From the open-notify API, from the orbital model, or from the API
//! with the model as a fallback (`ISS_SOURCE=api|model|auto`).
//!
//! The fallback is what keeps the workshop working on conference wifi: when the API is
//! unreachable, slow or answers garbage, the model still gives a plausible position, and
//! the answer says so in `source`.
//!
//! The API is asked gently (see [`crate::memory`]): a position it gave serves every request
//! for up to `ISS_API_MAX_AGE_MS`; requests that find none fresh share one call; and after a
//! failure it is left alone for a pause that grows while it keeps failing. During a pause,
//! `auto` answers from the model at once, and `api` fails at once: it never answers from
//! the model, and asking during the pause would be what the pause is there to avoid (a
//! `Retry-After` is a request not to).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use service_kit::ApiError;
use service_kit::upstream::{CallOutcome, Upstream, UpstreamError};
use telemetry::OpenTelemetrySpanExt;

use axum::http::StatusCode;

use crate::memory::{Change, Clock, Courtesy, Decision, Memory};
use crate::metrics;
use crate::open_notify::ApiPosition;
use crate::orbit::OrbitalModel;

/// Where positions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Only the API: its failures are errors (502).
    Api,
    /// Only the orbital model: works offline.
    Model,
    /// The API, falling back to the model when it fails.
    Auto,
}

/// The ISS's position as we answer it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssPosition {
    pub latitude: f64,
    pub longitude: f64,
    /// `"open-notify"` or `"orbital-model"`.
    pub source: String,
    /// When the position was valid, in seconds since the Unix epoch.
    pub timestamp: i64,
}

/// Why the API gave no position for this request.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// This request asked, and the call failed.
    #[error("{0}")]
    Failed(#[from] UpstreamError),
    /// The API failed before, and its pause is not over: nobody asked it.
    #[error("{reason}; not asking it again for {}", human(*remaining))]
    Paused { reason: String, remaining: Duration },
    /// Another request is asking the API again after a pause; this one did not wait.
    #[error("{reason}; another request is asking it again")]
    Retrying { reason: String },
    /// The call this request waited for failed.
    #[error("{reason}")]
    Shared { reason: String },
}

pub struct Locator {
    source: Source,
    api: Upstream,
    model: Option<OrbitalModel>,
    /// What is known of the API. A blocking mutex: it is held for a few instructions and
    /// never across an `.await`.
    memory: Mutex<Memory>,
    /// The turn to call the API. Held across the call, so that requests finding no fresh
    /// position queue behind the one call in flight, then find its position fresh: one
    /// call, however many requests (single flight). An async mutex is the simplest sound
    /// way to do that: its guard may be held across `.await`, it wakes waiters in order,
    /// and a request that is dropped mid-call releases it, so the next one asks instead.
    turn: tokio::sync::Mutex<()>,
    clock: Clock,
}

impl Locator {
    /// `model` may be `None` only when `source` is [`Source::Api`].
    pub fn new(
        source: Source,
        api: Upstream,
        model: Option<OrbitalModel>,
        courtesy: Courtesy,
    ) -> Self {
        assert!(
            source == Source::Api || model.is_some(),
            "{source:?} needs an orbital model"
        );
        Self {
            source,
            api,
            model,
            memory: Mutex::new(Memory::new(courtesy)),
            turn: tokio::sync::Mutex::new(()),
            clock: Clock::system(),
        }
    }

    /// The same locator, telling the time by `clock` (for tests).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub async fn locate(&self) -> Result<IssPosition, ApiError> {
        let position = match self.source {
            Source::Model => self.ask_model(),
            Source::Api => self.api_position().await.map_err(api_failure),
            // The API's failures are logged where they start and end (`log_change`), once
            // each, not for every request that meanwhile gets the model.
            Source::Auto => match self.api_position().await {
                Ok(position) => Ok(position),
                Err(_unavailable) => self.ask_model(),
            },
        }?;
        // On the request's span, which source answered: a request served from memory, or
        // during a pause, has no call to the API of its own to say so.
        tracing::Span::current().set_attribute("iss.source", position.source.clone());
        Ok(position)
    }

    /// The API's position: remembered while fresh, else asked for in one call that every
    /// request needing it meanwhile shares; an error while the API is paused.
    async fn api_position(&self) -> Result<IssPosition, Unavailable> {
        if let Some(position) = self.remembered()? {
            return Ok(position);
        }
        let seen = self.memory().answers();
        let _turn = self.turn().await?;
        // Whoever had the turn before us has probably just asked.
        if let Some(position) = self.remembered()? {
            return Ok(position);
        }
        // And if that call failed, its failure is ours too (there is no pause to say so
        // with ISS_API_BACKOFF_MS=0): one more call queued behind a dead API helps nobody.
        if let Some(reason) = self.memory().failed_since(seen) {
            return Err(Unavailable::Shared {
                reason: reason.to_owned(),
            });
        }
        let asked = self.clock.now();
        let answer = self.ask_api().await;
        let change = self
            .memory()
            .remember(asked, self.clock.now(), answer.as_ref());
        if let Some(change) = change {
            self.log_change(&change);
        }
        Ok(answer?)
    }

    /// A fresh position from memory, `None` when the API is to be asked, or why not.
    fn remembered(&self) -> Result<Option<IssPosition>, Unavailable> {
        match self.memory().decide(self.clock.now()) {
            Decision::Fresh(position) => Ok(Some(position)),
            Decision::Pause { reason, remaining } => Err(Unavailable::Paused { reason, remaining }),
            Decision::Ask => Ok(None),
        }
    }

    /// Waits for the turn to call the API; `None` when calls are not shared
    /// (`ISS_API_MAX_AGE_MS=0`: every request asks on its own).
    async fn turn(&self) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, Unavailable> {
        if !self.memory().courtesy().shares_calls() {
            return Ok(None);
        }
        if let Ok(turn) = self.turn.try_lock() {
            return Ok(Some(turn));
        }
        // Another request is calling. While the API is failing, that call is a retry that
        // may well hang until its timeout: `auto` answers from the model meanwhile.
        if self.source == Source::Auto {
            let trouble = self.memory().trouble().map(|t| t.reason.clone());
            if let Some(reason) = trouble {
                return Err(Unavailable::Retrying { reason });
            }
        }
        Ok(Some(self.turn.lock().await))
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        // Nothing panics while holding it; if something did, the memory is still usable.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Logs the API's trouble once when it starts and once when it ends, at WARN; the
    /// retries in between, at INFO (one per pause, at most every `ISS_API_BACKOFF_MAX_MS`).
    fn log_change(&self, change: &Change) {
        let message = describe(change, self.source);
        match change {
            Change::StillFailing { .. } => tracing::info!("{message}"),
            Change::Failing { .. } | Change::Answering { .. } => tracing::warn!("{message}"),
        }
    }

    /// The position, from the ISS API.
    // TODO(section 3): in a span of its own, `getting-iss-coordinates`, with the position
    // it got as attributes, or the failure as its status.
    async fn ask_api(&self) -> Result<IssPosition, UpstreamError> {
        let answer = self.api.get_json::<ApiPosition>("", &[]).await;
        metrics::count_iss_request(CallOutcome::of(&answer));
        answer.map(IssPosition::from)
    }

    fn ask_model(&self) -> Result<IssPosition, ApiError> {
        let model = self.model.as_ref().expect("checked in Locator::new");
        let now = Utc::now();
        let point = model.position_at(now).map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("orbital model unavailable: {e}"),
            )
        })?;
        Ok(IssPosition {
            latitude: point.latitude,
            longitude: point.longitude,
            source: "orbital-model".into(),
            timestamp: now.timestamp(),
        })
    }
}

// TODO(section 2): log the failure, as an error.
fn api_failure(failure: Unavailable) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        format!("could not get the ISS position: {failure}"),
    )
    .from_upstream("iss-api")
}

/// The log line for a change in the API's health, as `source` deals with it.
fn describe(change: &Change, source: Source) -> String {
    let meanwhile = match source {
        Source::Api => "answering 502",
        _ => "answering from the orbital model",
    };
    let next = |pause: Duration| {
        if pause.is_zero() {
            "asking it again on the next request".to_owned()
        } else {
            format!("asking it again in {}", human(pause))
        }
    };
    match change {
        Change::Failing { reason, pause } => {
            format!(
                "the ISS API failed: {reason}; {meanwhile}, {}",
                next(*pause)
            )
        }
        Change::StillFailing {
            failures,
            reason,
            pause,
        } => format!(
            "the ISS API failed again ({failures} calls in a row): {reason}; {}",
            next(*pause)
        ),
        Change::Answering { failures, after } => {
            let calls = if *failures == 1 { "call" } else { "calls" };
            let answering = match source {
                Source::Api => "answering with its position again",
                _ => "using its position again instead of the orbital model",
            };
            format!(
                "the ISS API answers again, after {failures} failed {calls} in {}; {answering}",
                human(*after)
            )
        }
    }
}

/// `250 ms`, `4 s`, `1.5 s`: pauses as a person reads them.
fn human(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

impl From<ApiPosition> for IssPosition {
    fn from(position: ApiPosition) -> Self {
        IssPosition {
            latitude: position.latitude,
            longitude: position.longitude,
            source: "open-notify".into(),
            timestamp: position.timestamp,
        }
    }
}

#[cfg(test)]
mod tests;
