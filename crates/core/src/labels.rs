//! Service names and label sets.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// The name of a service. Cheap to clone (shared string); compared by value.
///
/// ```
/// use faultline_core::ServiceId;
/// let s = ServiceId::new("checkout");
/// assert_eq!(s.as_str(), "checkout");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ServiceId(Arc<str>);

impl ServiceId {
    /// A service id with the given name.
    pub fn new(name: impl AsRef<str>) -> Self {
        Self(Arc::from(name.as_ref()))
    }
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ServiceId {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl AsRef<str> for ServiceId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A small sorted map of label names to values (`{pod="a", region="eu"}`), with unique names.
///
/// ```
/// use faultline_core::Labels;
/// let l = Labels::from_pairs([("region", "eu"), ("pod", "a")]);
/// assert_eq!(l.get("pod"), Some("a"));
/// assert_eq!(l.to_string(), "{pod=\"a\",region=\"eu\"}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(
    from = "std::collections::BTreeMap<String, String>",
    into = "std::collections::BTreeMap<String, String>"
)]
pub struct Labels(SmallVec<[(Arc<str>, Arc<str>); 2]>);

impl Labels {
    /// No labels.
    pub fn new() -> Self {
        Self::default()
    }
    /// From name/value pairs; a later pair wins over an earlier one of the same name.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut l = Self::new();
        for (k, v) in pairs {
            l.insert(k.as_ref(), v.as_ref());
        }
        l
    }
    /// Sets `name` to `value`.
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|(k, _)| (**k).cmp(name)) {
            Ok(i) => self.0[i].1 = Arc::from(value),
            Err(i) => self.0.insert(i, (Arc::from(name), Arc::from(value))),
        }
    }
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }
    /// Pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
    /// Number of labels.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}={v:?}")?;
        }
        f.write_str("}")
    }
}

impl From<std::collections::BTreeMap<String, String>> for Labels {
    fn from(m: std::collections::BTreeMap<String, String>) -> Self {
        Self(m.into_iter().map(|(k, v)| (Arc::from(k), Arc::from(v))).collect())
    }
}

impl From<Labels> for std::collections::BTreeMap<String, String> {
    fn from(l: Labels) -> Self {
        l.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_keeps_sorted_unique() {
        let mut l = Labels::from_pairs([("b", "1"), ("a", "2"), ("b", "3")]);
        l.insert("c", "4");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec![("a", "2"), ("b", "3"), ("c", "4")]
        );
        let j = serde_json::to_string(&l).unwrap();
        assert_eq!(j, r#"{"a":"2","b":"3","c":"4"}"#);
        assert_eq!(serde_json::from_str::<Labels>(&j).unwrap(), l);
    }
}
