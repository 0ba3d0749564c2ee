//! A limited-memory BFGS minimizer that works in place.
//!
//! Each evaluation computes the objective and its gradient together (one pass over the data). The
//! curvature history is allocated once and stored in `f32` (the pairs only shape the search
//! direction; the line search and the stopping test use exact `f64` values), which halves the
//! memory traffic of the two-loop recursion; its loops are fused so that each history vector is
//! read once per loop, and every vector operation runs in parallel over fixed chunks whose partial
//! sums are added in a fixed order, so results do not depend on the number of threads.
//!
//! The line search backtracks from the unit step (Armijo condition) with safeguarded quadratic
//! interpolation; curvature pairs with `sᵀy <= 0` are skipped, which keeps the inverse-Hessian
//! estimate positive definite. Stopping follows scipy's L-BFGS-B as scikit-learn calls it: the
//! largest gradient component falls below `gtol`, or the relative decrease of the objective
//! falls below `ftol`.

use rayon::prelude::*;

/// Result of a minimization.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Iterations performed.
    pub n_iter: usize,
    /// Whether a stopping criterion was met before `max_iter`.
    pub converged: bool,
    /// Final objective value.
    pub value: f64,
    /// Objective evaluations performed.
    pub n_evals: usize,
}

/// Stopping and memory settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Maximum iterations.
    pub max_iter: usize,
    /// Stop when `max |gradient| <= gtol`.
    pub gtol: f64,
    /// Stop when `(f_old - f_new) / max(|f_old|, |f_new|, 1) <= ftol`.
    pub ftol: f64,
    /// Number of curvature pairs kept.
    pub memory: usize,
}

const CHUNK: usize = 1 << 14;

/// Sum of per-chunk values, in chunk order (deterministic for any thread count).
fn ordered_sum(parts: Vec<f64>) -> f64 {
    parts.into_iter().sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    ordered_sum(
        a.par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum())
            .collect(),
    )
}

fn max_abs(a: &[f64]) -> f64 {
    a.par_chunks(CHUNK)
        .map(|x| x.iter().fold(0.0f64, |m, v| m.max(v.abs())))
        .reduce(|| 0.0, f64::max)
}

/// `v += a·u` (if `u` is given), then return `w·v` (if `w` is given), in one pass.
fn axpy_dot(v: &mut [f64], a: f64, u: Option<&[f32]>, w: Option<&[f32]>) -> f64 {
    let parts: Vec<f64> = v
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, vc)| {
            let range = c * CHUNK..c * CHUNK + vc.len();
            let uc = u.map(|u| &u[range.clone()]);
            let wc = w.map(|w| &w[range]);
            let mut acc = 0.0;
            for (i, x) in vc.iter_mut().enumerate() {
                if let Some(uc) = uc {
                    *x += a * f64::from(uc[i]);
                }
                if let Some(wc) = wc {
                    acc += f64::from(wc[i]) * *x;
                }
            }
            acc
        })
        .collect();
    ordered_sum(parts)
}

/// The curvature pairs, oldest first once the ring is full.
struct History {
    s: Vec<Vec<f32>>,
    y: Vec<Vec<f32>>,
    rho: Vec<f64>,
    /// `yᵀy` of each pair, for the initial scaling.
    yy: Vec<f64>,
    /// Physical index of the oldest pair.
    head: usize,
    cap: usize,
}

impl History {
    fn len(&self) -> usize {
        self.s.len()
    }

    fn at(&self, logical: usize) -> usize {
        (self.head + logical) % self.len()
    }

    fn clear(&mut self) {
        self.s.clear();
        self.y.clear();
        self.rho.clear();
        self.yy.clear();
        self.head = 0;
    }

