//! End-to-end tests of the `newsclass` command line: every test runs the real binary in its own
//! temporary directory, on the small data files under `tests/fixtures/cli/`.

mod analysis;
mod chars;
mod cv;
#[cfg(feature = "encoder")]
mod encoder;
mod errors;
mod eval;
mod integrity;
mod predict;
mod report;
mod robustness;
#[cfg(all(feature = "serve", unix))]
mod serve;
mod threads;
mod train;
mod util;
