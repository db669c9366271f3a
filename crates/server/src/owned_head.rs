//! Copies a request's URI and headers out of hyper's read buffer.
//!
//! hyper parses a request head in place: every header value and the URI are slices of its
//! 8 KiB connection buffer. socketioxide keeps the request head of each Socket.IO connection for
//! the connection's whole life, so each one would pin a whole buffer for a few hundred bytes of
//! headers. Copying them into their own small allocations first frees the buffer. Together
//! with a 1 KiB WebSocket read buffer, this took socketioxide's idle WebSocket connections from
//! 29.3 to 19.0 KB each (`charla-bench compare --scenarios idle`; the two were not measured
//! apart). Connections served by [`crate::ws`] keep no request head and skip this.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

/// Axum middleware: replaces the URI and headers with owned copies, then continues.
pub async fn copy_head(mut request: Request, next: Next) -> Response {
    if let Ok(uri) = Uri::try_from(request.uri().to_string()) {
        *request.uri_mut() = uri;
    }
    let owned = owned_headers(request.headers());
    *request.headers_mut() = owned;
    next.run(request).await
}

fn owned_headers(headers: &HeaderMap) -> HeaderMap {
    let mut owned = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        // A value that was valid stays valid when copied; keep the original if not.
        let copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.append(name.clone(), copy);
    }
    owned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_every_value_in_order() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", HeaderValue::from_static("a=1"));
        headers.append("cookie", HeaderValue::from_static("b=2"));
        headers.append("origin", HeaderValue::from_static("http://localhost:5175"));
        let owned = owned_headers(&headers);
        assert_eq!(owned, headers);
        let cookies: Vec<_> = owned.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
    }
}
