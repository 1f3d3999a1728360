//! kindling-web end to end: the cleaner and the model server over HTTP, and both pages in a
//! real browser (headless Chromium; those tests skip, saying so, where it is not installed:
//! `apt-get install -y chromium chromium-driver`).

mod browser;
mod clean_http;
mod fixtures;
mod http;
mod serve_http;
mod serve_tasks;
mod webdriver;
