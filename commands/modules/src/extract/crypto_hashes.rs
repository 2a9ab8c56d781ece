//! `crypto_hashes`: hashes, Bitcoin addresses and base64-encoded text in web pages.
//!
//! False positives are kept low by validation:
//! - hashes are whole hex runs of 32/40/64/128 digits (MD5/SHA1/SHA256/SHA512) with no letter,
//!   digit or `_` right before or after, in one letter case, mixing digits and letters, with at
//!   least eight distinct digits;
//! - Bitcoin addresses are base58 P2PKH/P2SH addresses whose Base58Check checksum verifies, or
//!   bech32/bech32m `bc1` addresses whose checksum and witness program length verify;
//! - base64 is a run of at least 40 base64 characters (at most 16 KiB) that decodes to UTF-8
//!   text of which at least 95% is printable. Its value is `<base64> (<decoded text>)`, the
//!   text cut to 200 characters.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use domain::scan::{Scope, types};
use regex::bytes::Regex;
use sha2::{Digest, Sha256};

use super::findings::Findings;
use super::page::Page;
use super::text;
use crate::meta::ModuleMeta;
use crate::module::{Input, Module, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

static META: ModuleMeta = ModuleMeta {
    id: "crypto_hashes",
    name: "Hashes, Bitcoin addresses and base64 data",
    description: "Finds MD5/SHA hashes, checksum-verified Bitcoin addresses and base64 runs that \
                  decode to text in web pages.",
    version: "1.0.0",
    consumes: &[types::TARGET_WEB_CONTENT],
    produces: &[types::HASH, types::BITCOIN_ADDRESS, types::BASE64_DATA],
    passive: true,
    options: &[],
    rate_per_second: 0,
    per_host_per_second: 0,
    required_keys: &[],
    budget_option: None,
};

const BASE58_ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_CONST: u32 = 1;
const BECH32M_CONST: u32 = 0x2bc8_30a3;

const BASE64_MIN: usize = 40;
const BASE64_MAX: usize = 16 * 1024;
const PREVIEW_CHARS: usize = 200;

static BASE58_ADDRESS: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?-u)\b[13][1-9A-HJ-NP-Za-km-z]{25,34}\b"));

static BECH32_ADDRESS: LazyLock<Option<Regex>> =
    LazyLock::new(|| super::compile(r"(?i-u)\bbc1[02-9ac-hj-np-z]{11,71}\b"));

pub struct CryptoHashes;

pub fn entry() -> Entry {
    Entry {
        meta: &META,
        create: || Arc::new(CryptoHashes),
    }
}

#[async_trait]
impl Module for CryptoHashes {
    fn meta(&self) -> &'static ModuleMeta {
        &META
    }

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError> {
        super::run(&META, input, context, extract).await
    }
}

/// The hashes, addresses and base64 text in the page in `value`.
pub fn extract(_kind: &str, value: &str, _scope: &Scope) -> Vec<Output> {
    let page = Page::parse(value);
    let body = page.body;
    let evidence = |start, end| {
        format!(
            "{}: {}",
            page.url_text(),
            text::snippet(body, start, end, 20)
        )
    };
    let mut findings = Findings::new();
    for (algorithm, start, end) in hashes(body.as_bytes()) {
        if findings.is_full() {
            break;
        }
        findings.push(
            Output::new(types::HASH, format!("{algorithm}: {}", &body[start..end]))
                .evidence(evidence(start, end)),
        );
    }
    for (regex, valid) in [
        (&BASE58_ADDRESS, base58_address_ok as fn(&[u8]) -> bool),
        (&BECH32_ADDRESS, bech32_address_ok),
    ] {
        let Some(regex) = regex.as_ref() else {
            continue;
        };
        for found in regex.find_iter(body.as_bytes()) {
            if findings.is_full() {
                break;
            }
            if valid(found.as_bytes()) {
                findings.push(
                    Output::new(types::BITCOIN_ADDRESS, &body[found.start()..found.end()])
                        .evidence(evidence(found.start(), found.end())),
                );
            }
        }
    }
    for (start, end, decoded) in base64_texts(body.as_bytes()) {
        if findings.is_full() {
            break;
        }
        let preview: String = decoded
            .chars()
            .take(PREVIEW_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        findings.push(
            Output::new(
                types::BASE64_DATA,
                format!("{} ({})", &body[start..end], preview.trim()),
            )
            .evidence(evidence(start, start)),
        );
    }
    findings.into_outputs()
}

/// The maximal runs of `bytes` whose bytes all satisfy `member`, as (start, end).
fn runs(bytes: &[u8], member: fn(u8) -> bool) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut position = 0;
    std::iter::from_fn(move || {
        while position < bytes.len() && !member(bytes[position]) {
            position += 1;
        }
        if position >= bytes.len() {
            return None;
        }
        let start = position;
        while position < bytes.len() && member(bytes[position]) {
            position += 1;
        }
        Some((start, position))
    })
}

