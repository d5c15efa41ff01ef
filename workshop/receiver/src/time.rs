//! OTLP timestamps are nanoseconds since the Unix epoch; callers want `SystemTime`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Converts an OTLP timestamp. Zero (unset) becomes the epoch itself.
pub(crate) fn system_time(unix_nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}
