//! The binary payloads the scenarios ask for: a tiny PNG and a tiny WAV.

use std::sync::LazyLock;

use base64::{Engine, prelude::BASE64_STANDARD};

/// MIME type of [`png_base64`].
pub const PNG_MIME: &str = "image/png";
/// MIME type of [`wav_base64`].
pub const WAV_MIME: &str = "audio/wav";

/// A 1x1 red pixel, 8-bit RGB, as a complete PNG file in standard base64.
const RED_PIXEL_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC";

/// Sample rate of the WAV fixture, in Hz.
const WAV_SAMPLE_RATE: u32 = 8_000;
/// Number of samples in the WAV fixture: 10 ms of audio.
const WAV_SAMPLES: u32 = 80;
/// Unsigned 8-bit PCM silence.
const SILENCE: u8 = 0x80;

static WAV_BASE64: LazyLock<String> = LazyLock::new(|| BASE64_STANDARD.encode(silent_wav()));

/// The PNG fixture (one red pixel), base64-encoded.
pub fn png_base64() -> &'static str {
    RED_PIXEL_PNG
}

/// The WAV fixture (10 ms of silence), base64-encoded.
pub fn wav_base64() -> &'static str {
    &WAV_BASE64
}

/// A RIFF/WAVE file: mono, 8 kHz, unsigned 8-bit PCM, [`WAV_SAMPLES`] samples of silence.
fn silent_wav() -> Vec<u8> {
    const CHANNELS: u16 = 1;
    const BITS_PER_SAMPLE: u16 = 8;
    const PCM: u16 = 1;
    const FMT_CHUNK_LEN: u32 = 16;
    let block_align = CHANNELS * BITS_PER_SAMPLE / 8;
    let byte_rate = WAV_SAMPLE_RATE * u32::from(block_align);
    let data_len = WAV_SAMPLES * u32::from(block_align);
    // "WAVE" + fmt chunk (header + body) + data chunk header + samples.
    let riff_len = 4 + (8 + FMT_CHUNK_LEN) + 8 + data_len;

    let mut wav = Vec::with_capacity(8 + riff_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&riff_len.to_le_bytes());
    wav.extend_from_slice(b"WAVE");
    wav.extend_from_slice(b"fmt ");
    wav.extend_from_slice(&FMT_CHUNK_LEN.to_le_bytes());
    wav.extend_from_slice(&PCM.to_le_bytes());
    wav.extend_from_slice(&CHANNELS.to_le_bytes());
    wav.extend_from_slice(&WAV_SAMPLE_RATE.to_le_bytes());
    wav.extend_from_slice(&byte_rate.to_le_bytes());
    wav.extend_from_slice(&block_align.to_le_bytes());
    wav.extend_from_slice(&BITS_PER_SAMPLE.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(wav.len() + data_len as usize, SILENCE);
    wav
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_be(bytes: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    fn u32_le(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    }

    fn u16_le(bytes: &[u8], at: usize) -> u16 {
        u16::from_le_bytes(bytes[at..at + 2].try_into().expect("2 bytes"))
    }

    /// CRC-32 (IEEE), as PNG chunks use it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = u32::MAX;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn png_is_a_valid_one_pixel_image() {
        let png = BASE64_STANDARD.decode(png_base64()).expect("base64");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let mut kinds = Vec::new();
        while at < png.len() {
            let len = u32_be(&png, at) as usize;
            let kind = &png[at + 4..at + 8];
            let body = &png[at + 8..at + 8 + len];
            let crc = u32_be(&png, at + 8 + len);
            assert_eq!(crc, crc32(&png[at + 4..at + 8 + len]), "CRC of {kind:?}");
            if kind == b"IHDR" {
                assert_eq!((u32_be(body, 0), u32_be(body, 4)), (1, 1), "1x1");
            }
            kinds.push(String::from_utf8_lossy(kind).into_owned());
            at += 12 + len;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
    }

    #[test]
    fn wav_header_describes_its_samples() {
        let wav = BASE64_STANDARD.decode(wav_base64()).expect("base64");
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(u32_le(&wav, 4) as usize, wav.len() - 8);
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(u16_le(&wav, 20), 1, "PCM");
        assert_eq!(u16_le(&wav, 22), 1, "mono");
        assert_eq!(u32_le(&wav, 24), WAV_SAMPLE_RATE);
        assert_eq!(&wav[36..40], b"data");
        assert_eq!(u32_le(&wav, 40) as usize, wav.len() - 44);
        assert_eq!(wav.len() - 44, WAV_SAMPLES as usize);
    }
}
