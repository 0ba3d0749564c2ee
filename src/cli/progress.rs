//! Progress display on a terminal: hidden when stderr is not a terminal or with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use newsclass::pipeline::Progress;

/// A progress reporter for [`newsclass::Pipeline::fit`].
pub struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .expect("valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Reporter { bar }
    }

    pub fn message(&self, msg: impl Into<String>) {
        if let Some(b) = &self.bar {
            b.set_message(msg.into());
        }
    }

    pub fn on_progress(&self, p: Progress<'_>) {
        let Some(b) = &self.bar else { return };
        match p {
            Progress::Tokenizing { n_docs } => b.set_message(format!("tokenizing {n_docs} rows")),
            Progress::Vectorized { n_features, nnz } => {
                b.set_message(format!("vocabulary: {n_features} terms, {nnz} nonzeros"))
            }
            Progress::Iteration {
                head,
                iteration,
                max_iter,
                objective,
            } => b.set_message(format!(
                "fitting head {head}: iteration {iteration}/{max_iter}, objective {objective:.4}"
            )),
            Progress::HeadDone { head, report } => b.println(format!(
                "  head {head}: {} iterations, {}",
                report.n_iter,
                if report.converged {
                    "converged"
                } else {
                    "not converged"
                }
            )),
            Progress::Calibrating { n_fit, n_heldout } => b.println(format!(
                "  calibration: fitting on {n_fit} rows to choose temperatures on {n_heldout} held-out rows"
            )),
            Progress::Refitting { n_rows } => b.println(format!(
                "  calibration: temperatures chosen; fitting on all {n_rows} rows"
            )),
            _ => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}
