//! Real BPE token counts under OpenAI's `cl100k_base` and `o200k_base` encodings.
//!
//! Counts follow `tiktoken`'s `encode_ordinary`: special-token strings such as
//! `<|endoftext|>` are ordinary text. The tables are compiled into `tiktoken-rs`;
//! building an encoder takes a noticeable fraction of a second, so each one is
//! built once per process, on first use, and shared by all threads.

use once_cell::sync::Lazy;
use tiktoken_rs::CoreBPE;

/// A BPE encoding whose token counts prefroute can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenizerKind {
    /// `cl100k_base` (GPT-3.5 / GPT-4).
    Cl100k,
    /// `o200k_base` (GPT-4o and later).
    O200k,
}

impl TokenizerKind {
    /// The kind named `cl100k_base` or `o200k_base` (tiktoken's names), else `None`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "cl100k_base" => Some(TokenizerKind::Cl100k),
            "o200k_base" => Some(TokenizerKind::O200k),
            _ => None,
        }
    }

    /// tiktoken's name of the encoding.
    pub fn name(self) -> &'static str {
        match self {
            TokenizerKind::Cl100k => "cl100k_base",
            TokenizerKind::O200k => "o200k_base",
        }
    }
}

// The tables are embedded in the binary, so construction fails only if the crate is broken.
static CL100K: Lazy<CoreBPE> = Lazy::new(|| tiktoken_rs::cl100k_base().expect("embedded cl100k_base table"));
static O200K: Lazy<CoreBPE> = Lazy::new(|| tiktoken_rs::o200k_base().expect("embedded o200k_base table"));

/// Number of tokens (count) of `text` under `kind`, as `len(enc.encode_ordinary(text))`.
pub fn token_count(text: &str, kind: TokenizerKind) -> usize {
    let bpe = match kind {
        TokenizerKind::Cl100k => &*CL100K,
        TokenizerKind::O200k => &*O200K,
    };
    bpe.encode_ordinary(text).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in [TokenizerKind::Cl100k, TokenizerKind::O200k] {
            assert_eq!(TokenizerKind::parse(k.name()), Some(k));
        }
        assert_eq!(TokenizerKind::parse("gpt2"), None);
        assert_eq!(TokenizerKind::parse("CL100K_BASE"), None);
    }

    #[test]
    fn counts_match_tiktoken() {
        // Reference counts from tiktoken 0.14.0: len(get_encoding(name).encode_ordinary(text)).
        use TokenizerKind::*;
        assert_eq!(token_count("", Cl100k), 0);
        assert_eq!(token_count("hello world", Cl100k), 2);
        assert_eq!(token_count("hello world", O200k), 2);
        assert_eq!(token_count("<|endoftext|>", Cl100k), 7);
        assert_eq!(token_count("<|endoftext|>", O200k), 7);
    }
}
