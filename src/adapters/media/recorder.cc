#include "adapters/media/recorder.h"

#include <sndfile.h>

#include <filesystem>
#include <system_error>

#include "adapters/media/prompts.h"

namespace homeline::media {

struct RecordingWriter::File {
  std::string path;
  SNDFILE* sf = nullptr;
  bool failed = false;
  std::string detail;
};

RecordingWriter::RecordingWriter(DoneFn on_done)
    : on_done_(std::move(on_done)), thread_([this] { Run(); }) {}

RecordingWriter::~RecordingWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  for (auto& [id, f] : files_) {  // never closed by the media side: finish them anyway
    if (f->sf) sf_close(f->sf);
  }
}

void RecordingWriter::Open(std::uint64_t id, std::string path) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{Job::Kind::kOpen, id, std::move(path), {}});
  }
  cv_.notify_one();
}

void RecordingWriter::Append(std::uint64_t id, std::vector<std::int16_t> interleaved) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{Job::Kind::kAppend, id, {}, std::move(interleaved)});
  }
  cv_.notify_one();
}

void RecordingWriter::Close(std::uint64_t id) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(Job{Job::Kind::kClose, id, {}, {}});
  }
  cv_.notify_one();
}

void RecordingWriter::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stop_ and drained
    std::deque<Job> batch;
    batch.swap(jobs_);
    lock.unlock();
    for (Job& job : batch) Apply(job);
    lock.lock();
  }
}

void RecordingWriter::Apply(Job& job) {
  switch (job.kind) {
    case Job::Kind::kOpen: {
      auto owned = std::make_unique<File>(File{job.path, nullptr, false, {}});
      File* f = owned.get();
      std::error_code ec;
      std::filesystem::path parent = std::filesystem::path(job.path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      SF_INFO info{};
      info.samplerate = kSampleRate;
      info.channels = 2;
      info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
      f->sf = sf_open(job.path.c_str(), SFM_WRITE, &info);
      if (!f->sf) {
        f->failed = true;
        f->detail = sf_strerror(nullptr);
        if (on_done_) on_done_(job.id, f->path, false, f->detail);
      }
      auto [it, inserted] = files_.emplace(job.id, nullptr);
      if (!inserted && it->second->sf) {  // an id reused before its close: finish the old file
        sf_close(it->second->sf);
      }
      it->second = std::move(owned);
      break;
    }
    case Job::Kind::kAppend: {
      auto it = files_.find(job.id);
      if (it == files_.end() || it->second->failed) break;
      File* f = it->second.get();
      sf_count_t frames = static_cast<sf_count_t>(job.samples.size() / 2);
      if (sf_writef_short(f->sf, job.samples.data(), frames) != frames) {
        f->failed = true;
        f->detail = sf_strerror(f->sf);
        if (on_done_) on_done_(job.id, f->path, false, f->detail);
      }
      break;
    }
    case Job::Kind::kClose: {
      auto it = files_.find(job.id);
      if (it == files_.end()) break;
      std::unique_ptr<File> f = std::move(it->second);
      files_.erase(it);
      bool ok = !f->failed;
      if (f->sf && sf_close(f->sf) != 0 && ok) {
        ok = false;
        f->detail = "close failed";
        if (on_done_) on_done_(job.id, f->path, false, f->detail);
      }
      if (ok && on_done_) on_done_(job.id, f->path, true, {});
      break;
    }
  }
}

}  // namespace homeline::media
