//! One HTTP client for the programs' APIs: every call has a timeout.

use std::time::Duration;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a plain HTTP client builds")
}
