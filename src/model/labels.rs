//! `LabelSet`: the sorted class names of one head and their ids.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Sorted, unique class names; class `i` is `names()[i]` (scikit-learn's `classes_`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelSet(Vec<String>);

impl LabelSet {
    /// The label set of a column of labels (sorted, duplicates removed).
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v: Vec<String> = labels.into_iter().map(str::to_owned).collect();
        v.sort_unstable();
        v.dedup();
        LabelSet(v)
    }

    /// Rebuild from saved names, checking they are sorted and unique.
    ///
    /// # Errors
    /// [`ModelError::Labels`] otherwise.
    pub fn from_sorted(names: Vec<String>) -> Result<Self> {
        if names.len() < 2 || names.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ModelError::Labels.into());
        }
        Ok(LabelSet(names))
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no classes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Class names in id order.
    pub fn names(&self) -> &[String] {
        &self.0
    }

    /// Id of a class name, if known.
    pub fn id(&self, name: &str) -> Option<usize> {
        self.0.binary_search_by(|n| n.as_str().cmp(name)).ok()
    }

    /// Name of class `id`.
    ///
    /// # Panics
    /// If `id` is out of range (ids come from this set).
    pub fn name(&self, id: usize) -> &str {
        &self.0[id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_unique() {
        let l = LabelSet::from_labels(["neutral", "critical", "neutral", "supportive"]);
        assert_eq!(l.names(), ["critical", "neutral", "supportive"]);
        assert_eq!(l.id("neutral"), Some(1));
        assert_eq!(l.id("other"), None);
    }

    #[test]
    fn from_sorted_rejects_unsorted_or_single() {
        assert!(LabelSet::from_sorted(vec!["b".into(), "a".into()]).is_err());
        assert!(LabelSet::from_sorted(vec!["a".into()]).is_err());
        assert!(LabelSet::from_sorted(vec!["a".into(), "b".into()]).is_ok());
    }
}
