//! hagen-web: the wizard. A form over hagen-core: every edit serialises the form to
//! topology.yaml and runs the core's check and render on it; "Generate" makes the keys
//! in the page and downloads the bundle as a zip. No server, no network request.

mod app;
mod browser;
mod state;

fn main() {
    yew::Renderer::<app::App>::new().render();
}
