//! The base URLs the commands take (`load --gateway`, `doctor --prometheus`, …): plain
//! `http://`, with a host, without a query or a fragment (paths are appended to them).

/// Parses `text` as such a URL. `example` is shown when it is not one; `why_http` says why
/// only `http://` will do.
pub fn parse(text: &str, example: &str, why_http: &str) -> Result<reqwest::Url, String> {
    if !text.contains("://") {
        return Err(format!("{text:?} is not a URL: use e.g. {example}"));
    }
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("{text:?} is not a URL ({e}): use e.g. {example}"))?;
    if url.scheme() != "http" {
        return Err(format!("{text:?}: only http:// URLs ({why_http})"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?}: give the base URL only, without ?query or #fragment"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    fn parse(text: &str) -> Result<reqwest::Url, String> {
        super::parse(text, "http://127.0.0.1:5001", "plain HTTP here")
    }

    #[test]
    fn a_base_url_is_plain_http_with_a_host_and_nothing_after_the_path() {
        assert!(parse("http://127.0.0.1:5001").is_ok());
        assert!(parse("http://localhost:8000/prefix").is_ok());
        assert_eq!(
            parse("https://example.com").unwrap_err(),
            r#""https://example.com": only http:// URLs (plain HTTP here)"#
        );
        assert_eq!(
            parse("localhost:5000").unwrap_err(),
            r#""localhost:5000" is not a URL: use e.g. http://127.0.0.1:5001"#
        );
        assert!(parse("http://127.0.0.1:5001/?x=1").is_err());
        assert!(parse("http://127.0.0.1:5001/#top").is_err());
    }
}