/// Hex runs that look like digests, with the algorithm their length implies.
fn hashes(bytes: &[u8]) -> impl Iterator<Item = (&'static str, usize, usize)> + '_ {
    runs(bytes, |b| b.is_ascii_hexdigit()).filter_map(move |(start, end)| {
        let algorithm = match end - start {
            32 => "MD5",
            40 => "SHA1",
            64 => "SHA256",
            128 => "SHA512",
            _ => return None,
        };
        let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
        if start
            .checked_sub(1)
            .and_then(|i| bytes.get(i))
            .is_some_and(word)
            || bytes.get(end).is_some_and(word)
        {
            return None;
        }
        let run = &bytes[start..end];
        let has_digit = run.iter().any(u8::is_ascii_digit);
        let has_lower = run.iter().any(u8::is_ascii_lowercase);
        let has_upper = run.iter().any(u8::is_ascii_uppercase);
        let mut distinct = [false; 256];
        for &b in run {
            distinct[usize::from(b.to_ascii_lowercase())] = true;
        }
        let distinct = distinct.iter().filter(|d| **d).count();
        (has_digit && (has_lower != has_upper) && distinct >= 8).then_some((algorithm, start, end))
    })
}

/// A P2PKH (`1...`) or P2SH (`3...`) address with a valid Base58Check checksum.
fn base58_address_ok(address: &[u8]) -> bool {
    let mut decoded = [0u8; 25];
    for &c in address {
        let Some(digit) = BASE58_ALPHABET.iter().position(|&a| a == c) else {
            return false;
        };
        let mut carry = digit as u32;
        for byte in decoded.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    // Each leading '1' stands for one leading zero byte, and only those.
    let leading_ones = address.iter().take_while(|&&c| c == b'1').count();
    let leading_zeros = decoded.iter().take_while(|&&b| b == 0).count();
    if leading_ones != leading_zeros {
        return false;
    }
    let version_ok = matches!(
        (address.first(), decoded[0]),
        (Some(b'1'), 0x00) | (Some(b'3'), 0x05)
    );
    let checksum = Sha256::digest(Sha256::digest(&decoded[..21]));
    version_ok && checksum[..4] == decoded[21..]
}

/// A `bc1` segwit address: one letter case, valid bech32 (version 0) or bech32m (versions
/// 1-16) checksum, and a witness program of valid length.
fn bech32_address_ok(address: &[u8]) -> bool {
    let lower = address.iter().any(u8::is_ascii_lowercase);
    let upper = address.iter().any(u8::is_ascii_uppercase);
    if (lower && upper) || !(14..=90).contains(&address.len()) {
        return false;
    }
    let Some(data) = address.get(3..).and_then(|rest| {
        rest.iter()
            .map(|c| {
                BECH32_CHARSET
                    .iter()
                    .position(|&a| a == c.to_ascii_lowercase())
                    .map(|p| p as u8)
            })
            .collect::<Option<Vec<u8>>>()
    }) else {
        return false;
    };
    if data.len() < 7 {
        return false;
    }
    let mut values = vec![3, 3, 0, 2, 3]; // "bc" expanded
    values.extend_from_slice(&data);
    let version = data[0];
    let expected = if version == 0 {
        BECH32_CONST
    } else {
        BECH32M_CONST
    };
    if version > 16 || polymod(&values) != expected {
        return false;
    }
    let program_bits = (data.len() - 7) * 5;
    let program_len = program_bits / 8;
    let padding_ok = program_bits % 8 < 5;
    let length_ok = if version == 0 {
        program_len == 20 || program_len == 32
    } else {
        (2..=40).contains(&program_len)
    };
    padding_ok && length_ok
}

fn polymod(values: &[u8]) -> u32 {
    const GENERATOR: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut checksum = 1u32;
    for &value in values {
        let top = checksum >> 25;
        checksum = ((checksum & 0x01ff_ffff) << 5) ^ u32::from(value);
        for (i, generator) in GENERATOR.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                checksum ^= generator;
            }
        }
    }
    checksum
}

