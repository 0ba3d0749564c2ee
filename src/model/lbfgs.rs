//! A limited-memory BFGS minimizer that works in place.
//!
//! Each evaluation computes the objective and its gradient together (one pass over the data). The
//! curvature history is allocated once and stored in `f32` (the pairs only shape the search
//! direction; the line search and the stopping test use exact `f64` values), which halves the
//! memory traffic of the two-loop recursion; its loops are fused so that each history vector is
//! read once per loop, and every vector operation runs in parallel over fixed chunks whose partial
//! sums are added in a fixed order, so results do not depend on the number of threads.
//!
//! The initial inverse Hessian of each iteration is `γ·H0`, with `γ = sᵀy / yᵀ·H0·y` from the newest
//! pair and `H0` an optional diagonal supplied by the caller (a preconditioner; the identity when
//! absent), which the caller may update after any iteration. For logistic regression the caller
//! passes the inverse Hessian diagonal at the start and recomputes it every 10 iterations at the
//! current probabilities. On AG News (`train_20k.csv`, 1–2-grams, `C = 10`) that takes the fit
//! from 79 to 49 iterations at the default tolerance and from 273 to 100 at `tol 1e-6`.
//!
//! The line search backtracks from the unit step (Armijo condition) with safeguarded quadratic
//! interpolation. A new pair with `sᵀy <= 1e-10·yᵀ·H0·y` discards the whole history (the pair has
//! already replaced the oldest one; a convex objective such as ours always has `sᵀy >= 0`, so this
//! is a safeguard), which keeps the inverse-Hessian estimate positive definite. Stopping follows scipy's L-BFGS-B as scikit-learn calls it: the
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

/// Independent accumulators per chunk: breaks the floating-point add chain so loops vectorize
/// and pipeline (the order of additions is still fixed, hence deterministic).
const LANES: usize = 8;

/// Sum of `f(i)` over `0..n` with [`LANES`] accumulators, added in a fixed order.
#[inline(always)]
fn lane_sum(n: usize, mut f: impl FnMut(usize) -> f64) -> f64 {
    let mut acc = [0.0f64; LANES];
    let full = n - n % LANES;
    let mut i = 0;
    while i < full {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += f(i + l);
        }
        i += LANES;
    }
    for (l, a) in acc.iter_mut().enumerate().take(n - full) {
        *a += f(full + l);
    }
    acc.iter().sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    ordered_sum(
        a.par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(|(x, y)| lane_sum(x.len(), |i| x[i] * y[i]))
            .collect(),
    )
}

/// Largest `|v|`, with a NaN counted as infinite (so it never passes a tolerance test).
fn abs_or_inf(v: f64) -> f64 {
    if v.is_nan() {
        f64::INFINITY
    } else {
        v.abs()
    }
}

fn max_abs(a: &[f64]) -> f64 {
    a.par_chunks(CHUNK)
        .map(|x| x.iter().fold(0.0f64, |m, &v| m.max(abs_or_inf(v))))
        .reduce(|| 0.0, f64::max)
}

/// `v += a·u` (if `u` is given), then return `w·v` (if `w` is given), in one pass.
fn axpy_dot(v: &mut [f64], a: f64, u: Option<&[f32]>, w: Option<&[f32]>) -> f64 {
    let parts: Vec<f64> = v
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, vc)| {
            let range = c * CHUNK..c * CHUNK + vc.len();
            match (u.map(|u| &u[range.clone()]), w.map(|w| &w[range])) {
                (Some(uc), Some(wc)) => axpy_dot_chunk(vc, a, uc, wc),
                (Some(uc), None) => {
                    for (x, &ui) in vc.iter_mut().zip(uc) {
                        *x += a * f64::from(ui);
                    }
                    0.0
                }
                (None, Some(wc)) => dot_chunk(vc, wc),
                (None, None) => 0.0,
            }
        })
        .collect();
    ordered_sum(parts)
}