    /// Store the pair `s = x_new − x`, `y = g_new − g`.
    fn push(&mut self, x: &[f64], x_new: &[f64], g: &[f64], g_new: &[f64], sy: f64, yy: f64) {
        let j = if self.len() < self.cap {
            self.s.push(vec![0.0; x.len()]);
            self.y.push(vec![0.0; x.len()]);
            self.rho.push(0.0);
            self.yy.push(0.0);
            self.len() - 1
        } else {
            let j = self.head;
            self.head = (self.head + 1) % self.cap;
            j
        };
        self.s[j]
            .par_chunks_mut(CHUNK)
            .zip(self.y[j].par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (sc, yc))| {
                let o = c * CHUNK;
                for i in 0..sc.len() {
                    sc[i] = (x_new[o + i] - x[o + i]) as f32;
                    yc[i] = (g_new[o + i] - g[o + i]) as f32;
                }
            });
        self.rho[j] = 1.0 / sy;
        self.yy[j] = yy;
    }

    /// `d = −H·g` by the two-loop recursion, with fused passes; returns the slope `gᵀd`.
    fn direction(&self, g: &[f64], d: &mut [f64], alpha: &mut [f64]) -> f64 {
        d.copy_from_slice(g);
        let k = self.len();
        if k == 0 {
            let scale = 1.0 / dot(g, g).sqrt().max(1e-12);
            d.par_iter_mut().for_each(|v| *v *= -scale);
            return dot(g, d);
        }
        // Loop 1, newest to oldest: alpha_i = rho_i s_iᵀq; q -= alpha_i y_i.
        let mut prev: Option<usize> = None;
        for i in (0..k).rev() {
            let j = self.at(i);
            let (a, u) = match prev {
                Some(p) => (-alpha[p], Some(self.y[p].as_slice())),
                None => (0.0, None),
            };
            alpha[j] = self.rho[j] * axpy_dot(d, a, u, Some(&self.s[j]));
            prev = Some(j);
        }
        let oldest = prev.expect("k > 0");
        let newest = self.at(k - 1);
        let gamma = 1.0 / (self.rho[newest] * self.yy[newest]);
        // Finish loop 1 and scale: q -= alpha_oldest y_oldest; r = gamma q.
        axpy_dot(d, -alpha[oldest], Some(&self.y[oldest]), None);
        d.par_iter_mut().for_each(|v| *v *= gamma);
        // Loop 2, oldest to newest: beta_i = rho_i y_iᵀr; r += (alpha_i − beta_i) s_i.
        let mut pending: Option<(usize, f64)> = None;
        for i in 0..k {
            let j = self.at(i);
            let (a, u) = match pending {
                Some((p, coef)) => (coef, Some(self.s[p].as_slice())),
                None => (0.0, None),
            };
            let beta = self.rho[j] * axpy_dot(d, a, u, Some(&self.y[j]));
            pending = Some((j, alpha[j] - beta));
        }
        if let Some((p, coef)) = pending {
            axpy_dot(d, coef, Some(&self.s[p]), None);
        }
        // Negate and take the slope gᵀd in the same pass.
        ordered_sum(
            d.par_chunks_mut(CHUNK)
                .zip(g.par_chunks(CHUNK))
                .map(|(dc, gc)| {
                    let mut acc = 0.0;
                    for (v, gv) in dc.iter_mut().zip(gc) {
                        *v = -*v;
                        acc += gv * *v;
                    }
                    acc
                })
                .collect(),
        )
    }
}

