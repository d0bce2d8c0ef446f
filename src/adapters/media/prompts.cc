#include "adapters/media/prompts.h"

#include <fcntl.h>
#include <sndfile.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <numeric>
#include <system_error>

#include <fmt/format.h>

#include "adapters/media/g711.h"

extern char** environ;

namespace homeline::media {
namespace fs = std::filesystem;

std::shared_ptr<const Prompt> MakePrompt(std::vector<std::int16_t> pcm) {
  auto p = std::make_shared<Prompt>();
  p->ulaw.resize(pcm.size());
  p->alaw.resize(pcm.size());
  g711::Encode(pcm.data(), pcm.size(), false, p->ulaw.data());
  g711::Encode(pcm.data(), pcm.size(), true, p->alaw.data());
  p->pcm = std::move(pcm);
  return p;
}

std::vector<float> Resample(const std::vector<float>& in, int from_rate, int to_rate) {
  if (from_rate == to_rate || in.empty()) return in;
  // Output sample i sits at input position i * from / to; with g = gcd(from, to) its fractional
  // part takes only to / g values, so the filter taps are computed once per phase.
  const long g = std::gcd(static_cast<long>(from_rate), static_cast<long>(to_rate));
  const long up = to_rate / g, down = from_rate / g;  // output i: input position i*down/up
  const double step = static_cast<double>(from_rate) / to_rate;
  // Cut-off just below the lower Nyquist frequency, in cycles per input sample.
  const double cutoff = 0.5 * std::min(1.0, 1.0 / step) * 0.92;
  const int half = static_cast<int>(std::ceil(12.0 / (2.0 * cutoff)));  // 12 zero crossings
  const int taps = 2 * half;
  const bool tabled = up <= 4096;
  auto kernel = [&](double frac, double* h) {  // taps for k = center-half+1 .. center+half
    double norm = 0;
    for (int j = 0; j < taps; ++j) {
      double x = frac + static_cast<double>(half - 1 - j);  // t - k
      double w = 0.5 + 0.5 * std::cos(std::numbers::pi * x / (half + 1));  // Hann window
      double arg = 2.0 * cutoff * x;
      double sn = arg == 0 ? 1.0 : std::sin(std::numbers::pi * arg) / (std::numbers::pi * arg);
      h[j] = sn * w;
      norm += h[j];
    }
    for (int j = 0; j < taps; ++j) h[j] /= norm;  // unity gain at DC
  };
  std::vector<double> table;
  if (tabled) {
    table.resize(static_cast<std::size_t>(up * taps));
    for (long ph = 0; ph < up; ++ph) {
      kernel(static_cast<double>(ph) / static_cast<double>(up), &table[static_cast<std::size_t>(ph * taps)]);
    }
  }
  const std::size_t n_out =
      static_cast<std::size_t>(std::floor(static_cast<double>(in.size()) / step));
  std::vector<float> out(n_out);
  std::vector<double> scratch(static_cast<std::size_t>(taps));
  const long n_in = static_cast<long>(in.size());
  for (std::size_t i = 0; i < n_out; ++i) {
    long center;
    const double* h;
    if (tabled) {
      long pos = static_cast<long>(i) * down;
      center = pos / up;
      h = &table[static_cast<std::size_t>((pos % up) * taps)];
    } else {
      double t = static_cast<double>(i) * step;
      center = static_cast<long>(std::floor(t));
      kernel(t - static_cast<double>(center), scratch.data());
      h = scratch.data();
    }
    double acc = 0;
    const long first = center - half + 1;
    for (int j = 0; j < taps; ++j) {
      long k = first + j;
      if (k >= 0 && k < n_in) acc += h[j] * in[static_cast<std::size_t>(k)];
    }
    out[i] = static_cast<float>(acc);
  }
  return out;
}

Result<std::shared_ptr<const Prompt>> LoadPromptFile(const std::string& path) {
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) return Fail(ErrorCode::kNotFound, fmt::format("prompt {}: {}", path, sf_strerror(nullptr)));
  if (info.channels < 1 || info.samplerate < 1000 || info.frames > 8000LL * 3600) {
    sf_close(f);
    return Fail(ErrorCode::kBadRequest, fmt::format("prompt {}: unsupported audio", path));
  }
  std::vector<float> frames(static_cast<std::size_t>(info.frames) * info.channels);
  sf_count_t got = sf_readf_float(f, frames.data(), info.frames);
  sf_close(f);
  std::vector<float> mono(static_cast<std::size_t>(std::max<sf_count_t>(got, 0)));
  for (std::size_t i = 0; i < mono.size(); ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += frames[i * info.channels + c];
    mono[i] = sum / static_cast<float>(info.channels);
  }
  std::vector<float> at8k = Resample(mono, info.samplerate, kSampleRate);
  std::vector<std::int16_t> pcm(at8k.size());
  for (std::size_t i = 0; i < at8k.size(); ++i) {
    pcm[i] = static_cast<std::int16_t>(std::lround(std::clamp(at8k[i], -1.0f, 1.0f) * 32767.0f));
  }
  return MakePrompt(std::move(pcm));
}

