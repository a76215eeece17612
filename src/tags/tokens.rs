//! Real BPE token counts under OpenAI's `cl100k_base` and `o200k_base` encodings.
//!
//! Counts equal `len(tiktoken.get_encoding(name).encode_ordinary(text))`: special-token
//! strings such as `<|endoftext|>` are ordinary text. They come from `bpe-openai`
//! (GitHub's rust-gems), which embeds both tables and matched tiktoken 0.14.0 on
//! every prompt and completion of the example data (`tests/oracle_parity.rs`).
//! It is preferred over `tiktoken-rs` because tiktoken's backtracking pre-tokenizer
//! panics on long whitespace runs (a stack-overflow error on two million spaces,
//! in Python too), while `bpe-openai` emulates the look-ahead with a DFA; it also
//! builds its tables 3x faster and counts about 1.5x faster. Each table is decoded
//! once per process, on first use, and shared by all threads.
//!
//! A text's count is the sum of the BPE counts of its pre-tokenizer pieces (that is
//! how `bpe-openai` counts: neither table normalises). Pieces repeat a lot (" the",
//! ".\n"), so each thread memoises the count of short pieces and runs the BPE only on
//! pieces it has not seen; the pre-tokenizer still runs on every text. For
//! `cl100k_base` on ASCII text it is [`super::ascii_pieces`], a hand-written walk
//! that gives the library's pieces without its regex search.

use super::ascii_pieces;
use super::short_map::ShortMap;
use bpe_openai::Tokenizer;
use std::cell::RefCell;

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

    /// The shared tokenizer (built on first use; about 0.1 s each).
    fn tokenizer(self) -> &'static Tokenizer {
        match self {
            TokenizerKind::Cl100k => bpe_openai::cl100k_base(),
            TokenizerKind::O200k => bpe_openai::o200k_base(),
        }
    }
}

/// Pieces longer than this many bytes are counted without the memo (rare, and
/// they would bloat it).
const MAX_MEMO_PIECE: usize = 24;

/// Above this many memoised pieces a thread's memo is emptied (a few MB at most).
const MAX_MEMO_PIECES: usize = 1 << 17;

/// One thread's memo for one encoding: piece -> BPE token count.
type Memo = ShortMap<u32>;

thread_local! {
    /// Per thread, per encoding (index = `kind as usize`).
    static PIECE_COUNTS: RefCell<[Memo; 2]> = RefCell::default();
}

/// Number of tokens (count) of `text` under `kind`, as tiktoken's `len(encode_ordinary(text))`.
pub fn token_count(text: &str, kind: TokenizerKind) -> usize {
    let tokenizer = kind.tokenizer();
    PIECE_COUNTS.with(|cell| {
        let mut memos = cell.borrow_mut();
        let memo = &mut memos[kind as usize];
        if memo.len() > MAX_MEMO_PIECES {
            memo.clear();
        }
        let mut total = 0usize;
        let mut add = |piece: &[u8]| total += count_piece(memo, piece, tokenizer);
        if kind == TokenizerKind::Cl100k && text.is_ascii() {
            ascii_pieces::for_each_piece(text.as_bytes(), add);
        } else {
            tokenizer.split(text).for_each(|piece| add(piece.as_bytes()));
        }
        total
    })
}

/// The BPE count of `piece`, memoised when the piece is short.
fn count_piece(memo: &mut Memo, piece: &[u8], tokenizer: &Tokenizer) -> usize {
    if piece.len() > MAX_MEMO_PIECE {
        return tokenizer.bpe.count(piece);
    }
    // n <= piece.len() <= MAX_MEMO_PIECE, so it fits a u32.
    *memo.get_or_insert_with(piece, || tokenizer.bpe.count(piece) as u32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenizerKind::*;

    #[test]
    fn names_round_trip() {
        for k in [Cl100k, O200k] {
            assert_eq!(TokenizerKind::parse(k.name()), Some(k));
        }
        assert_eq!(TokenizerKind::parse("gpt2"), None);
        assert_eq!(TokenizerKind::parse("CL100K_BASE"), None);
    }

    #[test]
    fn counts_match_tiktoken() {
        // Reference counts from tiktoken 0.14.0: len(get_encoding(name).encode_ordinary(text)).
        let cases = [
            ("", 0, 0),
            ("hello world", 2, 2),
            ("<|endoftext|>", 7, 7),
            ("  two  spaces\n\n\nand 12345 digits", 10, 10),
            ("Ünïcödé — 東京 😀", 12, 8),
        ];
        for (text, cl, o2) in cases {
            assert_eq!((token_count(text, Cl100k), token_count(text, O200k)), (cl, o2), "{text:?}");
        }
    }

    #[test]
    fn memoised_counts_equal_the_library_count() {
        // Repeated pieces hit the memo; the total must stay bpe-openai's own count.
        // Pieces on both sides of the packed and memo limits (15, 16, 24, 25 bytes, with the leading
        // space), and NUL bytes, which the packed key must not confuse with its padding.
        let words = [14, 15, 23, 24, 25].map(|n| " ".to_string() + &"q".repeat(n)).concat();
        let text = "The cat sat on the mat. The cat sat on the mat.\n\n  The  end — 東京 😀 ".repeat(20)
            + &"x".repeat(100)
            + &words
            + "\0 \0\0 a\0 a \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        for k in [Cl100k, O200k] {
            for _ in 0..2 {
                assert_eq!(token_count(&text, k), k.tokenizer().count(text.as_str()));
            }
        }
    }

    #[test]
    fn long_whitespace_runs_do_not_panic() {
        // tiktoken (Python and tiktoken-rs) fails on this input with a regex stack overflow.
        let text = " ".repeat(2_000_000) + "a";
        assert!(token_count(&text, Cl100k) > 0);
        assert!(token_count(&text, O200k) > 0);
    }
}
