//! A hash map keyed by byte strings that keeps short keys inline.
//!
//! Tagging looks up every word of every text in a memo or a vocabulary (BPE
//! piece counts, ROUGE stems, TF-IDF terms). With `String` keys each hit hashes
//! the bytes, follows a pointer and calls `memcmp`; those lookups were a fifth of
//! the time of tagging a row. Most words are short, so a key of at most
//! [`INLINE`] bytes is stored as one `u128` (its bytes, then its length in the
//! top byte: `"a"` and `"a\0"` differ) and a lookup hashes and compares one
//! integer. Longer keys live in an ordinary map beside it. The map behaves as a
//! map from byte strings: which half holds a key is invisible to callers.

use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// Keys of at most this many bytes are stored inline.
pub const INLINE: usize = 15;

/// A map from byte strings to `V` (see the module essay).
#[derive(Clone, Debug)]
pub struct ShortMap<V> {
    short: FxHashMap<u128, V>,
    long: FxHashMap<Box<[u8]>, V>,
}

impl<V> Default for ShortMap<V> {
    fn default() -> Self {
        ShortMap { short: FxHashMap::default(), long: FxHashMap::default() }
    }
}

/// `key` (at most [`INLINE`] bytes) as one integer.
fn pack(key: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..key.len()].copy_from_slice(key);
    b[15] = key.len() as u8;
    u128::from_le_bytes(b)
}

/// The bytes of a key packed by [`pack`], and their number.
fn unpack(k: u128) -> ([u8; 16], usize) {
    let b = k.to_le_bytes();
    let len = usize::from(b[15]);
    (b, len)
}

impl<V> ShortMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    pub fn clear(&mut self) {
        self.short.clear();
        self.long.clear();
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        if key.len() <= INLINE {
            self.short.get(&pack(key))
        } else {
            self.long.get(key)
        }
    }

    /// Sets the value of `key`, returning the previous one.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if key.len() <= INLINE {
            self.short.insert(pack(key), value)
        } else {
            self.long.insert(key.into(), value)
        }
    }

    /// The value of `key`, made by `make` if the key is new.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        if key.len() <= INLINE {
            self.short.entry(pack(key)).or_insert_with(make)
        } else {
            if !self.long.contains_key(key) {
                self.long.insert(key.into(), make());
            }
            self.long.get_mut(key).expect("inserted above")
        }
    }

    /// Every (key, value), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Cow<'_, [u8]>, &V)> {
        let short = self.short.iter().map(|(k, v)| {
            let (b, len) = unpack(*k);
            (Cow::Owned(b[..len].to_vec()), v)
        });
        short.chain(self.long.iter().map(|(k, v)| (Cow::Borrowed(&k[..]), v)))
    }

    /// Every (key, value), taken out of the map.
    pub fn into_entries(self) -> impl Iterator<Item = (Vec<u8>, V)> {
        let short = self.short.into_iter().map(|(k, v)| {
            let (b, len) = unpack(k);
            (b[..len].to_vec(), v)
        });
        short.chain(self.long.into_iter().map(|(k, v)| (k.into_vec(), v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map_of_byte_strings_on_both_sides_of_the_inline_limit() {
        let keys: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"a\0".to_vec(),
            b"\0".to_vec(),
            vec![b'x'; INLINE],
            vec![b'x'; INLINE + 1],
            vec![0; INLINE],
            vec![0; INLINE + 1],
            "东京".as_bytes().to_vec(),
        ];
        let mut m = ShortMap::new();
        let mut reference = std::collections::HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.insert(k, i), None);
            reference.insert(k.clone(), i);
        }
        assert_eq!(m.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), Some(&i), "{k:?}");
        }
        assert_eq!(m.get(b"b"), None);
        assert_eq!(m.get(&[b'x'; INLINE + 2]), None);
        *m.get_or_insert_with(b"a", || 99) += 100;
        *m.get_or_insert_with(&[b'y'; 20], || 7) += 1;
        assert_eq!((m.get(b"a"), m.get(&[b'y'; 20])), (Some(&101), Some(&8)));
        reference.insert(b"a".to_vec(), 101);
        reference.insert(vec![b'y'; 20], 8);
        let listed: std::collections::HashMap<Vec<u8>, usize> =
            m.iter().map(|(k, v)| (k.into_owned(), *v)).collect();
        assert_eq!(listed, reference);
        let taken: std::collections::HashMap<Vec<u8>, usize> = m.clone().into_entries().collect();
        assert_eq!(taken, reference);
        m.clear();
        assert!(m.len() == 0 && m.get(b"a").is_none());
    }
}