Status WriteWav(const std::string& path, const std::vector<std::int16_t>& pcm) {
  SF_INFO info{};
  info.samplerate = kSampleRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) return Fail(ErrorCode::kUnavailable, fmt::format("{}: {}", path, sf_strerror(nullptr)));
  sf_count_t n = sf_write_short(f, pcm.data(), static_cast<sf_count_t>(pcm.size()));
  sf_close(f);
  if (n != static_cast<sf_count_t>(pcm.size())) {
    return Fail(ErrorCode::kUnavailable, fmt::format("{}: short write", path));
  }
  return {};
}

const std::vector<DefaultPrompt>& DefaultPrompts() {
  static const std::vector<DefaultPrompt> prompts = [] {
    std::vector<DefaultPrompt> p = {
        {"greeting", "Thank you for calling. All of our agents are helping other customers. "
                     "Please stay on the line, and your call will be answered in turn."},
        {"you_are_number", "You are number"},
        {"in_line", "in line."},
        {"hundred", "hundred"},
        {"goodbye", "Thank you for calling. Goodbye."},
        {"invalid", "Sorry, that is not a valid choice."},
        {"moh", ""},
    };
    static const char* kWords[] = {"zero",    "one",     "two",       "three",    "four",
                                   "five",    "six",     "seven",     "eight",    "nine",
                                   "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                   "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    for (int i = 0; i < 20; ++i) p.push_back({std::to_string(i), kWords[i]});
    static const char* kTens[] = {"twenty", "thirty", "forty", "fifty",
                                  "sixty",  "seventy", "eighty", "ninety"};
    for (int i = 0; i < 8; ++i) p.push_back({std::to_string((i + 2) * 10), kTens[i]});
    return p;
  }();
  return prompts;
}

std::vector<std::int16_t> SynthesizeMusicOnHold() {
  // I - vi - IV - V in C major, 4 s per chord, each a soft triad over a bass note with a slow
  // attack and release, so chord changes do not click and the loop point (silence) is clean.
  static const double kChords[4][4] = {
      {130.81, 261.63, 329.63, 392.00},  // C
      {110.00, 220.00, 261.63, 329.63},  // Am
      {87.31, 174.61, 220.00, 261.63},   // F
      {98.00, 196.00, 246.94, 293.66},   // G
  };
  const int per_chord = 4 * kSampleRate;
  std::vector<std::int16_t> out(static_cast<std::size_t>(4 * per_chord));
  for (int c = 0; c < 4; ++c) {
    for (int i = 0; i < per_chord; ++i) {
      double t = static_cast<double>(i) / kSampleRate;
      double env = std::min({1.0, t / 0.4, (4.0 - t) / 0.6});
      double v = 0;
      for (int k = 0; k < 4; ++k) {
        double f = kChords[c][k];
        double amp = k == 0 ? 0.35 : 0.22;
        // A little second harmonic makes it less of a test tone.
        v += amp * (std::sin(2 * std::numbers::pi * f * t) +
                    0.25 * std::sin(4 * std::numbers::pi * f * t));
      }
      out[static_cast<std::size_t>(c * per_chord + i)] =
          static_cast<std::int16_t>(std::lround(v * env * 0.18 * 32767.0));
    }
  }
  return out;
}

namespace {

// Starts espeak-ng writing `text` to `wav_path` (its own rate, 22.05 kHz); returns its pid.
Result<pid_t> StartSpeaking(const std::string& text, const std::string& wav_path) {
  std::vector<std::string> args = {"espeak-ng", "-v", "en-us", "-s", "150", "-w", wav_path, text};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "espeak-ng", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Fail(ErrorCode::kUnavailable,
                "espeak-ng is needed to generate the default prompts (apt-get install espeak-ng)");
  }
  return pid;
}

bool Succeeded(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Converts espeak-ng's output to the cached 8 kHz file (what the engine loads, quickly), via a
// temporary name: a crash mid-generation leaves a .tmp, never a truncated prompt.
Status Finish(const std::string& raw, const std::string& path) {
  auto prompt = LoadPromptFile(raw);
  std::error_code ec;
  fs::remove(raw, ec);
  if (!prompt) return std::unexpected(prompt.error());
  if (Status s = WriteWav(path + ".tmp", (*prompt)->pcm); !s) return s;
  fs::rename(path + ".tmp", path, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, fmt::format("{}: {}", path, ec.message()));
  return {};
}

}  // namespace

Status SpeakPrompt(const std::string& text, const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string raw = path + ".espeak.tmp";
  auto pid = StartSpeaking(text, raw);
  if (!pid) return std::unexpected(pid.error());
  if (!Succeeded(*pid)) {
    fs::remove(raw, ec);
    return Fail(ErrorCode::kUnavailable, fmt::format("espeak-ng failed for \"{}\"", text));
  }
  return Finish(raw, path);
}

Status EnsureDefaultPrompts(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kUnavailable, fmt::format("{}: {}", dir, ec.message()));
  struct Pending {
    pid_t pid;
    std::string raw, path, text;
  };
  std::vector<Pending> pending;
  Status result;
  // espeak-ng runs as up to 8 processes at once: a first start generates ~35 prompts.
  auto reap = [&](std::size_t keep) {
    while (pending.size() > keep) {
      Pending p = std::move(pending.front());
      pending.erase(pending.begin());
      Status s = Succeeded(p.pid) ? Finish(p.raw, p.path)
                                  : Fail(ErrorCode::kUnavailable,
                                         fmt::format("espeak-ng failed for \"{}\"", p.text));
      if (!s && result) result = s;
      if (!s) fs::remove(p.raw, ec);
    }
  };
  for (const DefaultPrompt& p : DefaultPrompts()) {
    std::string path = (fs::path(dir) / (p.name + ".wav")).string();
    if (fs::exists(path, ec)) continue;
    if (p.text.empty()) {
      Status s = WriteWav(path + ".tmp", SynthesizeMusicOnHold());
      if (s) fs::rename(path + ".tmp", path, ec);
      if (!s && result) result = s;
      continue;
    }
    std::string raw = path + ".espeak.tmp";
    auto pid = StartSpeaking(p.text, raw);
    if (!pid) {
      reap(0);
      return std::unexpected(pid.error());
    }
    pending.push_back({*pid, raw, path, p.text});
    reap(7);
  }
  reap(0);
  return result;
}

std::vector<std::string> PositionPromptNames(int position) {
  std::vector<std::string> names;
  if (position < 1) return names;
  position = std::min(position, 999);
  names.push_back("you_are_number");
  if (position >= 100) {
    names.push_back(std::to_string(position / 100));
    names.push_back("hundred");
    position %= 100;
  }
  if (position >= 20) {
    names.push_back(std::to_string(position / 10 * 10));
    position %= 10;
    if (position != 0) names.push_back(std::to_string(position));
  } else if (position != 0 || names.size() == 1) {
    names.push_back(std::to_string(position));
  }
  names.push_back("in_line");
  return names;
}

}  // namespace homeline::media