/// `v += a·u`, then `w·v`, over one chunk, with [`LANES`] accumulators.
fn axpy_dot_chunk(v: &mut [f64], a: f64, u: &[f32], w: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut vs = v.chunks_exact_mut(LANES);
    let mut us = u.chunks_exact(LANES);
    let mut ws = w.chunks_exact(LANES);
    for ((vl, ul), wl) in (&mut vs).zip(&mut us).zip(&mut ws) {
        for l in 0..LANES {
            vl[l] += a * f64::from(ul[l]);
            acc[l] += f64::from(wl[l]) * vl[l];
        }
    }
    let tail = vs
        .into_remainder()
        .iter_mut()
        .zip(us.remainder())
        .zip(ws.remainder());
    for (l, ((x, &ui), &wi)) in tail.enumerate() {
        *x += a * f64::from(ui);
        acc[l] += f64::from(wi) * *x;
    }
    acc.iter().sum()
}

/// `w·v` over one chunk, with [`LANES`] accumulators.
fn dot_chunk(v: &[f64], w: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut vs = v.chunks_exact(LANES);
    let mut ws = w.chunks_exact(LANES);
    for (vl, wl) in (&mut vs).zip(&mut ws) {
        for l in 0..LANES {
            acc[l] += f64::from(wl[l]) * vl[l];
        }
    }
    for (l, (&x, &wi)) in vs.remainder().iter().zip(ws.remainder()).enumerate() {
        acc[l] += f64::from(wi) * x;
    }
    acc.iter().sum()
}

/// The curvature pairs, oldest first once the ring is full.
struct History {
    s: Vec<Vec<f32>>,
    y: Vec<Vec<f32>>,
    rho: Vec<f64>,
    /// `yᵀ·H0·y` of each pair; the newest one's sets the initial scaling.
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

    /// Store the pair `s = x_new − x`, `y = g_new − g` as the newest (replacing the oldest when
    /// full) and return `sᵀy`, `yᵀ·H0·y` and `max |g_new|`, all in one pass. The caller drops the
    /// pair with [`History::drop_newest`] when its curvature is not positive.
    fn store(
        &mut self,
        x: &[f64],
        x_new: &[f64],
        g: &[f64],
        g_new: &[f64],
        h0: Option<&[f32]>,
    ) -> (f64, f64, f64) {
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
        let parts: Vec<(f64, f64, f64)> = self.s[j]
            .par_chunks_mut(CHUNK)
            .zip(self.y[j].par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (sc, yc))| {
                let o = c * CHUNK;
                let n = sc.len();
                let (xc, xn) = (&x[o..o + n], &x_new[o..o + n]);
                let (gc, gn) = (&g[o..o + n], &g_new[o..o + n]);
                let hc = h0.map(|h| &h[o..o + n]);
                let mut sy = [0.0f64; LANES];
                let mut yy = [0.0f64; LANES];
                for i in 0..n {
                    let (sv, yv) = (xn[i] - xc[i], gn[i] - gc[i]);
                    sc[i] = sv as f32;
                    yc[i] = yv as f32;
                    let l = i % LANES;
                    sy[l] += sv * yv;
                    yy[l] += yv * yv * hc.map_or(1.0, |h| f64::from(h[i]));
                }
                let g_max = gn.iter().fold(0.0f64, |m, &v| m.max(abs_or_inf(v)));
                (sy.iter().sum(), yy.iter().sum(), g_max)
            })
            .collect();
        let (sy, yy, g_max) = parts.into_iter().fold((0.0, 0.0, 0.0f64), |a, b| {
            (a.0 + b.0, a.1 + b.1, a.2.max(b.2))
        });
        self.rho[j] = 1.0 / sy;
        self.yy[j] = yy;
        (sy, yy, g_max)
    }

    /// Recompute `yᵀ·H0·y` of the newest pair (the only one the scaling `γ` reads) for a new
    /// `H0`.
    fn rescale(&mut self, h0: &[f32]) {
        if self.len() == 0 {
            return;
        }
        let newest = self.at(self.len() - 1);
        self.yy[newest] = ordered_sum(
            self.y[newest]
                .par_chunks(CHUNK)
                .zip(h0.par_chunks(CHUNK))
                .map(|(yc, hc)| {
                    let mut acc = [0.0f64; LANES];
                    for (i, (&v, &h)) in yc.iter().zip(hc).enumerate() {
                        acc[i % LANES] += f64::from(v) * f64::from(v) * f64::from(h);
                    }
                    acc.iter().sum()
                })
                .collect(),
        );
    }

    /// Forget the pair just stored. Rare (a convex objective always has `sᵀy >= 0`), so the
    /// whole history is dropped rather than unwinding the ring.
    fn drop_newest(&mut self) {
        self.clear();
    }

    /// `d = −H·g` by the two-loop recursion, with fused passes; returns the slope `gᵀd`.
    /// `h0` is the diagonal shape of the initial inverse Hessian (identity when `None`).
    fn direction(&self, g: &[f64], d: &mut [f64], alpha: &mut [f64], h0: Option<&[f32]>) -> f64 {
        d.copy_from_slice(g);
        let k = self.len();
        if k == 0 {
            if let Some(h) = h0 {
                d.par_iter_mut()
                    .zip(h)
                    .for_each(|(v, &h)| *v *= f64::from(h));
            }
            let scale = 1.0 / dot(d, d).sqrt().max(1e-12);
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
        match h0 {
            Some(h) => d
                .par_iter_mut()
                .zip(h)
                .for_each(|(v, &h)| *v *= gamma * f64::from(h)),
            None => d.par_iter_mut().for_each(|v| *v *= gamma),
        }
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
                    lane_sum(dc.len(), |i| {
                        dc[i] = -dc[i];
                        gc[i] * dc[i]
                    })
                })
                .collect(),
        )
    }
}

