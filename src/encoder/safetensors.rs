//! A reader for the `safetensors` file format (as written by Hugging Face's `safetensors`):
//! an 8-byte little-endian header length, a JSON header mapping tensor names to
//! `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the end of the
//! header), then the raw little-endian tensor bytes.
//!
//! Only what the encoder needs: `F32` and `F16` tensors copied out into `Vec<f32>` and `I8`
//! tensors into `Vec<i8>`, with every offset,
//! shape and size checked, so a damaged file is an error and never a panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::half;
use super::Precision;
use crate::error::EncoderError;

/// The values of one tensor to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    /// Written as `F32`, or rounded to `F16` at [`Precision::F16`].
    F32(Vec<f32>),
    /// Written as `I8` (quantized weights).
    I8(Vec<i8>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::I8(v) => v.len(),
        }
    }
}

/// A safetensors file of `tensors` (name, shape, values), in name order: `f32` values stored as
/// `F32`, or rounded to `F16` when `precision` is [`Precision::F16`]; `i8` values as `I8`. The
/// same tensors give the same bytes.
pub(crate) fn write(tensors: &[(String, Vec<usize>, Values)], precision: Precision) -> Vec<u8> {
    let (f_dtype, f_width) = match precision {
        Precision::F32 | Precision::Int8 => ("F32", 4),
        Precision::F16 => ("F16", 2),
    };
    let mut order: Vec<&(String, Vec<usize>, Values)> = tensors.iter().collect();
    order.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header = String::from("{");
    let mut offset = 0usize;
    for (i, (name, shape, values)) in order.iter().enumerate() {
        let (dtype, width) = match values {
            Values::F32(_) => (f_dtype, f_width),
            Values::I8(_) => ("I8", 1),
        };
        let end = offset + values.len() * width;
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "{}:{{\"dtype\":\"{dtype}\",\"shape\":{},\"data_offsets\":[{offset},{end}]}}",
            serde_json::Value::String(name.clone()),
            serde_json::Value::from(shape.clone()),
        ));
        offset = end;
    }
    header.push('}');
    // The format pads the header with spaces to a multiple of 8 bytes.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, _, values) in order {
        match values {
            Values::I8(v) => out.extend(v.iter().map(|&b| b as u8)),
            Values::F32(v) if f_width == 4 => v
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            Values::F32(v) => v
                .iter()
                .for_each(|&v| out.extend_from_slice(&half::to_f16(v).to_le_bytes())),
        }
    }
    out
}

/// Largest header this reader accepts (the format's own limit is 100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor's entry in the header.
#[derive(Debug, Clone, serde::Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// A parsed safetensors file: the header and the data bytes.
#[derive(Debug)]
pub(crate) struct SafeTensors<'a> {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    data: &'a [u8],
}

