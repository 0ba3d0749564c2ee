//! Sparse vectors and the compressed sparse row (CSR) matrix the solver trains on.
//!
//! A document is a [`SparseVec`]: sorted, unique column indices with `f32` values. A batch of
//! documents is a [`CsrMatrix`]; the solver also builds its transpose ([`CsrMatrix::transpose`])
//! so that both `X·W` and `Xᵀ·R` run row by row without write conflicts.

/// A sparse vector: strictly increasing column indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Column indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f32>,
}

impl SparseVec {
    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Euclidean norm, accumulated in `f64`.
    pub fn l2_norm(&self) -> f64 {
        self.values
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt()
    }

    /// Dot product with a dense vector (`dense[i]` for each stored index `i`).
    ///
    /// Indices outside `dense` are ignored.
    pub fn dot(&self, dense: &[f32]) -> f32 {
        self.indices
            .iter()
            .zip(&self.values)
            .filter_map(|(&i, &v)| dense.get(i as usize).map(|&w| w * v))
            .sum()
    }
}

/// A compressed sparse row matrix with `f32` values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsrMatrix {
    /// Number of columns.
    pub n_cols: usize,
    /// Row `r` occupies `indptr[r]..indptr[r + 1]` of `indices` and `values`.
    pub indptr: Vec<usize>,
    /// Column indices, increasing within a row.
    pub indices: Vec<u32>,
    /// Stored values.
    pub values: Vec<f32>,
}

impl CsrMatrix {
    /// Stack sparse rows into a matrix with `n_cols` columns.
    pub fn from_rows(rows: &[SparseVec], n_cols: usize) -> Self {
        let nnz = rows.iter().map(SparseVec::nnz).sum();
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::with_capacity(nnz);
        let mut values = Vec::with_capacity(nnz);
        indptr.push(0);
        for row in rows {
            indices.extend_from_slice(&row.indices);
            values.extend_from_slice(&row.values);
            indptr.push(indices.len());
        }
        CsrMatrix {
            n_cols,
            indptr,
            indices,
            values,
        }
    }

    /// Assemble a matrix from consecutive blocks of rows, each given as (row lengths, column
    /// indices, values) of its rows one after another.
    pub(crate) fn from_blocks(
        n_cols: usize,
        n_rows: usize,
        blocks: Vec<(Vec<usize>, Vec<u32>, Vec<f32>)>,
    ) -> CsrMatrix {
        let nnz = blocks.iter().map(|b| b.1.len()).sum();
        let mut rows = CsrMatrix {
            n_cols,
            indptr: Vec::with_capacity(n_rows + 1),
            indices: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
        };
        rows.indptr.push(0);
        for (lens, indices, values) in blocks {
            for len in lens {
                rows.indptr
                    .push(rows.indptr.last().copied().unwrap_or(0) + len);
            }
            rows.indices.extend_from_slice(&indices);
            rows.values.extend_from_slice(&values);
        }
        rows
    }

    /// The columns of `self` followed by the columns of `other` (scikit-learn's `hstack`): row
    /// `r` holds row `r` of `self`, then row `r` of `other` with its columns shifted by
    /// `self.n_cols`.
    ///
    /// # Panics
    /// When the row counts differ.
    pub fn hstack(&self, other: &CsrMatrix) -> CsrMatrix {
        assert_eq!(
            self.n_rows(),
            other.n_rows(),
            "hstack of different row counts"
        );
        let shift = self.n_cols as u32;
        let nnz = self.nnz() + other.nnz();
        let mut out = CsrMatrix {
            n_cols: self.n_cols + other.n_cols,
            indptr: Vec::with_capacity(self.indptr.len()),
            indices: Vec::with_capacity(nnz),
            values: Vec::with_capacity(nnz),
        };
        out.indptr.push(0);
        for r in 0..self.n_rows() {
            let (ia, va) = self.row(r);
            let (ib, vb) = other.row(r);
            out.indices.extend_from_slice(ia);
            out.indices.extend(ib.iter().map(|&c| c + shift));
            out.values.extend_from_slice(va);
            out.values.extend_from_slice(vb);
            out.indptr.push(out.indices.len());
        }
        out
    }

    /// The rows as separate sparse vectors (the inverse of [`CsrMatrix::from_rows`]).
    pub fn to_rows(&self) -> Vec<SparseVec> {
        (0..self.n_rows())
            .map(|r| {
                let (indices, values) = self.row(r);
                SparseVec {
                    indices: indices.to_vec(),
                    values: values.to_vec(),
                }
            })
            .collect()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Column indices and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }

    /// The transpose, as CSR (that is, this matrix in compressed sparse column form).
    ///
    /// Row indices inside each output row are increasing, so the result is deterministic.
    pub fn transpose(&self) -> CsrMatrix {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            counts[i + 1] += counts[i];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.n_rows() {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let slot = &mut next[c as usize];
                indices[*slot] = r as u32;
                values[*slot] = v;
                *slot += 1;
            }
        }
        CsrMatrix {
            n_cols: self.n_rows(),
            indptr,
            indices,
            values,
        }
    }

    /// Select rows by index (in the given order).
    pub fn select_rows(&self, rows: &[usize]) -> CsrMatrix {
        let mut indptr = Vec::with_capacity(rows.len() + 1);
        let mut indices = Vec::new();
        let mut values = Vec::new();
        indptr.push(0);
        for &r in rows {
            let (c, v) = self.row(r);
            indices.extend_from_slice(c);
            values.extend_from_slice(v);
            indptr.push(indices.len());
        }
        CsrMatrix {
            n_cols: self.n_cols,
            indptr,
            indices,
            values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(i: &[u32], v: &[f32]) -> SparseVec {
        SparseVec {
            indices: i.to_vec(),
            values: v.to_vec(),
        }
    }

    #[test]
    fn transpose_twice_is_identity() {
        let m = CsrMatrix::from_rows(
            &[
                sv(&[0, 2], &[1.0, 2.0]),
                sv(&[], &[]),
                sv(&[1, 2], &[3.0, 4.0]),
            ],
            3,
        );
        let t = m.transpose();
        assert_eq!(t.n_rows(), 3);
        assert_eq!(t.row(2), (&[0u32, 2][..], &[2.0f32, 4.0][..]));
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn dot_and_norm() {
        let v = sv(&[0, 3], &[3.0, 4.0]);
        assert_eq!(v.l2_norm(), 5.0);
        assert_eq!(v.dot(&[1.0, 0.0, 0.0, 2.0]), 11.0);
        assert_eq!(v.dot(&[1.0]), 3.0);
    }

    #[test]
    fn select_rows_keeps_order() {
        let m = CsrMatrix::from_rows(&[sv(&[0], &[1.0]), sv(&[1], &[2.0])], 2);
        let s = m.select_rows(&[1, 0, 1]);
        assert_eq!(s.n_rows(), 3);
        assert_eq!(s.row(0).1, &[2.0]);
        assert_eq!(s.row(1).1, &[1.0]);
    }
}
