#pragma once
// Prompts: audio the engine plays, held as 8 kHz mono samples and pre-encoded in both G.711
// laws (a prompt is encoded once, not per call). Loading reads WAV files with libsndfile,
// mixes to mono and resamples (windowed sinc). The default library is generated with
// espeak-ng (speech) and synthesized here (music on hold) and cached as WAV files, so an
// operator replaces a prompt by replacing its file.
//
// Functions here do disk I/O and may spawn espeak-ng: call them off the media threads.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace homeline::media {

constexpr int kSampleRate = 8000;

struct Prompt {
  std::vector<std::int16_t> pcm;  // 8 kHz mono
  std::vector<std::uint8_t> ulaw;
  std::vector<std::uint8_t> alaw;
};

// Builds a prompt from 8 kHz mono samples.
std::shared_ptr<const Prompt> MakePrompt(std::vector<std::int16_t> pcm);

// Reads a WAV (or any libsndfile format), any rate and channel count.
Result<std::shared_ptr<const Prompt>> LoadPromptFile(const std::string& path);

// Resamples mono float audio from `from_rate` to `to_rate` (windowed sinc, low-pass below the
// lower Nyquist frequency).
std::vector<float> Resample(const std::vector<float>& in, int from_rate, int to_rate);

// Writes 8 kHz mono 16-bit WAV.
Status WriteWav(const std::string& path, const std::vector<std::int16_t>& pcm);

// Default prompt names and the text each is spoken from ("moh" is music, no text).
struct DefaultPrompt {
  std::string name;
  std::string text;
};
const std::vector<DefaultPrompt>& DefaultPrompts();

// The music on hold: a soft chord sequence, about 16 s, loops without a click.
std::vector<std::int16_t> SynthesizeMusicOnHold();

// Creates `dir` and writes every default prompt missing from it: speech through espeak-ng
// (an error names the missing program), "moh" synthesized. Existing files are kept.
Status EnsureDefaultPrompts(const std::string& dir);

// Speaks `text` with espeak-ng into `path` (8 kHz mono WAV, written through a temporary name
// so a reader never sees half a file). Blocks for the time espeak-ng takes (~0.1-0.5 s).
Status SpeakPrompt(const std::string& text, const std::string& path);

// "you_are_number", the number's words ("20", "3"; "1", "hundred", "5"), "in_line".
std::vector<std::string> PositionPromptNames(int position);

}  // namespace homeline::media
