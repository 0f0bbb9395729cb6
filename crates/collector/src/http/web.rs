//! The collector's web page: one HTML file, a script, a stylesheet and an icon, compiled into
//! the binary so that the page works offline and never loads anything from another origin.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::HttpError;

/// The page itself; it links only to the assets below.
const INDEX_HTML: &str = include_str!("../../web/index.html");

/// One embedded file under `/web/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_str!("../../web/app.js") },
    Asset { name: "style.css", content_type: "text/css; charset=utf-8", body: include_str!("../../web/style.css") },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", body: include_str!("../../web/favicon.svg") },
];

/// Everything the page may load or connect to is this origin; no inline script runs, so data
/// that slipped into the DOM as markup could still not execute.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A static file with the headers every page response carries. `no-cache` makes a browser
/// revalidate, so a rebuilt collector's page is picked up on the next load.
fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CSP),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the page.
pub async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /web/{asset}`: the script, the stylesheet or the icon; 404 for any other name.
pub async fn asset(Path(name): Path<String>) -> Result<Response, HttpError> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| file(a.content_type, a.body))
        .ok_or_else(|| HttpError::not_found(format!("no asset {name:?}")))
}
