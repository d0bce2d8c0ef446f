#pragma once
// The process heap's setup at start, shared by `homeline serve` and the benches, so a bench
// measures the heap the server runs with (docs/decisions.md 53).
//
// A reserve is memory taken from the system once, at start: backed by transparent huge pages
// (madvise mode is enough: it asks for them), faulted in there and then, and handed to mimalloc,
// which takes its segments from it before asking the system for more. Two costs leave the hot
// path: a first touch of fresh memory (a page fault, about 2 us per 4 kB page in this VM; a
// growing engine meets one every few hundred bytes it allocates) and most TLB misses over the
// engine's tens of megabytes (a 2 MB page covers 512 small ones). The price is the reserve's
// RSS from the start and the time to fault it in (0.1-7 ms per 2 MB, depending on how much the
// kernel must compact to find huge pages).

#include <cstddef>
#include <string>

namespace homeline {

struct HeapReserve {
  std::size_t bytes = 0;        // reserved (0: none)
  bool huge_pages = false;      // the kernel took the MADV_HUGEPAGE request
  std::size_t huge_bytes = 0;   // of it backed by huge pages after faulting in (AnonHugePages)
  double seconds = 0;           // spent faulting it in
  std::string note;             // why nothing was reserved, if so
};

// Reserves about `bytes` (rounded up to 32 MiB, mimalloc's segment) for the heap. Does nothing
// (and says so in `note`) with bytes 0, in builds without mimalloc (Debug, sanitizers: they
// bring their own malloc), or when the system refuses the memory. Call it first thing in
// main(), once.
HeapReserve ReserveHeap(std::size_t bytes);

// One line for a log: "heap reserve: 1024 MiB, huge pages 1024 MiB, faulted in 0.31 s".
std::string Describe(const HeapReserve& r);

}  // namespace homeline
