#include "common/heap.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#if HOMELINE_MIMALLOC
#include <mimalloc.h>
#endif

namespace homeline {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

#if HOMELINE_MIMALLOC
// mimalloc finds a block's segment by masking its address: an arena must start on a segment
// boundary (32 MiB in mimalloc 2) and hold whole segments.
constexpr std::size_t kSegment = 32 * kMiB;

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels refuse it and the loop below runs
#endif

// AnonHugePages of the range, from /proc/self/smaps (the VMA that holds `p`).
std::size_t HugeBytesOf(const void* p) {
  std::FILE* f = std::fopen("/proc/self/smaps", "r");
  if (f == nullptr) return 0;
  char line[256];
  bool in = false;
  std::size_t kb = 0;
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's first line
      in = addr >= lo && addr < hi;
    } else if (in && std::strncmp(line, "AnonHugePages:", 14) == 0) {
      kb = std::strtoul(line + 14, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return kb * 1024;
}
#endif

}  // namespace

HeapReserve ReserveHeap(std::size_t bytes) {
  HeapReserve r;
  if (bytes == 0) {
    r.note = "none asked";
    return r;
  }
#if !HOMELINE_MIMALLOC
  r.note = "not in this build (no mimalloc)";
  return r;
#else
  const std::size_t size = (bytes + kSegment - 1) / kSegment * kSegment;
  void* raw = mmap(nullptr, size + kSegment, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    r.note = std::string("mmap: ") + std::strerror(errno);
    return r;
  }
  // Keep the aligned part; give the rest back.
  auto* base = static_cast<char*>(raw);
  auto* start = reinterpret_cast<char*>(
      (reinterpret_cast<std::uintptr_t>(base) + kSegment - 1) / kSegment * kSegment);
  if (start > base) munmap(base, static_cast<std::size_t>(start - base));
  const std::size_t tail = static_cast<std::size_t>((base + size + kSegment) - (start + size));
  if (tail > 0) munmap(start + size, tail);

  r.huge_pages = madvise(start, size, MADV_HUGEPAGE) == 0;
  const auto t0 = std::chrono::steady_clock::now();
  if (madvise(start, size, MADV_POPULATE_WRITE) != 0) {
    if (errno != EINVAL) {  // out of memory, most likely: no reserve rather than the OOM killer
      r.note = std::string("faulting in: ") + std::strerror(errno);
      munmap(start, size);
      return r;
    }
    const long page = sysconf(_SC_PAGESIZE);  // a kernel before 5.14: touch every page
    for (std::size_t i = 0; i < size; i += static_cast<std::size_t>(page)) start[i] = 0;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.huge_bytes = HugeBytesOf(start);
  // Committed, zeroed, and "large": mimalloc then never decommits or resets it, so it stays
  // faulted in (and on huge pages) for the life of the process.
  if (!mi_manage_os_memory(start, size, /*is_committed=*/true, /*is_large=*/true,
                           /*is_zero=*/true, /*numa_node=*/-1)) {
    munmap(start, size);
    r = HeapReserve{};
    r.note = "mimalloc refused the reserve";
    return r;
  }
  r.bytes = size;
  return r;
#endif
}

std::string Describe(const HeapReserve& r) {
  char buf[160];
  if (r.bytes == 0) {
    std::snprintf(buf, sizeof buf, "heap reserve: none (%s)", r.note.c_str());
  } else {
    std::snprintf(buf, sizeof buf, "heap reserve: %zu MiB, on huge pages %zu MiB, faulted in %.2f s",
                  r.bytes / kMiB, r.huge_bytes / kMiB, r.seconds);
  }
  return buf;
}

}  // namespace homeline
