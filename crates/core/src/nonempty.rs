//! [`NonEmpty`]: a vector that cannot be empty.

use serde::{Deserialize, Deserializer, Serialize};

/// A vector with at least one element. Deserialising an empty list fails, so the invariant
/// holds for data read back from JSON too.
///
/// ```
/// use faultline_core::NonEmpty;
/// let v = NonEmpty::new(1, vec![2, 3]);
/// assert_eq!(v.first(), &1);
/// assert_eq!(v.len(), 3);
/// assert!(NonEmpty::<u8>::from_vec(vec![]).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NonEmpty<T>(Vec<T>);

impl<T> NonEmpty<T> {
    /// `head` followed by `tail`.
    pub fn new(head: T, tail: Vec<T>) -> Self {
        let mut v = Vec::with_capacity(tail.len() + 1);
        v.push(head);
        v.extend(tail);
        Self(v)
    }
    /// `Some` when `v` has an element.
    pub fn from_vec(v: Vec<T>) -> Option<Self> {
        if v.is_empty() {
            None
        } else {
            Some(Self(v))
        }
    }
    /// The first element.
    pub fn first(&self) -> &T {
        // The constructor guarantees at least one element.
        &self.0[0]
    }
    /// Number of elements (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Always false; present for API symmetry with `Vec`.
    pub fn is_empty(&self) -> bool {
        false
    }
    /// Appends an element.
    pub fn push(&mut self, t: T) {
        self.0.push(t);
    }
    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }
    /// Iterates the elements.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
    /// The elements as a vector.
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<'a, T> IntoIterator for &'a NonEmpty<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmpty<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<T>::deserialize(d)?;
        NonEmpty::from_vec(v).ok_or_else(|| serde::de::Error::invalid_length(0, &"at least one element"))
    }
}
