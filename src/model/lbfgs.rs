//! A limited-memory BFGS minimizer that works in place.
//!
//! Each evaluation computes the objective and its gradient together (one pass over the data), and
//! the history vectors are allocated once. The line search backtracks from the unit step
//! (Armijo condition) with safeguarded quadratic interpolation; curvature pairs with
//! `sᵀy <= 0` are skipped, which keeps the inverse-Hessian estimate positive definite.
//!
//! Stopping follows scipy's L-BFGS-B as scikit-learn calls it: the largest gradient component
//! falls below `gtol`, or the relative decrease of the objective falls below `ftol`.

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

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Minimize `eval`, which writes the gradient at `x` into its third argument and returns the
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
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut rho: Vec<f64> = Vec::with_capacity(m);
    let mut alpha = vec![0.0; m];
    let mut head = 0usize; // index of the oldest pair once the ring is full
    let mut d = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut n_iter = 0;
    let mut converged = max_abs(&g) <= settings.gtol;
    while !converged && n_iter < settings.max_iter {
        n_iter += 1;
        // Two-loop recursion: d = -H g.
        d.copy_from_slice(&g);
        let k = s_hist.len();
        let order = |i: usize| (head + i) % k.max(1);
        for i in (0..k).rev() {
            let j = order(i);
            alpha[j] = rho[j] * dot(&s_hist[j], &d);
            for (dv, yv) in d.iter_mut().zip(&y_hist[j]) {
                *dv -= alpha[j] * yv;
            }
        }
        let gamma = if k > 0 {
            let j = order(k - 1);
            dot(&s_hist[j], &y_hist[j]) / dot(&y_hist[j], &y_hist[j])
        } else {
            1.0 / dot(&g, &g).sqrt().max(1e-12)
        };
        for dv in d.iter_mut() {
            *dv *= gamma;
        }
        for i in 0..k {
            let j = order(i);
            let beta = rho[j] * dot(&y_hist[j], &d);
            for (dv, sv) in d.iter_mut().zip(&s_hist[j]) {
                *dv += sv * (alpha[j] - beta);
            }
        }
        for dv in d.iter_mut() {
            *dv = -*dv;
        }
        let mut slope = dot(&g, &d);
        if slope >= 0.0 || !slope.is_finite() {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            head = 0;
            let scale = 1.0 / dot(&g, &g).sqrt().max(1e-12);
            for (dv, gv) in d.iter_mut().zip(&g) {
                *dv = -gv * scale;
            }
            slope = dot(&g, &d);
        }
        // Backtracking line search (Armijo).
        let mut t = 1.0;
        let mut f_new;
        let mut accepted = false;
        loop {
            for ((xn, xv), dv) in x_new.iter_mut().zip(x.iter()).zip(&d) {
                *xn = xv + t * dv;
            }
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
            // No progress is possible along any direction we can compute: stop here.
            converged = max_abs(&g) <= settings.gtol;
            break;
        }
        // Curvature pair, kept only when sᵀy > 0 (keeps the estimate positive definite).
        let mut sy = 0.0;
        let mut yy = 0.0;
        for i in 0..n {
            let (sv, yv) = (x_new[i] - x[i], g_new[i] - g[i]);
            sy += sv * yv;
            yy += yv * yv;
        }
        if sy > 1e-10 * yy && yy > 0.0 {
            let j = if s_hist.len() < m {
                s_hist.push(vec![0.0; n]);
                y_hist.push(vec![0.0; n]);
                rho.push(0.0);
                s_hist.len() - 1
            } else {
                let j = head;
                head = (head + 1) % m;
                j
            };
            for i in 0..n {
                s_hist[j][i] = x_new[i] - x[i];
                y_hist[j][i] = g_new[i] - g[i];
            }
            rho[j] = 1.0 / sy;
        }
        let decrease = (f - f_new) / f.abs().max(f_new.abs()).max(1.0);
        x.copy_from_slice(&x_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        on_iter(n_iter, f);
        if max_abs(&g) <= settings.gtol || decrease <= settings.ftol {
            converged = true;
        }
    }
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
            (x[0] - 1.0).abs() < 1e-5 && (x[1] - 1.0).abs() < 1e-5,
            "{x:?}"
        );
    }

    #[test]
    fn minimizes_an_ill_conditioned_quadratic() {
        let scales: Vec<f64> = (0..50).map(|i| 1.0 + i as f64 * 20.0).collect();
        let mut x = vec![1.0; 50];
        let out = minimize(
            &mut x,
            Settings {
                max_iter: 1000,
                gtol: 1e-9,
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
        assert!(out.converged);
        assert!(x.iter().all(|v| (v - 3.0).abs() < 1e-6));
    }
}