/// Base64 runs that decode to text: (start, end of the run with its padding, decoded text).
fn base64_texts(bytes: &[u8]) -> impl Iterator<Item = (usize, usize, String)> + '_ {
    runs(bytes, |b| {
        b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
    })
    .filter_map(move |(start, end)| {
        let length = end - start;
        if !(BASE64_MIN..=BASE64_MAX).contains(&length) || length % 4 == 1 {
            return None;
        }
        let decoded = data_encoding::BASE64_NOPAD
            .decode(&bytes[start..end])
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let total = decoded.chars().count();
        let printable = decoded
            .chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
            .count();
        if printable * 100 < total * 95 {
            return None;
        }
        let padding = bytes[end..]
            .iter()
            .take(2)
            .take_while(|&&b| b == b'=')
            .count();
        Some((start, end + padding, decoded))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn run(body: &str) -> Vec<Output> {
        extract(
            types::TARGET_WEB_CONTENT,
            &format!("https://example.com/\n{body}"),
            &scope(),
        )
    }

    #[test]
    fn digests_are_named_by_length() {
        let body = "md5 d41d8cd98f00b204e9800998ecf8427e sha1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709\n\
                    <code>e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855</code>";
        assert_eq!(
            values(&run(body), types::HASH),
            [
                "MD5: d41d8cd98f00b204e9800998ecf8427e",
                "SHA1: DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
                "SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ]
        );
    }

    #[test]
    fn hash_look_alikes_are_refused() {
        let body = format!(
            "{} {} {} x{}y {} {}_ 0123456789012345678901234567890123 {}",
            "0".repeat(32),
            "12345678901234567890123456789012",
            "d41d8cd98f00B204e9800998ecf8427e",
            "d41d8cd98f00b204e9800998ecf8427e",
            "abababab12121212abababab12121212",
            "d41d8cd98f00b204e9800998ecf8427e",
            "d41d8cd98f00b204e9800998ecf8427ea",
        );
        assert!(values(&run(&body), types::HASH).is_empty());
    }

    #[test]
    fn bitcoin_addresses_are_checksum_verified() {
        let body = "Donate: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa or 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy, \
                    segwit bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq, taproot \
                    bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0. \
                    Fakes: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz \
                    bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp BC1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq \
                    1111111111111111111111111111 3333333333333333333333333333";
        assert_eq!(
            values(&run(body), types::BITCOIN_ADDRESS),
            [
                "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
                "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
            ]
        );
    }

    #[test]
    fn base64_text_is_decoded_and_binary_is_not() {
        let secret =
            data_encoding::BASE64.encode(b"{\"user\":\"admin\",\"password\":\"hunter2-hunter2\"}");
        let binary =
            data_encoding::BASE64.encode(&[0u8, 1, 2, 3, 255, 254, 200, 150, 7, 9].repeat(5));
        let body = format!(
            "<div data-config=\"{secret}\"></div> <img src=\"data:image/png;base64,{binary}\"> \
             /assets/javascripts/application/components/very/long/path/name.js \
             ThisIsAVeryLongIdentifierNameThatGoesOnAndOnForever"
        );
        let outputs = run(&body);
        assert_eq!(
            values(&outputs, types::BASE64_DATA),
            [format!(
                "{secret} ({{\"user\":\"admin\",\"password\":\"hunter2-hunter2\"}})"
            )]
        );
    }

    #[test]
    fn patterns_compile() {
        assert!(BASE58_ADDRESS.is_some() && BECH32_ADDRESS.is_some());
    }
}