/// Minimize `eval`, which writes the gradient at `x` into its second argument and returns the
/// objective, starting from `x`; returns the minimizer. `h0`, when given, is the diagonal of the
/// initial inverse-Hessian shape (a preconditioner; each iteration rescales it by the newest
/// curvature pair, `sᵀy / yᵀ·H0·y`); `refresh_h0(iteration, h0)` may update it after each
/// iteration that does not stop the fit, and returns whether it did (the newest pair's `yᵀ·H0·y`
/// is then recomputed, so the next scaling matches the new `H0`). `on_iter` is called
/// after each iteration with the iteration number and objective value.
pub fn minimize(
    x: Vec<f64>,
    settings: Settings,
    mut h0: Option<&mut [f32]>,
    mut eval: impl FnMut(&[f64], &mut [f64]) -> f64,
    mut refresh_h0: impl FnMut(usize, &mut [f32]) -> bool,
    mut on_iter: impl FnMut(usize, f64),
) -> (Vec<f64>, Outcome) {
    let n = x.len();
    let m = settings.memory.max(1);
    let mut g = vec![0.0; n];
    let mut f = eval(&x, &mut g);
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
    let mut x_cur = x;
    let mut n_iter = 0;
    let mut converged = max_abs(&g) <= settings.gtol;
    while !converged && n_iter < settings.max_iter {
        n_iter += 1;
        let mut slope = hist.direction(&g, &mut d, &mut alpha, h0.as_deref());
        if slope >= 0.0 || !slope.is_finite() {
            // Not a descent direction: restart from steepest descent.
            hist.clear();
            slope = hist.direction(&g, &mut d, &mut alpha, h0.as_deref());
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
        let (sy, yy, g_max) = hist.store(&x_cur, &x_new, &g, &g_new, h0.as_deref());
        if !(sy > 1e-10 * yy && yy > 0.0) {
            hist.drop_newest();
        }
        let decrease = (f - f_new) / f.abs().max(f_new.abs()).max(1.0);
        std::mem::swap(&mut x_cur, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        on_iter(n_iter, f);
        if g_max <= settings.gtol || decrease <= settings.ftol {
            converged = true;
        } else if let Some(h) = h0.as_deref_mut() {
            if refresh_h0(n_iter, h) {
                hist.rescale(h);
            }
        }
    }
    (
        x_cur,
        Outcome {
            n_iter,
            converged,
            value: f,
            n_evals,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimizes_a_rosenbrock_function() {
        let x = vec![-1.2, 1.0];
        let (x, out) = minimize(
            x,
            Settings {
                max_iter: 500,
                gtol: 1e-8,
                ftol: 0.0,
                memory: 5,
            },
            None,
            |x, g| {
                let (a, b) = (x[0], x[1]);
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
            },
            |_, _| false,
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
        let x = vec![1.0; n];
        let (x, out) = minimize(
            x,
            Settings {
                max_iter: 2000,
                gtol: 1e-7,
                ftol: 0.0,
                memory: 10,
            },
            None,
            |x, g| {
                let mut f = 0.0;
                for i in 0..x.len() {
                    g[i] = scales[i] * (x[i] - 3.0);
                    f += 0.5 * scales[i] * (x[i] - 3.0).powi(2);
                }
                f
            },
            |_, _| false,
            |_, _| {},
        );
        assert!(out.converged, "{out:?}");
        assert!(x.iter().all(|v| (v - 3.0).abs() < 1e-6));
    }

    #[test]
    fn a_diagonal_preconditioner_reaches_the_same_minimum_in_fewer_iterations() {
        let n = 2 * CHUNK + 5;
        let scales: Vec<f64> = (0..n).map(|i| 1.0 + (i % 97) as f64 * 50.0).collect();
        let settings = Settings {
            max_iter: 2000,
            gtol: 1e-7,
            ftol: 0.0,
            memory: 5,
        };
        let eval = |x: &[f64], g: &mut [f64]| {
            let mut f = 0.0;
            for i in 0..x.len() {
                g[i] = scales[i] * (x[i] + 1.0);
                f += 0.5 * scales[i] * (x[i] + 1.0).powi(2);
            }
            f
        };
        let (x_plain, plain) =
            minimize(vec![2.0; n], settings, None, eval, |_, _| false, |_, _| {});
        // Only roughly right (within a factor 2), as the logistic preconditioner is.
        let mut h0: Vec<f32> = scales
            .iter()
            .enumerate()
            .map(|(i, s)| ((1.0 + (i % 3) as f64 * 0.5) / s) as f32)
            .collect();
        let (x_pre, pre) = minimize(
            vec![2.0; n],
            settings,
            Some(&mut h0),
            eval,
            |_, _| false,
            |_, _| {},
        );
        assert!(plain.converged && pre.converged, "{plain:?} {pre:?}");
        assert!(x_plain.iter().chain(&x_pre).all(|v| (v + 1.0).abs() < 1e-6));
        assert!(
            pre.n_iter * 2 < plain.n_iter,
            "preconditioned {} vs plain {} iterations",
            pre.n_iter,
            plain.n_iter
        );
    }

    #[test]
    fn history_ring_wraps_in_order() {
        // Memory 2 with many iterations forces the ring to wrap; the quadratic must still converge.
        let x = vec![5.0, -3.0, 2.0];
        let (x, out) = minimize(
            x,
            Settings {
                max_iter: 500,
                gtol: 1e-10,
                ftol: 0.0,
                memory: 2,
            },
            None,
            |x, g| {
                let w = [1.0, 10.0, 100.0];
                let mut f = 0.0;
                for i in 0..3 {
                    g[i] = w[i] * x[i];
                    f += 0.5 * w[i] * x[i] * x[i];
                }
                f
            },
            |_, _| false,
            |_, _| {},
        );
        assert!(out.converged && out.n_iter > 2);
        assert!(x.iter().all(|v| v.abs() < 1e-8));
    }
}
