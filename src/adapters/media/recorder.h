#pragma once
// The recording writer: one thread that owns every open recording file (libsndfile), so a
// media thread never waits for the disk. Media threads hand it interleaved stereo samples in
// chunks; Open, Append and Close for one id are applied in the order they were called.
//
// Thread-safe. A file that cannot be opened or written is reported once through `on_done`
// (ok = false) and the rest of its chunks are dropped.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace homeline::media {

class RecordingWriter {
 public:
  // on_done(id, path, ok, detail) runs on the writer thread after Close (or on failure).
  using DoneFn = std::function<void(std::uint64_t id, const std::string& path, bool ok,
                                    const std::string& detail)>;
  explicit RecordingWriter(DoneFn on_done);
  ~RecordingWriter();  // writes and closes what is queued, then stops

  void Open(std::uint64_t id, std::string path);  // 8 kHz, 2 channels, 16-bit PCM WAV
  void Append(std::uint64_t id, std::vector<std::int16_t> interleaved);
  void Close(std::uint64_t id);

 private:
  struct Job {
    enum class Kind { kOpen, kAppend, kClose } kind;
    std::uint64_t id;
    std::string path;
    std::vector<std::int16_t> samples;
  };
  struct File;
  void Run();
  void Apply(Job& job);

  DoneFn on_done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::unordered_map<std::uint64_t, std::unique_ptr<File>> files_;  // writer thread only
  std::thread thread_;
};

}  // namespace homeline::media
