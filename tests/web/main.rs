//! kindling-web end to end: the cleaner and the model server over HTTP, and both pages in a
//! real browser (headless Chromium; those tests skip, saying so, where it is not installed:
//! `apt-get install -y chromium chromium-driver`).

// The allocator `kindling-web` runs on (mimalloc, keeping freed memory), so that the server
// process of the memory test (serve_http::serve_process) behaves as the binary does.
kindling_core::mimalloc_allocator!();

mod browser;
mod clean_csv;
mod clean_http;
mod fixtures;
mod http;
mod serve_http;
mod serve_tasks;
mod webdriver;