impl<'a> SafeTensors<'a> {
    /// Parses `bytes`, the whole content of the file at `path` (named in errors).
    pub(crate) fn parse(path: &Path, bytes: &'a [u8]) -> Result<Self, EncoderError> {
        let bad = |reason: String| EncoderError::Weights {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < 8 {
            return Err(bad(format!(
                "{} bytes is too short for a safetensors file",
                bytes.len()
            )));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[..8]);
        let n_header = u64::from_le_bytes(len);
        if n_header > MAX_HEADER || n_header > (bytes.len() - 8) as u64 {
            return Err(bad(format!(
                "header length {n_header} does not fit in the file's {} bytes",
                bytes.len()
            )));
        }
        let n_header = n_header as usize;
        let header: BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..8 + n_header])
                .map_err(|e| bad(format!("header is not a JSON object: {e}")))?;
        let mut entries = BTreeMap::new();
        for (name, value) in header {
            if name == "__metadata__" {
                continue;
            }
            let entry: Entry =
                serde_json::from_value(value).map_err(|e| bad(format!("tensor {name}: {e}")))?;
            entries.insert(name, entry);
        }
        let data = &bytes[8 + n_header..];
        let n_data = data.len();
        for (name, e) in &entries {
            let [begin, end] = e.data_offsets;
            if begin > end || end > n_data {
                return Err(bad(format!(
                    "tensor {name} lies at bytes {begin}..{end}, outside the {n_data} data bytes (truncated file?)"
                )));
            }
        }
        Ok(SafeTensors {
            path: path.to_path_buf(),
            entries,
            data,
        })
    }

    /// True when the file holds a tensor called `name`.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The dtype of tensor `name`, when the file holds it.
    pub(crate) fn dtype(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.dtype.as_str())
    }

    /// The `I8` tensor `name`, which must have exactly `shape`.
    pub(crate) fn i8(&self, name: &str, shape: &[usize]) -> Result<Vec<i8>, EncoderError> {
        let e = self.entry(name, shape)?;
        if e.dtype != "I8" {
            return Err(EncoderError::Weights {
                path: self.path.clone(),
                reason: format!("tensor {name} has dtype {}; expected I8", e.dtype),
            });
        }
        let [begin, end] = e.data_offsets;
        let n: usize = shape.iter().product();
        if end - begin != n {
            return Err(EncoderError::Weights {
                path: self.path.clone(),
                reason: format!(
                    "tensor {name} holds {} bytes, but shape {shape:?} of I8 needs {n}",
                    end - begin
                ),
            });
        }
        Ok(self.data[begin..end].iter().map(|&b| b as i8).collect())
    }

    /// The entry of tensor `name`, checked to have `shape`.
    fn entry(&self, name: &str, shape: &[usize]) -> Result<&Entry, EncoderError> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| EncoderError::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
            })?;
        if e.shape != shape {
            return Err(EncoderError::DimensionMismatch {
                tensor: name.to_string(),
                found: e.shape.clone(),
                expected: shape.to_vec(),
            });
        }
        Ok(e)
    }

    /// The `F32` or `F16` tensor `name` (as `f32` values), which must have exactly `shape`.
    pub(crate) fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EncoderError> {
        let e = self.entry(name, shape)?;
        let width = match e.dtype.as_str() {
            "F32" => 4,
            "F16" => 2,
            other => {
                return Err(EncoderError::Weights {
                    path: self.path.clone(),
                    reason: format!(
                        "tensor {name} has dtype {other}; this encoder reads F32 and F16 weights"
                    ),
                })
            }
        };
        let [begin, end] = e.data_offsets;
        let n: usize = shape.iter().product();
        if end - begin != n * width {
            return Err(EncoderError::Weights {
                path: self.path.clone(),
                reason: format!(
                    "tensor {name} holds {} bytes, but shape {shape:?} of {} needs {}",
                    end - begin,
                    e.dtype,
                    n * width
                ),
            });
        }
        let mut finite = true;
        let values: Vec<f32> = self.data[begin..end]
            .chunks_exact(width)
            .map(|c| {
                let v = if width == 4 {
                    f32::from_le_bytes([c[0], c[1], c[2], c[3]])
                } else {
                    half::to_f32(u16::from_le_bytes([c[0], c[1]]))
                };
                finite &= v.is_finite();
                v
            })
            .collect();
        if !finite {
            let i = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(EncoderError::Weights {
                path: self.path.clone(),
                reason: format!("tensor {name} holds a value that is not finite at index {i}"),
            });
        }
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file with the given header JSON and data bytes.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    fn f32_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn reads_f32_tensors_by_name_and_shape() {
        let data = f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}"#;
        let bytes = file(header, &data);
        let st = SafeTensors::parse(Path::new("m.safetensors"), &bytes).unwrap();
        assert_eq!(
            st.f32("a", &[2, 3]).unwrap(),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(st.f32("b", &[1]).unwrap(), vec![7.0]);
        assert!(st.contains("a") && !st.contains("c"));
    }

    #[test]
    fn wrong_shape_is_a_dimension_mismatch() {
        let header = r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
        let bytes = file(header, &f32_bytes(&[0.0; 4]));
        let st = SafeTensors::parse(Path::new("m"), &bytes).unwrap();
        match st.f32("a", &[4, 1]) {
            Err(EncoderError::DimensionMismatch {
                tensor,
                found,
                expected,
            }) => {
                assert_eq!(tensor, "a");
                assert_eq!(found, vec![2, 2]);
                assert_eq!(expected, vec![4, 1]);
            }
            other => panic!("expected a dimension mismatch, got {other:?}"),
        }
        assert!(matches!(
            st.f32("missing", &[1]),
            Err(EncoderError::MissingTensor { .. })
        ));
    }

    #[test]
    fn rejects_truncated_and_malformed_files() {
        let p = Path::new("m");
        assert!(SafeTensors::parse(p, &[1, 2, 3]).is_err());
        // Header length beyond the file.
        assert!(SafeTensors::parse(p, &file("{}", &[])[..9]).is_err());
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(SafeTensors::parse(p, &huge).is_err());
        // Not JSON.
        assert!(SafeTensors::parse(p, &file("nope", &[])).is_err());
        // Data offsets outside the data.
        let header = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        assert!(SafeTensors::parse(p, &file(header, &[0; 8])).is_err());
        // Reversed offsets.
        let header = r#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#;
        assert!(SafeTensors::parse(p, &file(header, &[0; 8])).is_err());
    }

    #[test]
    fn rejects_other_dtypes_sizes_and_non_finite_values() {
        let p = Path::new("m");
        let header = r#"{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
        let bytes = file(header, &[0; 4]);
        let st = SafeTensors::parse(p, &bytes).unwrap();
        assert!(matches!(
            st.f32("a", &[2]),
            Err(EncoderError::Weights { .. })
        ));
        let header = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#;
        let bytes = file(header, &[0; 4]);
        let st = SafeTensors::parse(p, &bytes).unwrap();
        assert!(st.f32("a", &[2]).is_err());
        let header = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let bytes = file(header, &f32_bytes(&[1.0, f32::NAN]));
        let st = SafeTensors::parse(p, &bytes).unwrap();
        assert!(st.f32("a", &[2]).is_err());
        // An F16 infinity (0x7c00) is refused like an F32 one.
        let header = r#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#;
        let bytes = file(header, &[0x00, 0x3c, 0x00, 0x7c]);
        let st = SafeTensors::parse(p, &bytes).unwrap();
        assert!(st.f32("a", &[2]).is_err());
    }

    #[test]
    fn written_files_read_back_at_either_precision() {
        let tensors = vec![
            ("b".to_string(), vec![3], vec![0.1f32, -2.5, 1e-3]),
            ("a".to_string(), vec![2, 2], vec![1.0f32, 2.0, 3.0, 65504.0]),
        ];
        let written: Vec<_> = tensors
            .iter()
            .map(|(n, s, v)| (n.clone(), s.clone(), Values::F32(v.clone())))
            .collect();
        let p = Path::new("m");
        for precision in [Precision::F32, Precision::F16] {
            let bytes = write(&written, precision);
            assert_eq!(write(&written, precision), bytes);
            let st = SafeTensors::parse(p, &bytes).unwrap();
            for (name, shape, values) in &tensors {
                let got = st.f32(name, shape).unwrap();
                let want: Vec<f32> = match precision {
                    Precision::F32 | Precision::Int8 => values.clone(),
                    Precision::F16 => values.iter().map(|&v| half::round(v)).collect(),
                };
                assert_eq!(got, want);
            }
        }
        assert_ne!(half::round(0.1), 0.1);
    }

    #[test]
    fn i8_tensors_are_written_and_read_back() {
        let tensors = vec![
            (
                "q".to_string(),
                vec![2, 3],
                Values::I8(vec![-127, 0, 1, 127, -5, 3]),
            ),
            ("s".to_string(), vec![2], Values::F32(vec![0.25, 1e-3])),
        ];
        let bytes = write(&tensors, Precision::Int8);
        let st = SafeTensors::parse(Path::new("m"), &bytes).unwrap();
        assert_eq!(st.dtype("q"), Some("I8"));
        assert_eq!(st.i8("q", &[2, 3]).unwrap(), vec![-127, 0, 1, 127, -5, 3]);
        assert_eq!(st.f32("s", &[2]).unwrap(), vec![0.25, 1e-3]);
        assert!(st.f32("q", &[2, 3]).is_err());
        assert!(st.i8("s", &[2]).is_err());
        assert!(st.i8("q", &[3, 2]).is_err());
    }
}