/// Minimize `eval`, which writes the gradient at `x` into its second argument and returns the
/// objective. `x` holds the start on entry and the minimizer on return. `on_iter` is called
/// after each iteration with the iteration number and objective value.
pub fn minimize(
    x: &mut [f64],
    settings: Settings,
    mut eval: impl FnMut(&[f64], &mut [f64]) -> f64,
    mut on_iter: impl FnMut(usize, f64),
) -> Outcome {
    let n = x.len();
    let m = settings.memory.max(1);
    let mut g = vec![0.0; n];
    let mut f = eval(x, &mut g);
    let mut n_evals = 1;
    let mut hist = History {
        s: Vec::new(),
        y: Vec::new(),
        rho: Vec::new(),
        yy: Vec::new(),
        head: 0,
        cap: m,
    };
    let mut alpha = vec![0.0; m];
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut x_cur = x.to_vec();
    let mut n_iter = 0;
    let mut converged = max_abs(&g) <= settings.gtol;
    while !converged && n_iter < settings.max_iter {
        n_iter += 1;
        let mut slope = hist.direction(&g, &mut d, &mut alpha);
        if slope >= 0.0 || !slope.is_finite() {
            // Not a descent direction: restart from steepest descent.
            hist.clear();
            slope = hist.direction(&g, &mut d, &mut alpha);
        }
        // Backtracking line search (Armijo).
        let mut t = 1.0;
        let mut f_new;
        let mut accepted = false;
        loop {
            x_new.par_chunks_mut(CHUNK).enumerate().for_each(|(c, xc)| {
                let o = c * CHUNK;
                for (i, v) in xc.iter_mut().enumerate() {
                    *v = x_cur[o + i] + t * d[o + i];
                }
            });
            f_new = eval(&x_new, &mut g_new);
            n_evals += 1;
            if f_new.is_finite() && f_new <= f + 1e-4 * t * slope {
                accepted = true;
                break;
            }
            if t < 1e-20 {
                break;
            }
            // Minimizer of the quadratic through f, slope and f_new, kept in [0.1 t, 0.5 t].
            let q = if f_new.is_finite() {
                -slope * t * t / (2.0 * (f_new - f - slope * t))
            } else {
                0.1 * t
            };
            t = q.clamp(0.1 * t, 0.5 * t);
        }
        if !accepted {
            // No decrease is possible along the computed direction: stop here.
            converged = max_abs(&g) <= settings.gtol;
            break;
        }
        // Curvature pair, kept only when sᵀy > 0 (keeps the estimate positive definite).
        // sᵀy, yᵀy and the new gradient's largest component, in one pass.
        let (sy, yy, g_max) = x_cur
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, xc)| {
                let o = c * CHUNK;
                let mut sy = 0.0;
                let mut yy = 0.0;
                let mut g_max = 0.0f64;
                for i in 0..xc.len() {
                    let (sv, yv) = (x_new[o + i] - xc[i], g_new[o + i] - g[o + i]);
                    sy += sv * yv;
                    yy += yv * yv;
                    g_max = g_max.max(g_new[o + i].abs());
                }
                (sy, yy, g_max)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .fold((0.0, 0.0, 0.0f64), |a, b| {
                (a.0 + b.0, a.1 + b.1, a.2.max(b.2))
            });
        if sy > 1e-10 * yy && yy > 0.0 {
            hist.push(&x_cur, &x_new, &g, &g_new, sy, yy);
        }
        let decrease = (f - f_new) / f.abs().max(f_new.abs()).max(1.0);
        std::mem::swap(&mut x_cur, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        on_iter(n_iter, f);
        if g_max <= settings.gtol || decrease <= settings.ftol {
            converged = true;
        }
    }
    x.copy_from_slice(&x_cur);
    Outcome {
        n_iter,
        converged,
        value: f,
        n_evals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_a_rosenbrock_function() {
        let mut x = vec![-1.2, 1.0];
        let out = minimize(
            &mut x,
            Settings {
                max_iter: 500,
                gtol: 1e-8,
                ftol: 0.0,
                memory: 5,
            },
            |x, g| {
                let (a, b) = (x[0], x[1]);
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
            },
            |_, _| {},
        );
        assert!(out.converged, "{out:?}");
        assert!(
            (x[0] - 1.0).abs() < 1e-4 && (x[1] - 1.0).abs() < 1e-4,
            "{x:?}"
        );
    }

    #[test]
    fn minimizes_an_ill_conditioned_quadratic_across_chunks() {
        // Longer than one chunk, so the chunked, parallel vector operations are exercised.
        let n = 3 * CHUNK + 17;
        let scales: Vec<f64> = (0..n).map(|i| 1.0 + (i % 50) as f64 * 20.0).collect();
        let mut x = vec![1.0; n];
        let out = minimize(
            &mut x,
            Settings {
                max_iter: 2000,
                gtol: 1e-7,
                ftol: 0.0,
                memory: 10,
            },
            |x, g| {
                let mut f = 0.0;
                for i in 0..x.len() {
                    g[i] = scales[i] * (x[i] - 3.0);
                    f += 0.5 * scales[i] * (x[i] - 3.0).powi(2);
                }
                f
            },
            |_, _| {},
        );
        assert!(out.converged, "{out:?}");
        assert!(x.iter().all(|v| (v - 3.0).abs() < 1e-6));
    }

    #[test]
    fn history_ring_wraps_in_order() {
        // Memory 2 with many iterations forces the ring to wrap; the quadratic must still converge.
        let mut x = vec![5.0, -3.0, 2.0];
        let out = minimize(
            &mut x,
            Settings {
                max_iter: 500,
                gtol: 1e-10,
                ftol: 0.0,
                memory: 2,
            },
            |x, g| {
                let w = [1.0, 10.0, 100.0];
                let mut f = 0.0;
                for i in 0..3 {
                    g[i] = w[i] * x[i];
                    f += 0.5 * w[i] * x[i] * x[i];
                }
                f
            },
            |_, _| {},
        );
        assert!(out.converged && out.n_iter > 2);
        assert!(x.iter().all(|v| v.abs() < 1e-8));
    }
}
