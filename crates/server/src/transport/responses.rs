//! The HTTP answers of the Engine.IO endpoint that are not a session's: protocol errors and
//! "too many connections".

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An Engine.IO error answer (`400` with `{code, message}`, as Node's engine.io sends).
pub fn refuse(code: u8, message: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// `503`: the server or this address holds as many sessions as allowed.
pub fn too_many() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        "too many connections\n",
    )
        .into_response()
}
