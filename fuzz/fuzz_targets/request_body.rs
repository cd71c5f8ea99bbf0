//! Whole requests through the gateway (routing, the authorizer, body checks, parsing, the use
//! cases, the embedded store). Input layout:
//!
//! - byte 0: route — register, login, refresh, logout, me, or (5) "METHOD PATH" from the next line;
//! - byte 1: content type — none, JSON, JSON with charset, text/plain, a `+json` type, odd
//!   spelling, form encoding, or (7) raw bytes from the next line;
//! - byte 2: authorization — none, a fresh access token, a fresh refresh token, or (3) raw bytes
//!   from the next line;
//! - the rest: the body, where `$AT` / `$RT` become a fresh access / refresh token of a real
//!   account (password `fuzzing password`), so the token paths past the signature are reached.
//!
//! Must never panic nor answer 5xx; every error is a problem document (or API Gateway's own
//! message) that never echoes a token or password the request carried.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use jwt_auth_fuzz::{ACCOUNT_PASSWORD, fresh_tokens, gateway, request, runtime};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [Option<&str>; 7] = [
    None,
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    Some("application/vnd.api+json"),
    Some(" Application/JSON ;q=1"),
    Some("application/x-www-form-urlencoded"),
];

fn next_line<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let end = rest.iter().position(|&byte| byte == b'\n').unwrap_or(rest.len());
    let line = &rest[..end];
    *rest = rest.get(end + 1..).unwrap_or_default();
    line
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|window| window == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn contains(haystack: &str, needle: &str) -> bool {
    !needle.is_empty() && haystack.contains(needle)
}

fuzz_target!(|data: &[u8]| {
    let [route, content_type, authorization, ref rest @ ..] = *data else { return };
    let mut rest = rest;

    let (method, path) = match route % 6 {
        0 => (Method::POST, "/auth/register".to_owned()),
        1 => (Method::POST, "/auth/login".to_owned()),
        2 => (Method::POST, "/auth/refresh".to_owned()),
        3 => (Method::POST, "/auth/logout".to_owned()),
        4 => (Method::GET, "/auth/me".to_owned()),
        _ => {
            let line = String::from_utf8_lossy(next_line(&mut rest)).into_owned();
            let (method, path) = line.split_once(' ').unwrap_or(("POST", &line));
            let Ok(method) = Method::from_bytes(method.as_bytes()) else { return };
            (method, path.to_owned())
        }
    };

    let mut headers = HeaderMap::new();
    let raw_content_type;
    let content_type = match content_type % 8 {
        7 => {
            raw_content_type = next_line(&mut rest);
            HeaderValue::from_bytes(raw_content_type).ok()
        }
        index => CONTENT_TYPES[usize::from(index)].map(HeaderValue::from_static),
    };
    if let Some(value) = content_type {
        headers.insert("content-type", value);
    }

    let needs_tokens =
        matches!(authorization % 4, 1 | 2) || rest.windows(3).any(|window| window == b"$AT" || window == b"$RT");
    let (access, refresh) = if needs_tokens { fresh_tokens() } else { (String::new(), String::new()) };
    let authorization = match authorization % 4 {
        0 => None,
        1 => HeaderValue::from_str(&format!("Bearer {access}")).ok(),
        2 => HeaderValue::from_str(&format!("Bearer {refresh}")).ok(),
        _ => HeaderValue::from_bytes(next_line(&mut rest)).ok(),
    };
    if let Some(value) = authorization {
        headers.insert("authorization", value);
    }
    let body = replace(&replace(rest, b"$AT", access.as_bytes()), b"$RT", refresh.as_bytes());

    let response = runtime().block_on(gateway().handle(request(method, &path, headers, body)));
    let status = response.status();
    assert!(!status.is_server_error(), "{status} for {path}: {}", response.body());
    if status.is_client_error() {
        let body: serde_json::Value = serde_json::from_str(response.body()).expect("error bodies are JSON");
        let problem = body["code"].is_string() && body["status"] == status.as_u16() && body["type"].is_string();
        let gateway_message = matches!(status.as_u16(), 401 | 403) && body["message"].is_string();
        assert!(problem || gateway_message, "not a problem document: {body}");
        let text = response.body();
        assert!(!contains(text, &access) && !contains(text, &refresh), "error echoes a token: {text}");
        assert!(!text.contains(ACCOUNT_PASSWORD), "error echoes the password: {text}");
    }
});
